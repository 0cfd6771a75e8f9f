"""Every query over holds and bookings."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Table, bindparam, insert, literal, or_, select, true, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from app.accounts.actor import Actor
from app.db import table_of
from app.dbtypes import UtcDateTime
from app.domain.states import Load
from app.inventory import repository as inventory
from app.reservations import counters
from app.reservations.counters import Quantity
from app.reservations.models import Booking, Hold

holds = table_of(Hold)
bookings = table_of(Booking)
AnyRow = inventory.AnyRow


def visible_to(table: Table, actor: Actor) -> ColumnElement[bool]:
    """Rows the actor may see: its own, those it placed for its shippers; operators see all."""
    if actor.sees_everything:
        return true()
    return or_(
        table.c.organisation_id == actor.organisation_id,
        table.c.placed_by_id == actor.organisation_id,
    )


# --- where a hold goes ------------------------------------------------------------------------


async def fcl_target(
    conn: AsyncConnection, sailing_id: uuid.UUID, size_type: str, now: ColumnElement[datetime]
) -> AnyRow | None:
    """The sailing's state, its allotment of ``size_type`` with tariff, and database time."""
    s, a = inventory.sailings, inventory.allotments
    query = (
        select(
            s.c.status,
            s.c.cut_off,
            a.c.id.label("allotment_id"),
            a.c.rate,
            a.c.currency,
            now.label("now"),
        )
        .join(a, a.c.sailing_id == s.c.id)
        .where(s.c.id == sailing_id, a.c.size_type == size_type)
    )
    return (await conn.execute(query)).first()


async def lcl_targets(
    conn: AsyncConnection,
    sailing_id: uuid.UUID,
    size_type: str | None,
    now: ColumnElement[datetime],
) -> list[AnyRow]:
    s, p = inventory.sailings, inventory.pools
    query = (
        select(
            s.c.status,
            s.c.cut_off,
            p.c.id.label("pool_id"),
            p.c.allotment_id,
            p.c.size_type,
            p.c.container_volume_dm3,
            p.c.container_weight_g,
            p.c.rate,
            p.c.minimum,
            p.c.currency,
            now.label("now"),
        )
        .join(p, p.c.sailing_id == s.c.id)
        .where(s.c.id == sailing_id)
        .order_by(p.c.size_type)
    )
    if size_type is not None:
        query = query.where(p.c.size_type == size_type)
    return list((await conn.execute(query)).all())


async def sailing_exists(conn: AsyncConnection, sailing_id: uuid.UUID) -> bool:
    query = select(inventory.sailings.c.id).where(inventory.sailings.c.id == sailing_id)
    return (await conn.execute(query)).first() is not None


# --- holds ----------------------------------------------------------------------------------


async def insert_hold(conn: AsyncConnection, values: Mapping[str, Any]) -> None:
    await conn.execute(insert(holds).values(dict(values)))


async def insert_hold_if_claimed(
    conn: AsyncConnection, quantity: Quantity, values: Mapping[str, Any]
) -> bool:
    """Run the counter's conditional UPDATE and, if it took the space, insert the hold.

    On PostgreSQL this is one statement (``WITH claimed AS (UPDATE ... RETURNING) INSERT ...
    SELECT ... FROM claimed``): one round trip while the counter's row lock is held. SQLite,
    which has no DML in CTEs, runs the two statements; its writers are serialized anyway.
    Both statements are built once and reused with new values.
    """
    claim = counters.claim_params(quantity)
    if conn.dialect.name != "postgresql":
        if (await conn.execute(counters.claim_template(quantity.load), claim)).first() is None:
            return False
        await insert_hold(conn, values)
        return True
    statement = _claim_and_insert(quantity.load, tuple(values))
    # Prefixed names: a parameter named like a column of the claimed table would join its SET.
    params = {f"hold_{name}": value for name, value in values.items()}
    return (await conn.execute(statement, {**params, **claim})).first() is not None


@functools.cache
def _claim_and_insert(load: Load, columns: tuple[str, ...]) -> Any:
    claimed = counters.claim_template(load).cte("claimed")
    row = select(*(bindparam(f"hold_{c}", type_=holds.c[c].type).label(c) for c in columns)).select_from(
        claimed
    )
    return insert(holds).from_select(list(columns), row).returning(holds.c.id)


async def get_hold(conn: AsyncConnection, hold_id: uuid.UUID, actor: Actor) -> AnyRow | None:
    query = select(holds).where(holds.c.id == hold_id, visible_to(holds, actor))
    return (await conn.execute(query)).first()


async def end_hold(
    conn: AsyncConnection,
    hold_id: uuid.UUID,
    actor: Actor,
    *,
    to_state: str,
    now: ColumnElement[datetime],
    unexpired: bool,
) -> AnyRow | None:
    """Move an active hold to ``to_state``; None when it was not active (or had expired)."""
    statement = update(holds).where(
        holds.c.id == hold_id, holds.c.state == "active", visible_to(holds, actor)
    )
    if unexpired:
        statement = statement.where(holds.c.expires_at > now)
    statement = statement.values(state=to_state, ended_at=now).returning(*holds.c)
    return (await conn.execute(statement)).first()


# --- bookings -------------------------------------------------------------------------------


async def insert_booking(conn: AsyncConnection, values: Mapping[str, Any]) -> None:
    await conn.execute(insert(bookings).values(dict(values)))


def _booking_with_context(now: ColumnElement[datetime]) -> Any:
    s = inventory.sailings
    return (
        select(
            bookings,
            s.c.status.label("sailing_status"),
            s.c.cut_off,
            holds.c.rate.label("quoted_rate"),
            holds.c.minimum.label("quoted_minimum"),
            now.label("now"),
        )
        .join(s, s.c.id == bookings.c.sailing_id)
        .join(holds, holds.c.id == bookings.c.hold_id)
    )


async def get_booking(
    conn: AsyncConnection, reference: str, actor: Actor, now: ColumnElement[datetime]
) -> AnyRow | None:
    """The booking with its sailing's state, its hold's quote and database time."""
    query = _booking_with_context(now).where(bookings.c.reference == reference, visible_to(bookings, actor))
    return (await conn.execute(query)).first()


async def update_booking(
    conn: AsyncConnection,
    booking_id: uuid.UUID,
    version: int,
    states: frozenset[str],
    values: Mapping[str, Any],
) -> AnyRow | None:
    """Apply a change only if nobody changed the booking since ``version`` was read."""
    statement = (
        update(bookings)
        .where(
            bookings.c.id == booking_id,
            bookings.c.version == version,
            bookings.c.state.in_(states),
        )
        .values({**values, "version": bookings.c.version + 1})
        .returning(*bookings.c)
    )
    return (await conn.execute(statement)).first()


async def list_bookings(
    conn: AsyncConnection,
    actor: Actor,
    *,
    state: str | None,
    sailing_id: uuid.UUID | None,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[AnyRow]:
    query = select(bookings).where(visible_to(bookings, actor))
    if state:
        query = query.where(bookings.c.state == state)
    if sailing_id:
        query = query.where(bookings.c.sailing_id == sailing_id)
    if before is not None:
        query = query.where(
            tuple_(bookings.c.created_at, bookings.c.id)
            < tuple_(literal(before[0], UtcDateTime()), literal(before[1]))
        )
    query = query.order_by(bookings.c.created_at.desc(), bookings.c.id.desc()).limit(limit)
    return list((await conn.execute(query)).all())
