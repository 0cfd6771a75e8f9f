"""Every query over holds and bookings, and the counter moves they cause.

Counters change only here and in app.inventory.repository, through conditional ``UPDATE ...
RETURNING`` statements: no value is read into Python and written back (DESIGN section 4).
Lock order, everywhere: the Idempotency-Key record, then hold or booking rows, then pools, then
allotments (the LCL draw takes its pool before the allotment), each kind in id order; so
transactions touching several of them never wait on each other in a cycle.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import msgspec
from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Integer,
    Select,
    Table,
    Update,
    and_,
    bindparam,
    exists,
    func,
    insert,
    null,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from app.accounts.actor import Actor
from app.carrier_requests.models import UNFINISHED_STATES, CarrierRequest
from app.clock import database_now
from app.db import table_of
from app.dbtypes import BIG_INTEGER
from app.domain.capacity import Quantity
from app.domain.hold_plan import HoldLifetime, HoldTarget
from app.domain.states import Load
from app.events import idempotency, outbox
from app.events.models import OutboxEvent
from app.inventory import repository as inventory
from app.inventory.models import ConsolidationContainer
from app.pagination import newest_first
from app.reservations.models import ACTIVE, Booking, Hold
from app.sync.models import CarrierBooking

holds = table_of(Hold)
bookings = table_of(Booking)
_outbox = table_of(OutboxEvent)
_requests = table_of(CarrierRequest)
_carrier_bookings = table_of(CarrierBooking)


class OccupyingRow(msgspec.Struct, frozen=True, kw_only=True):
    """The columns holds and bookings share: whose they are and the space they take."""

    id: uuid.UUID
    organisation_id: uuid.UUID
    placed_by_id: uuid.UUID | None
    sailing_id: uuid.UUID
    allotment_id: uuid.UUID | None
    pool_id: uuid.UUID | None
    load: str
    size_type: str
    units: int
    volume_dm3: int
    weight_g: int
    price: Decimal
    currency: str
    state: str

    @property
    def quantity(self) -> Quantity:
        return Quantity(
            load=Load(self.load),
            allotment_id=self.allotment_id,
            pool_id=self.pool_id,
            units=self.units,
            volume_dm3=self.volume_dm3,
            weight_g=self.weight_g,
        )


class HoldRow(OccupyingRow, frozen=True, kw_only=True):
    """A row of ``holds``."""

    rate: Decimal
    minimum: Decimal
    created_at: datetime
    expires_at: datetime
    ended_at: datetime | None


class BookingRow(OccupyingRow, frozen=True, kw_only=True):
    """A row of ``bookings``."""

    reference: str
    hold_id: uuid.UUID
    cargo: dict[str, Any]
    parties: dict[str, Any]
    version: int
    created_at: datetime
    updated_at: datetime
    offered_hold_id: uuid.UUID | None = None
    # LCL, once its pool closed (app.consolidation): its container and house bill number.
    container_id: uuid.UUID | None = None
    house_bill_number: str | None = None


class BookingInContext(msgspec.Struct, frozen=True, kw_only=True):
    """A booking with what deciding a change needs: its sailing's state and cut-off, its hold's
    quote and database time."""

    booking: BookingRow
    sailing_status: str
    cut_off: datetime
    quoted_rate: Decimal
    quoted_minimum: Decimal
    now: datetime


def hold_row(row: Any) -> HoldRow:
    return HoldRow(**row._mapping)


def booking_row(row: Any) -> BookingRow:
    return BookingRow(**row._mapping)


def visible_to(table: Table, actor: Actor) -> ColumnElement[bool]:
    """Rows the actor may see: its own, those it placed for its shippers; operators see all."""
    if actor.sees_everything:
        return true()
    return or_(
        table.c.organisation_id == actor.organisation_id,
        table.c.placed_by_id == actor.organisation_id,
    )


def on_counter(load: Load, counter_id: Any) -> ColumnElement[bool]:
    """Holds counted on a counter: the FCL ones of an allotment (LCL ones carry the allotment
    too, but count in their pool), or those of a pool."""
    if load is Load.FCL:
        return and_(holds.c.allotment_id == counter_id, holds.c.load == Load.FCL.value)
    in_pool: ColumnElement[bool] = holds.c.pool_id == counter_id
    return in_pool


def overdue(now: ColumnElement[datetime]) -> ColumnElement[bool]:
    """Active holds past their expiry; the literal state lets the partial indexes serve."""
    return and_(holds.c.state == ACTIVE, holds.c.expires_at <= now)


# --- counters -------------------------------------------------------------------------------


@functools.cache
def claim_statement(load: Load, stage: str = "held") -> Update:
    """The claim: add a quantity to a counter's ``held`` (or ``booked``) only if that much is
    free, decided by the database on the row it updates. Built once, with the parameters of
    :func:`claim_params`, whose names match no column: SQLAlchemy adds a parameter named like a
    column of the updated table to its SET clause."""
    units: BindParameter[int] = bindparam("claim_units", type_=Integer)
    volume: BindParameter[int] = bindparam("claim_volume_dm3", type_=Integer)
    weight: BindParameter[int] = bindparam("claim_weight_g", type_=BIG_INTEGER)
    if load is Load.FCL:
        return inventory.adjustment(
            inventory.allotments,
            bindparam("claim_counter_id"),
            {f"units_{stage}": units},
            when=inventory.units_available(units),
        )
    # A closed pool takes no claim: decided on the row the close locked and stamped, so a hold
    # or amendment racing the close either claims before it or finds the pool closed.
    return inventory.adjustment(
        inventory.pools,
        bindparam("claim_counter_id"),
        {f"volume_{stage}_dm3": volume, f"weight_{stage}_g": weight},
        when=and_(inventory.space_available(volume, weight), inventory.pool_open()),
    )


def claim_params(quantity: Quantity) -> dict[str, Any]:
    return {
        "claim_counter_id": quantity.counter_id,
        "claim_units": quantity.units,
        "claim_volume_dm3": quantity.volume_dm3,
        "claim_weight_g": quantity.weight_g,
    }


async def claim(conn: AsyncConnection, quantity: Quantity, stage: str = "held") -> bool:
    """Claim ``quantity`` on its counter's ``stage`` if it is free; positive parts only."""
    result = await conn.execute(claim_statement(quantity.load, stage), claim_params(quantity))
    return result.first() is not None


