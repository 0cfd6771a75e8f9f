"""Every query over holds and bookings."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal, NamedTuple

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Select,
    Table,
    and_,
    bindparam,
    case,
    exists,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    true,
    tuple_,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from app.accounts.actor import Actor
from app.clock import bound_now
from app.db import table_of
from app.dbtypes import UtcDateTime
from app.domain.states import Load
from app.events import idempotency
from app.events.models import IdempotencyRecord, OutboxEvent
from app.inventory import repository as inventory
from app.prepared import Prepared
from app.reservations import counters
from app.reservations.counters import Quantity
from app.reservations.models import ACTIVE, Booking, Hold

holds = table_of(Hold)
bookings = table_of(Booking)
_outbox = table_of(OutboxEvent)
_records = table_of(IdempotencyRecord)
AnyRow = inventory.AnyRow


def visible_to(table: Table, actor: Actor) -> ColumnElement[bool]:
    """Rows the actor may see: its own, those it placed for its shippers; operators see all."""
    if actor.sees_everything:
        return true()
    return or_(
        table.c.organisation_id == actor.organisation_id,
        table.c.placed_by_id == actor.organisation_id,
    )


def on_counter(load: Load, counter_id: Any) -> ColumnElement[bool]:
    """Holds and bookings counted on a counter: the FCL ones of an allotment (LCL ones carry the
    allotment too, but count in their pool), or those of a pool."""
    if load is Load.FCL:
        return and_(holds.c.allotment_id == counter_id, holds.c.load == Load.FCL.value)
    in_pool: ColumnElement[bool] = holds.c.pool_id == counter_id
    return in_pool


def overdue(now: ColumnElement[datetime]) -> ColumnElement[bool]:
    """Active holds past their expiry; the literal state lets the partial indexes serve."""
    return and_(holds.c.state == ACTIVE, holds.c.expires_at <= now)


# --- where a hold goes ------------------------------------------------------------------------


async def fcl_target(
    conn: AsyncConnection, sailing_id: uuid.UUID, size_type: str, shift: float
) -> AnyRow | None:
    """The sailing's state, its allotment of ``size_type`` with tariff, and database time
    (shifted by ``shift``, from :meth:`app.clock.Clock.shift`)."""
    params = {"target_sailing_id": sailing_id, "target_size_type": size_type, "clock_shift": shift}
    return await _fcl_target(conn.dialect.name).first(conn, params)


async def lcl_targets(
    conn: AsyncConnection, sailing_id: uuid.UUID, size_type: str | None, shift: float
) -> list[AnyRow]:
    """The sailing's state and its pools (of ``size_type`` if given), and database time."""
    params = {"target_sailing_id": sailing_id, "target_size_type": size_type, "clock_shift": shift}
    return list(await _lcl_targets(conn.dialect.name).fetch(conn, params))


# Built once per dialect: the hold path runs them on every request.
@functools.cache
def _fcl_target(dialect: str) -> Prepared:
    s, a = inventory.sailings, inventory.allotments
    query = (
        select(
            s.c.status,
            s.c.cut_off,
            a.c.id.label("allotment_id"),
            a.c.rate,
            a.c.currency,
            bound_now(dialect).label("now"),
        )
        .join(a, a.c.sailing_id == s.c.id)
        .where(s.c.id == bindparam("target_sailing_id"), a.c.size_type == bindparam("target_size_type"))
    )
    return Prepared(query)


@functools.cache
def _lcl_targets(dialect: str) -> Prepared:
    s, p = inventory.sailings, inventory.pools
    size_type = bindparam("target_size_type", type_=p.c.size_type.type)
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
            bound_now(dialect).label("now"),
        )
        .join(p, p.c.sailing_id == s.c.id)
        .where(s.c.id == bindparam("target_sailing_id"), or_(size_type.is_(None), p.c.size_type == size_type))
        .order_by(p.c.size_type)
    )
    return Prepared(query)


async def sailing_exists(conn: AsyncConnection, sailing_id: uuid.UUID) -> bool:
    query = select(inventory.sailings.c.id).where(inventory.sailings.c.id == sailing_id)
    return (await conn.execute(query)).first() is not None


# --- holds ----------------------------------------------------------------------------------


async def insert_hold(conn: AsyncConnection, values: Mapping[str, Any]) -> None:
    # One statement object with the values as parameters: compiled once, not once per hold.
    await conn.execute(_insert_hold, dict(values))


_insert_hold = insert(holds)


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
    row = _bound_row(holds, "hold", columns).select_from(claimed)
    return insert(holds).from_select(list(columns), row).returning(holds.c.id)


class OneStatement(NamedTuple):
    """What :func:`place_in_one_statement` did, and why not when it did nothing."""

    held: bool
    # The request still held its Idempotency-Key's lease (always, without a key).
    leased: bool
    # FCL only, as of the statement's start: the allotment's free units and whether an overdue
    # hold sits on it. None for LCL, whose refusals take the slow way (a pool may draw a box).
    free_units: int | None
    overdue: bool | None


# How the one statement stores the request's answer: not at all (no Idempotency-Key), by
# completing the claimed record, or by inserting the record of an unclaimed request.
AnswerMode = Literal["none", "complete", "insert"]


class StatementAnswer(NamedTuple):
    """The request's answer and how the one statement stores it."""

    mode: AnswerMode
    params: Mapping[str, Any]


