"""Queries of the events feed: the sequencer's, the feed's and the cursors'."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

import msgspec
from sqlalchemy import Select, bindparam, case, func, null, select, text, union, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from app.accounts.actor import OrgKind
from app.accounts.models import Organisation
from app.db import table_of
from app.events.models import FeedCursor, OutboxEvent
from app.reservations.models import Booking

outbox = table_of(OutboxEvent)
cursors = table_of(FeedCursor)
_bookings = table_of(Booking)
_organisations = table_of(Organisation)

AnyRow = Row[Any]


async def lock_cursor(conn: AsyncConnection, name: str) -> int | None:
    """The cursor's position, locked until the transaction ends; None while another
    transaction holds it (PostgreSQL: ``FOR UPDATE SKIP LOCKED``; SQLite's writers take turns)."""
    query = select(cursors.c.position).where(cursors.c.name == name)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    position: int | None = (await conn.execute(query)).scalar_one_or_none()
    return position


async def move_cursor(conn: AsyncConnection, name: str, position: int) -> None:
    await conn.execute(update(cursors).where(cursors.c.name == name).values(position=position))


async def read_cursor(conn: AsyncConnection, name: str) -> int:
    return int((await conn.execute(select(cursors.c.position).where(cursors.c.name == name))).scalar_one())


async def any_unsequenced(conn: AsyncConnection) -> bool:
    found = await conn.execute(select(outbox.c.id).where(outbox.c.position.is_(None)).limit(1))
    return found.first() is not None


class Unsequenced(msgspec.Struct, frozen=True):
    """A committed event without a place in the feed yet, with what names its audience."""

    id: int
    type: str
    organisation_id: uuid.UUID | None
    placed_by: str | None
    booking_reference: str | None


async def unsequenced(conn: AsyncConnection, booking_keys: dict[str, str], limit: int) -> list[Unsequenced]:
    """Committed events not yet sequenced, oldest id first; ``booking_keys`` maps a type to
    the payload field that names its booking."""
    payload = outbox.c.payload
    whens = [(outbox.c.type == name, payload[key].as_string()) for name, key in booking_keys.items()]
    reference: Any = case(*whens, else_=null()) if whens else null()
    query = (
        select(
            outbox.c.id,
            outbox.c.type,
            outbox.c.organisation_id,
            payload["placed_by"].as_string(),
            reference,
        )
        .where(outbox.c.position.is_(None))
        .order_by(outbox.c.id)
        .limit(limit)
    )
    return [Unsequenced(*row) for row in await conn.execute(query)]


async def bookings_by_reference(
    conn: AsyncConnection, references: Iterable[str]
) -> dict[str, tuple[uuid.UUID, uuid.UUID | None]]:
    """Owner and placing marketplace of each booking named."""
    wanted = sorted(set(references))
    if not wanted:
        return {}
    query = select(_bookings.c.reference, _bookings.c.organisation_id, _bookings.c.placed_by_id).where(
        _bookings.c.reference.in_(wanted)
    )
    return {row.reference: (row.organisation_id, row.placed_by_id) for row in await conn.execute(query)}


async def marketplaces_among(conn: AsyncConnection, candidates: set[uuid.UUID]) -> set[uuid.UUID]:
    """Those of ``candidates`` that are marketplace organisations."""
    if not candidates:
        return set()
    query = select(_organisations.c.id).where(
        _organisations.c.id.in_(sorted(candidates)), _organisations.c.kind == OrgKind.MARKETPLACE.value
    )
    return set((await conn.execute(query)).scalars())


_place = (
    update(outbox)
    .where(outbox.c.id == bindparam("event_row"))
    .values(
        position=bindparam("event_position"),
        marketplace_id=bindparam("event_marketplace"),
        organisation_id=func.coalesce(
            outbox.c.organisation_id, bindparam("event_owner", type_=outbox.c.organisation_id.type)
        ),
    )
)


async def place_in_feed(conn: AsyncConnection, placed: Sequence[dict[str, Any]]) -> None:
    """Give events their feed positions and audiences: each dict has ``event_row``,
    ``event_position``, ``event_marketplace`` and ``event_owner`` (kept when the writer named one)."""
    if placed:
        await conn.execute(_place, list(placed))


EVENT_COLUMNS = (
    outbox.c.position,
    outbox.c.event_id,
    outbox.c.type,
    outbox.c.version,
    outbox.c.created_at,
    outbox.c.subject_id,
    outbox.c.payload,
)


async def feed_page(
    conn: AsyncConnection,
    audience: uuid.UUID | None,
    after: int,
    types: Sequence[str],
    limit: int,
) -> list[AnyRow]:
    """Sequenced events past ``after`` in feed order, at most ``limit``: those whose owner or
    placing marketplace is ``audience`` (every event when None)."""
    if audience is None:
        return list(await conn.execute(_sequenced(after, types).order_by(outbox.c.position).limit(limit)))
    # Each side walks its own index in position order; the union keeps the first ``limit``.
    sides = [
        _sequenced(after, types, outbox.c.position)
        .where(column == audience)
        .order_by(outbox.c.position)
        .limit(limit)
        .subquery()
        for column in (outbox.c.organisation_id, outbox.c.marketplace_id)
    ]
    positions = union(*(select(side.c.position) for side in sides)).subquery()
    query = (
        select(*EVENT_COLUMNS)
        .where(outbox.c.position.in_(select(positions.c.position)))
        .order_by(outbox.c.position)
        .limit(limit)
    )
    return list(await conn.execute(query))


def _sequenced(after: int, types: Sequence[str], *columns: Any) -> Select[Any]:
    query = select(*(columns or EVENT_COLUMNS)).where(outbox.c.position > after)
    if types:
        query = query.where(outbox.c.type.in_(list(types)))
    return query


async def entitled_event(
    conn: AsyncConnection, audience: uuid.UUID | None, event_id: uuid.UUID
) -> AnyRow | None:
    """A sequenced event ``audience`` may see (any when None)."""
    query = select(outbox.c.id, *EVENT_COLUMNS).where(
        outbox.c.event_id == event_id, outbox.c.position.is_not(None)
    )
    if audience is not None:
        query = query.where((outbox.c.organisation_id == audience) | (outbox.c.marketplace_id == audience))
    return (await conn.execute(query)).first()


async def one_snapshot(conn: AsyncConnection) -> None:
    """Make the rest of this read-only transaction see one snapshot: REPEATABLE READ on
    PostgreSQL (its first statement); SQLite's read transactions already do."""
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