async def give_back(conn: AsyncConnection, quantities: Iterable[Quantity], stage: str) -> None:
    """Take holds' or bookings' space off the counters' ``stage`` (a release, an expiry, the
    ``held`` side of a confirm): one UPDATE per counter row, in the lock order. Giving back never
    exceeds a total; the CHECK constraints stand behind it."""
    totals: dict[tuple[Load, uuid.UUID], Quantity] = {}
    for quantity in quantities:
        key = (quantity.load, quantity.counter_id)
        previous = totals.get(key)
        totals[key] = quantity if previous is None else previous.minus(quantity.scaled(-1))
    # Pools before allotments, each in id order.
    for key in sorted(totals, key=lambda k: (k[0] is Load.FCL, k[1])):
        changed = await inventory.adjust(conn, _table(key[0]), key[1], _deltas(totals[key].scaled(-1), stage))
        assert changed, "counter row vanished"


async def book_held(conn: AsyncConnection, quantity: Quantity) -> bool:
    """Move a confirmed hold's space from ``held`` to ``booked`` on its counter; False (nothing
    moved) when the hold is LCL and its pool has closed: its bookings are already packed."""
    deltas = {**_deltas(quantity.scaled(-1), "held"), **_deltas(quantity, "booked")}
    when = inventory.pool_open() if quantity.load is Load.LCL else None
    changed = await inventory.adjust(conn, _table(quantity.load), quantity.counter_id, deltas, when=when)
    if quantity.load is Load.FCL:
        assert changed, "counter row vanished"
    return changed