async def place_in_one_statement(
    conn: AsyncConnection,
    quantity: Quantity,
    hold: Mapping[str, Any],
    event: Mapping[str, Any],
    answer: StatementAnswer | None,
    shift: float,
) -> OneStatement:
    """PostgreSQL only: claim the space, insert the hold and its event and store the request's
    idempotent answer in one statement, which is atomic by itself: run in autocommit it costs
    one round trip and no BEGIN or COMMIT. Nothing is written when the space is not free or the
    request's idempotency lease was lost; the result then says which.

    ``hold`` and ``event`` are the rows (see ``holds.new_hold_row`` and ``outbox.row``);
    ``answer`` None for a request without an Idempotency-Key; ``shift`` the clock's (for
    "overdue"). Raises ``idempotency.KeyAnswered``, with nothing written, when an unclaimed
    request's duplicate stored its answer first.
    """
    mode: AnswerMode = "none" if answer is None else answer.mode
    statement = _place_in_one_statement(quantity.load, tuple(hold), tuple(event), mode)
    params = {
        **{f"hold_{name}": value for name, value in hold.items()},
        **{f"event_{name}": value for name, value in event.items()},
        **counters.claim_params(quantity),
        **(answer.params if answer is not None else {}),
        "clock_shift": shift,
    }
    try:
        row = (await statement.fetch(conn, params))[0]
    except IntegrityError as error:
        # The duplicate's record committed while this statement waited on the key's index.
        if getattr(error.orig, "constraint_name", None) == idempotency.KEY_CONSTRAINT:
            raise idempotency.KeyAnswered() from error
        raise
    return OneStatement(bool(row.held), bool(row.leased), row.free_units, row.overdue)


@functools.cache
def _place_in_one_statement(
    load: Load, hold_columns: tuple[str, ...], event_columns: tuple[str, ...], answer_mode: AnswerMode
) -> Prepared:
    """``WITH [lease AS (SELECT ... FOR UPDATE),] claimed AS (UPDATE counter ...), hold AS
    (INSERT ... FROM claimed), event AS (INSERT ... FROM hold) [, answer AS (UPDATE
    idempotency_records ... WHERE EXISTS hold) | , record AS (INSERT INTO idempotency_records
    ... FROM hold)] SELECT count(*) FROM hold, ...``.

    Each step needs the one before: no space, no hold, no event, no stored answer. A claimed
    request's lease is locked first (the order its slow path takes too: key record, then
    counter) and the claim needs it, so a request whose key was taken over changes nothing. An
    unclaimed request's record is inserted last, without ``ON CONFLICT``: a duplicate's record
    fails the whole statement (``answer_mode``: ``none``, ``complete`` or ``insert``).
    """
    claim = counters.claim_template(load)
    leased: ColumnElement[bool] = true()
    if answer_mode == "complete":
        lease = idempotency.leased_record().cte("lease")
        leased = exists(select(lease.c.id))
        claim = claim.where(leased)
    claimed = claim.cte("claimed")
    hold = (
        insert(holds)
        .from_select(list(hold_columns), _bound_row(holds, "hold", hold_columns).select_from(claimed))
        .returning(holds.c.id)
        .cte("hold")
    )
    event = (
        insert(_outbox)
        .from_select(list(event_columns), _bound_row(_outbox, "event", event_columns).select_from(hold))
        .returning(_outbox.c.id)
        .cte("event")
    )
    counter: BindParameter[Any] = bindparam("claim_counter_id")
    free_units: Any = null()
    in_the_way: Any = null()
    if load is Load.FCL:
        a = inventory.allotments
        free_units = select(inventory.units_free).where(a.c.id == counter).scalar_subquery()
        in_the_way = exists(
            select(holds.c.id).where(on_counter(load, counter), overdue(bound_now("postgresql")))
        )
    held = select(func.count()).select_from(hold).scalar_subquery()
    query = select(
        held.label("held"),
        leased.label("leased"),
        # Looked at only when the claim failed: a hold that went through costs no more reads.
        case((held == 0, free_units), else_=null()).label("free_units"),
        case((held == 0, in_the_way), else_=null()).label("overdue"),
    ).add_cte(event)
    if answer_mode == "complete":
        answer = idempotency.completion().where(exists(select(hold.c.id))).cte("answer")
        query = query.add_cte(answer)
    elif answer_mode == "insert":
        query = query.add_cte(_record_insert(hold))
    return Prepared(query)


def _record_insert(hold: Any) -> Any:
    """The unclaimed request's finished record, inserted only if the hold was (parameters
    ``record_*`` of ``idempotency.record_params`` and ``answer_*``; its times are the hold's)."""
    r = _records
    values = {
        **{name: bindparam(f"record_{name}", type_=r.c[name].type) for name in idempotency.RECORD_COLUMNS},
        "state": literal("done"),
        "response_status": bindparam("answer_status", type_=r.c.response_status.type),
        "response_body": bindparam("answer_body", type_=r.c.response_body.type),
        "response_headers": bindparam("answer_headers", type_=r.c.response_headers.type),
        "locked_until": bindparam("hold_created_at", type_=holds.c.created_at.type),
        "created_at": bindparam("hold_created_at", type_=holds.c.created_at.type),
    }
    row = select(*(value.label(name) for name, value in values.items())).select_from(hold)
    return insert(r).from_select(list(values), row).returning(r.c.id).cte("record")


def _bound_row(table: Table, prefix: str, columns: tuple[str, ...]) -> Select[Any]:
    """``SELECT :prefix_a AS a, :prefix_b AS b ...`` typed like the table's columns."""
    return select(*(bindparam(f"{prefix}_{c}", type_=table.c[c].type).label(c) for c in columns))


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