def _deltas(quantity: Quantity, stage: str) -> dict[str, int]:
    if quantity.load is Load.FCL:
        return {f"units_{stage}": quantity.units}
    return {f"volume_{stage}_dm3": quantity.volume_dm3, f"weight_{stage}_g": quantity.weight_g}


def _table(load: Load) -> Table:
    return inventory.allotments if load is Load.FCL else inventory.pools


# --- where a hold goes ----------------------------------------------------------------------


async def hold_targets(
    conn: AsyncConnection, sailing_id: uuid.UUID, load: Load, size_type: str | None, shift: float
) -> list[HoldTarget]:
    """The sailing with its allotment of ``size_type`` (FCL) or its pools, of ``size_type`` if
    given (LCL), and database time (shifted by ``shift``, :meth:`app.clock.Clock.shift`). None
    when the sailing does not exist; one row without a counter when it has no such space."""
    params = {"target_sailing_id": sailing_id, "target_size_type": size_type, "clock_shift": shift}
    rows = await conn.execute(_targets(conn.dialect.name, load), params)
    return [HoldTarget(**row._mapping) for row in rows]


# Built once per dialect and load: the hold path runs them on every request.
@functools.cache
def _targets(dialect: str, load: Load) -> Select[Any]:
    s, a, p = inventory.sailings, inventory.allotments, inventory.pools
    size_type = bindparam("target_size_type", type_=a.c.size_type.type)
    sailing = (s.c.status.label("sailing_status"), s.c.cut_off, database_now(dialect).label("now"))
    if load is Load.FCL:
        query = select(
            *sailing, a.c.id.label("allotment_id"), a.c.size_type, a.c.rate, a.c.currency
        ).outerjoin(a, and_(a.c.sailing_id == s.c.id, a.c.size_type == size_type))
    else:
        query = (
            select(
                *sailing,
                p.c.allotment_id,
                p.c.id.label("pool_id"),
                p.c.size_type,
                p.c.rate,
                p.c.minimum,
                p.c.currency,
                p.c.container_volume_dm3,
                p.c.container_weight_g,
                p.c.closed_at.label("pool_closed_at"),
            )
            .outerjoin(
                p, and_(p.c.sailing_id == s.c.id, or_(size_type.is_(None), p.c.size_type == size_type))
            )
            .order_by(p.c.size_type)
        )
    targets: Select[Any] = query.where(s.c.id == bindparam("target_sailing_id"))
    return targets


# --- placing a hold -------------------------------------------------------------------------


class Placement(msgspec.Struct, frozen=True, kw_only=True):
    """A hold to place: its row, its ``hold.created`` event, and for a request under an
    Idempotency-Key the key's lease (or none) and the answer to store with the hold."""

    hold: HoldRow
    event: outbox.EventRow
    key: idempotency.Keyed | None = None
    answer: idempotency.Replay | None = None

    @property
    def quantity(self) -> Quantity:
        return self.hold.quantity


async def place_hold(conn: AsyncConnection, placement: Placement) -> bool:
    """Claim the hold's space, then insert the hold, its event and the request's answer: all or
    nothing. False, with nothing written, when the space is not free.

    On PostgreSQL one statement, atomic by itself (in autocommit: one round trip, no BEGIN or
    COMMIT); on SQLite the statements in that order, in the caller's transaction. Raises
    ``idempotency.IdempotencyKeyInFlight`` when the request's lease was lost and
    ``idempotency.KeyAnswered`` when another request stored an answer under its key first; the
    caller's transaction must then roll back (the statement wrote nothing).
    """
    if conn.dialect.name != "postgresql":
        return await _place_in_order(conn, placement)
    params = {
        **_prefixed("hold", msgspec.structs.asdict(placement.hold)),
        **_prefixed("event", msgspec.structs.asdict(placement.event)),
        **claim_params(placement.quantity),
    }
    kind = None
    if placement.key is not None and placement.answer is not None:
        kind = idempotency.kind_of(placement.key)
        params.update(idempotency.store_params(placement.key, placement.answer))
    statement = _placement_statement(placement.quantity.load, kind)
    with idempotency.answered_first():
        row = (await conn.execute(statement, params)).one()
    if row.leased is False:
        raise idempotency.IdempotencyKeyInFlight()
    return bool(row.held)


async def _place_in_order(conn: AsyncConnection, placement: Placement) -> bool:
    """SQLite has no DML in CTEs; its writers take turns, so the statements of one transaction
    in the order of the one statement are as good."""
    if not await claim(conn, placement.quantity):
        return False
    await conn.execute(_insert_hold, msgspec.structs.asdict(placement.hold))
    await conn.execute(_insert_event, msgspec.structs.asdict(placement.event))
    if placement.key is not None and placement.answer is not None:
        await idempotency.store(conn, placement.key, placement.answer)
    return True


# One statement object each, with the values as parameters: compiled once, not once per hold.
_insert_hold = insert(holds)
_insert_event = insert(_outbox)
_HOLD_COLUMNS = tuple(HoldRow.__struct_fields__)
_EVENT_COLUMNS = tuple(outbox.EventRow.__struct_fields__)


@functools.cache
def _placement_statement(load: Load, answer: idempotency.StoreKind | None) -> Select[Any]:
    """``WITH [lease AS (SELECT ... FOR UPDATE),] claimed AS (UPDATE counter ...), hold AS
    (INSERT ... FROM claimed), event AS (INSERT ... FROM hold) [, answer AS (UPDATE or INSERT
    idempotency_records ... after hold)] SELECT count(*) FROM hold, ...``.

    Each step needs the one before: no space, no hold, no event, no stored answer. A leased
    request's record is locked first (the lock order) and the claim needs it, so a request whose
    key was taken over changes nothing. An unleased request's record is inserted last, without
    ``ON CONFLICT``: a duplicate's record fails the whole statement.
    """
    claim = claim_statement(load)
    leased: ColumnElement[Any] = null()
    if answer == "lease":
        lease = idempotency.leased_record().cte("lease")
        leased = exists(select(lease.c.id))
        claim = claim.where(leased)
    claimed = claim.cte("claimed")
    hold = (
        insert(holds)
        .from_select(_HOLD_COLUMNS, _bound_row(holds, "hold", _HOLD_COLUMNS).select_from(claimed))
        .returning(holds.c.id)
        .cte("hold")
    )
    event = (
        insert(_outbox)
        .from_select(_EVENT_COLUMNS, _bound_row(_outbox, "event", _EVENT_COLUMNS).select_from(hold))
        .returning(_outbox.c.id)
        .cte("event")
    )
    held = select(func.count()).select_from(hold).scalar_subquery()
    query = select(held.label("held"), leased.label("leased")).add_cte(event)
    if answer is not None:
        query = query.add_cte(idempotency.storing("postgresql", answer, after=hold).cte("answer"))
    return query


def _bound_row(table: Table, prefix: str, columns: tuple[str, ...]) -> Select[Any]:
    """``SELECT :prefix_a AS a, :prefix_b AS b ...`` typed like the table's columns. Prefixed
    names: a parameter named like a column of the claimed table would join its SET."""
    return select(*(bindparam(f"{prefix}_{c}", type_=table.c[c].type).label(c) for c in columns))


def _prefixed(prefix: str, values: Mapping[str, Any]) -> dict[str, Any]:
    return {f"{prefix}_{name}": value for name, value in values.items()}


# --- holds ----------------------------------------------------------------------------------


async def get_hold(conn: AsyncConnection, hold_id: uuid.UUID, actor: Actor) -> HoldRow | None:
    query = select(holds).where(holds.c.id == hold_id, visible_to(holds, actor))
    row = (await conn.execute(query)).first()
    return None if row is None else hold_row(row)


async def end_hold(
    conn: AsyncConnection,
    hold_id: uuid.UUID,
    actor: Actor,
    *,
    to_state: str,
    now: ColumnElement[datetime],
    unexpired: bool,
) -> HoldRow | None:
    """Move an active hold to ``to_state``; None when it was not active (or had expired)."""
    statement = update(holds).where(
        holds.c.id == hold_id, holds.c.state == "active", visible_to(holds, actor)
    )
    if unexpired:
        statement = statement.where(holds.c.expires_at > now)
    statement = statement.values(state=to_state, ended_at=now).returning(*holds.c)
    row = (await conn.execute(statement)).first()
    return None if row is None else hold_row(row)


async def lock_hold_lifetime(
    conn: AsyncConnection, hold_id: uuid.UUID, actor: Actor, now: ColumnElement[datetime]
) -> HoldLifetime | None:
    """The actor's active hold with its sailing and database time, locked until the transaction
    ends (the expiry sweeper skips it meanwhile); None when there is no such active hold."""
    s = inventory.sailings
    query = (
        select(
            holds.c.id.label("hold_id"),
            holds.c.created_at,
            holds.c.expires_at,
            holds.c.sailing_id,
            s.c.status.label("sailing_status"),
            s.c.cut_off,
            now.label("now"),
        )
        .join(s, s.c.id == holds.c.sailing_id)
        .where(holds.c.id == hold_id, holds.c.state == ACTIVE, visible_to(holds, actor))
        .with_for_update(of=holds)
    )
    row = (await conn.execute(query)).first()
    return None if row is None else HoldLifetime(**row._mapping)


async def set_hold_expiry(conn: AsyncConnection, hold_id: uuid.UUID, expires_at: datetime) -> HoldRow:
    """Move a locked active hold's expiry (:func:`lock_hold_lifetime` found it)."""
    statement = (
        update(holds)
        .where(holds.c.id == hold_id, holds.c.state == ACTIVE)
        .values(expires_at=expires_at)
        .returning(*holds.c)
    )
    return hold_row((await conn.execute(statement)).one())


async def list_holds(
    conn: AsyncConnection, actor: Actor, *, state: str | None, sailing_id: uuid.UUID | None,
    before: tuple[datetime, uuid.UUID] | None, limit: int,
) -> list[HoldRow]:  # fmt: skip
    """The actor's holds, newest first, from before the cursor's position."""
    rows = await _listed(conn, holds, actor, state, sailing_id, before, limit)
    return [hold_row(row) for row in rows]


async def _listed(
    conn: AsyncConnection, table: Table, actor: Actor, state: str | None, sailing_id: uuid.UUID | None,
    before: tuple[datetime, uuid.UUID] | None, limit: int,
) -> list[Any]:  # fmt: skip
    """Rows of holds or bookings the actor sees, filtered, newest first."""
    query = select(table).where(visible_to(table, actor))
    if state:
        query = query.where(table.c.state == state)
    if sailing_id:
        query = query.where(table.c.sailing_id == sailing_id)
    return list((await conn.execute(newest_first(query, table, before).limit(limit))).all())


# --- bookings -------------------------------------------------------------------------------

containers = table_of(ConsolidationContainer)


class ContainerLink(msgspec.Struct, frozen=True, kw_only=True):
    number: int
    master_reference: str


async def container_links(
    conn: AsyncConnection, container_ids: Iterable[uuid.UUID | None]
) -> dict[uuid.UUID, ContainerLink]:
    """The containers of these ids (None skipped), by id: what a booking's view names."""
    wanted = {container_id for container_id in container_ids if container_id is not None}
    if not wanted:
        return {}
    query = select(containers).where(containers.c.id.in_(wanted))
    return {
        row.id: ContainerLink(number=row.number, master_reference=row.master_reference)
        for row in await conn.execute(query)
    }


async def offer_hold(conn: AsyncConnection, booking_id: uuid.UUID, hold_id: uuid.UUID) -> BookingRow:
    """Link a booking that lost its space to the hold placed for its owner elsewhere."""
    statement = (
        update(bookings)
        .where(bookings.c.id == booking_id)
        .values(offered_hold_id=hold_id)
        .returning(*bookings.c)
    )
    return booking_row((await conn.execute(statement)).one())


async def insert_booking(conn: AsyncConnection, booking: BookingRow) -> None:
    await conn.execute(_insert_booking, msgspec.structs.asdict(booking))


_insert_booking = insert(bookings)


async def get_booking(
    conn: AsyncConnection, reference: str, actor: Actor, now: ColumnElement[datetime]
) -> BookingInContext | None:
    """The booking with its sailing's state, its hold's quote and database time."""
    s = inventory.sailings
    query = (
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
        .where(bookings.c.reference == reference, visible_to(bookings, actor))
    )
    row = (await conn.execute(query)).first()
    if row is None:
        return None
    values = row._mapping
    return BookingInContext(
        booking=BookingRow(**{name: values[bookings.c[name]] for name in BookingRow.__struct_fields__}),
        sailing_status=values["sailing_status"],
        cut_off=values["cut_off"],
        quoted_rate=values["quoted_rate"],
        quoted_minimum=values["quoted_minimum"],
        now=values["now"],
    )


async def update_booking(
    conn: AsyncConnection,
    booking_id: uuid.UUID,
    version: int,
    states: frozenset[str],
    values: Mapping[str, Any],
) -> BookingRow | None:
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
    row = (await conn.execute(statement)).first()
    return None if row is None else booking_row(row)


async def list_bookings(
    conn: AsyncConnection, actor: Actor, *, state: str | None, sailing_id: uuid.UUID | None,
    before: tuple[datetime, uuid.UUID] | None, limit: int,
) -> list[BookingRow]:  # fmt: skip
    rows = await _listed(conn, bookings, actor, state, sailing_id, before, limit)
    return [booking_row(row) for row in rows]


# --- the carrier side of FCL bookings -------------------------------------------------------


class CarrierSideRow(msgspec.Struct, frozen=True, kw_only=True):
    """What the request outbox and the carrier's reports say of one booking."""

    carrier_reference: str | None = None
    carrier_booking_number: str | None = None
    status: str | None = None
    reason: str | None = None
    reported_at: datetime | None = None
    # The first request of the booking not yet answered, and the last error any attempt met.
    pending: str | None = None
    last_error: str | None = None
    requested_at: datetime | None = None


async def carrier_sides(conn: AsyncConnection, rows: Iterable[BookingRow]) -> dict[str, CarrierSideRow]:
    """By booking reference, the carrier side of these bookings' FCL ones."""
    fcl = {row.id: row.reference for row in rows if row.load == Load.FCL.value}
    if not fcl:
        return {}
    r = _requests
    requests = await conn.execute(
        select(r.c.subject_id, r.c.operation, r.c.state, r.c.last_error, r.c.updated_at)
        .where(r.c.subject_id.in_(fcl))
        .order_by(r.c.subject_id, r.c.sequence)
    )
    sides: dict[str, dict[str, Any]] = {reference: {} for reference in fcl.values()}
    for request in requests:
        side = sides[fcl[request.subject_id]]
        if request.state in UNFINISHED_STATES and "pending" not in side:
            side["pending"] = request.operation
        if request.last_error is not None:
            side["last_error"] = request.last_error
        side["requested_at"] = request.updated_at
    cb = _carrier_bookings
    reported = await conn.execute(
        select(
            cb.c.booking_reference,
            cb.c.carrier_reference,
            cb.c.carrier_booking_number,
            cb.c.status,
            cb.c.reason,
            cb.c.updated_at,
        ).where(cb.c.booking_reference.in_(list(fcl.values())))
    )
    for row in reported:
        sides[row.booking_reference].update(
            carrier_reference=row.carrier_reference,
            carrier_booking_number=row.carrier_booking_number,
            status=row.status,
            reason=row.reason,
            reported_at=row.updated_at,
        )
    return {reference: CarrierSideRow(**side) for reference, side in sides.items()}
