"""Every query of consolidation: pools to close, their holds and live LCL bookings, containers,
house bill numbers. Counters change only through app.inventory and app.reservations.

Lock order, as everywhere (app.reservations.repository): hold and booking rows first, then the
pool, then its allotment (a draw); so a close never waits in a cycle with a confirm, an
amendment, a cancellation or a carrier's cut.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from app.consolidation.models import HouseBillSequence
from app.db import table_of
from app.domain.states import LIVE_BOOKING_STATES, HoldState, Load, SailingStatus
from app.inventory.models import ConsolidationContainer
from app.inventory.repository import allotments, carriers, pools, sailings, units_free
from app.reservations.repository import BookingRow, HoldRow, booking_row, bookings, hold_row, holds

containers = table_of(ConsolidationContainer)
house_bill_sequence = table_of(HouseBillSequence)
LIVE = sorted(state.value for state in LIVE_BOOKING_STATES)
# Sailings whose pools still close: not cancelled (its bookings were rolled) nor departed.
CLOSABLE_SAILINGS = (SailingStatus.OPEN.value, SailingStatus.CLOSED.value)


class PoolToClose(msgspec.Struct, frozen=True, kw_only=True):
    """A pool with what closing it needs: its containers, its allotment's free units, its
    sailing's cut-offs and database time."""

    id: uuid.UUID
    sailing_id: uuid.UUID
    allotment_id: uuid.UUID
    size_type: str
    container_volume_dm3: int
    container_weight_g: int
    containers: int
    units_drawable: int
    closed_at: datetime | None
    voyage_number: str
    carrier_id: uuid.UUID
    etd: datetime
    cut_off: datetime
    cut_offs: dict[str, str]
    sailing_status: str
    now: datetime


def _pool_query(now: ColumnElement[datetime]) -> Any:
    return (
        select(
            pools.c.id,
            pools.c.sailing_id,
            pools.c.allotment_id,
            pools.c.size_type,
            pools.c.container_volume_dm3,
            pools.c.container_weight_g,
            pools.c.containers,
            units_free.label("units_drawable"),
            pools.c.closed_at,
            sailings.c.voyage_number,
            sailings.c.carrier_id,
            sailings.c.etd,
            sailings.c.cut_off,
            sailings.c.cut_offs,
            sailings.c.status.label("sailing_status"),
            now.label("now"),
        )
        .join(sailings, sailings.c.id == pools.c.sailing_id)
        .join(allotments, allotments.c.id == pools.c.allotment_id)
    )


def _pool(row: Any) -> PoolToClose:
    return PoolToClose(**row._mapping)


async def open_pools(conn: AsyncConnection, now: ColumnElement[datetime]) -> list[PoolToClose]:
    """Pools not closed yet of sailings still to sail, with their cut-offs (the LCL cut-off is
    read from the JSON ``cut_offs`` in Python: app.domain.consolidation.closing)."""
    query = _pool_query(now).where(pools.c.closed_at.is_(None), sailings.c.status.in_(CLOSABLE_SAILINGS))
    return [_pool(row) for row in await conn.execute(query.order_by(sailings.c.cut_off, pools.c.id))]


async def pools_of_sailing(
    conn: AsyncConnection, sailing_id: uuid.UUID, now: ColumnElement[datetime]
) -> list[PoolToClose]:
    query = _pool_query(now).where(pools.c.sailing_id == sailing_id).order_by(pools.c.size_type)
    return [_pool(row) for row in await conn.execute(query)]


async def lock_pool(
    conn: AsyncConnection, pool_id: uuid.UUID, now: ColumnElement[datetime], *, open_only: bool
) -> PoolToClose | None:
    """The pool, its row locked; with ``open_only`` only if not closed, and on PostgreSQL
    skipping it when another transaction holds it (another replica closing it, a hold being
    placed): the next run tries again."""
    query = _pool_query(now).where(pools.c.id == pool_id)
    if open_only:
        query = query.where(pools.c.closed_at.is_(None))
        if conn.dialect.name == "postgresql":
            return _optional(await conn.execute(query.with_for_update(of=pools, skip_locked=True)))
    return _optional(await conn.execute(query.with_for_update(of=pools)))


def _optional(result: Any) -> PoolToClose | None:
    row = result.first()
    return None if row is None else _pool(row)


async def mark_closed(conn: AsyncConnection, pool_id: uuid.UUID, now: ColumnElement[datetime]) -> datetime:
    statement = update(pools).where(pools.c.id == pool_id).values(closed_at=now).returning(pools.c.closed_at)
    closed_at: datetime = (await conn.execute(statement)).scalar_one()
    return closed_at


async def active_holds(
    conn: AsyncConnection, pool_id: uuid.UUID, *, skip_locked: bool = False
) -> list[HoldRow]:
    """The pool's active holds, locked (``skip_locked``: leaving those another transaction
    holds, on PostgreSQL: a confirm racing the close, which will find the pool closed)."""
    query = (
        select(holds)
        .where(holds.c.pool_id == pool_id, holds.c.state == HoldState.ACTIVE.value)
        .order_by(holds.c.id)
    )
    locked = query.with_for_update(skip_locked=skip_locked and conn.dialect.name == "postgresql")
    return [hold_row(row) for row in await conn.execute(locked)]


async def active_holds_on_closed_pools(conn: AsyncConnection, limit: int) -> list[HoldRow]:
    """Active holds left on closed pools (a confirm that raced the close and failed), locked,
    skipping those another transaction holds."""
    query = (
        select(holds)
        .join(pools, pools.c.id == holds.c.pool_id)
        .where(holds.c.state == HoldState.ACTIVE.value, pools.c.closed_at.is_not(None))
        .order_by(holds.c.id)
        .limit(limit)
    )
    skip = conn.dialect.name == "postgresql"
    return [hold_row(row) for row in await conn.execute(query.with_for_update(of=holds, skip_locked=skip))]


async def live_bookings(conn: AsyncConnection, pool_id: uuid.UUID, *, lock: bool = False) -> list[BookingRow]:
    """The pool's live LCL bookings, oldest first (locked with ``lock``)."""
    query = (
        select(bookings)
        .where(
            bookings.c.pool_id == pool_id,
            bookings.c.load == Load.LCL.value,
            bookings.c.state.in_(LIVE),
        )
        .order_by(bookings.c.created_at, bookings.c.id)
    )
    if lock:
        query = query.with_for_update()
    return [booking_row(row) for row in await conn.execute(query)]


async def next_house_bill_sequences(conn: AsyncConnection, count: int) -> int:
    """Reserve ``count`` house bill sequence numbers; the first of them."""
    statement = (
        update(house_bill_sequence)
        .where(house_bill_sequence.c.id == 1)
        .values(last_value=house_bill_sequence.c.last_value + count)
        .returning(house_bill_sequence.c.last_value)
    )
    last = int((await conn.execute(statement)).scalar_one())
    return last - count + 1


class ContainerRow(msgspec.Struct, frozen=True, kw_only=True):
    """A row of ``consolidation_containers``."""

    id: uuid.UUID
    pool_id: uuid.UUID
    sailing_id: uuid.UUID
    number: int
    size_type: str
    volume_dm3: int
    weight_g: int
    dangerous_goods_classes: list[str]
    set_point_c: Decimal | None
    non_operating_reefer: bool
    master_reference: str
    master_status: str
    master_carrier_reference: str | None
    master_carrier_booking_number: str | None
    master_detail: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime
    # Recorded by an operator once the box is stuffed and sealed (app.manifests).
    equipment_reference: str | None = None
    seal_number: str | None = None


async def insert_containers(conn: AsyncConnection, rows: Sequence[ContainerRow]) -> None:
    if rows:
        await conn.execute(insert(containers), [msgspec.structs.asdict(row) for row in rows])


async def update_container_fill(conn: AsyncConnection, row: ContainerRow) -> None:
    """A re-plan's new fill of a kept container (its number and master reference stay)."""
    statement = (
        update(containers)
        .where(containers.c.id == row.id)
        .values(
            volume_dm3=row.volume_dm3,
            weight_g=row.weight_g,
            dangerous_goods_classes=row.dangerous_goods_classes,
            set_point_c=row.set_point_c,
            non_operating_reefer=row.non_operating_reefer,
            master_status=row.master_status,
            updated_at=row.updated_at,
        )
    )
    await conn.execute(statement)


async def containers_of(
    conn: AsyncConnection, pool_ids: Sequence[uuid.UUID], *, lock: bool = False
) -> list[ContainerRow]:
    """The pools' containers; ``lock``: locked until commit, so that the dispatcher does not
    take one's master booking to request meanwhile (it skips locked containers)."""
    query = (
        select(containers)
        .where(containers.c.pool_id.in_(pool_ids))
        .order_by(containers.c.pool_id, containers.c.number)
    )
    if lock:
        query = query.with_for_update()
    return [ContainerRow(**row._mapping) for row in await conn.execute(query)]


_place = (
    update(bookings)
    .where(bookings.c.id == bindparam("placed_id"))
    .values(
        container_id=bindparam("placed_container_id"),
        house_bill_number=bindparam("placed_house_bill_number"),
        updated_at=bindparam("placed_at"),
        version=bookings.c.version + 1,
    )
)


async def place_bookings(
    conn: AsyncConnection, placements: Sequence[tuple[uuid.UUID, uuid.UUID | None, str | None]], at: datetime
) -> None:
    """Each booking (id) into its container with its house bill number, version bumped."""
    if not placements:
        return
    await conn.execute(
        _place,
        [
            {
                "placed_id": booking_id,
                "placed_container_id": container_id,
                "placed_house_bill_number": number,
                "placed_at": at,
            }
            for booking_id, container_id, number in placements
        ],
    )


class HouseBillRow(msgspec.Struct, frozen=True, kw_only=True):
    """A booking with its container and sailing, as a house bill prints them."""

    booking: BookingRow
    container_number: int | None
    master_reference: str | None
    container_set_point_c: Decimal | None
    non_operating_reefer: bool | None
    pool_closed_at: datetime | None
    voyage_number: str
    vessel_name: str
    service_code: str
    port_of_loading: str
    port_of_discharge: str
    etd: datetime
    eta: datetime
    carrier_scac: str
    carrier_name: str


async def house_bill(
    conn: AsyncConnection, reference: str, owner: ColumnElement[bool]
) -> HouseBillRow | None:
    """The booking ``reference`` that ``owner`` allows, with its container and sailing."""
    query = (
        select(
            bookings,
            containers.c.number.label("container_number"),
            containers.c.master_reference,
            containers.c.set_point_c.label("container_set_point_c"),
            containers.c.non_operating_reefer,
            pools.c.closed_at.label("pool_closed_at"),
            sailings.c.voyage_number,
            sailings.c.vessel_name,
            sailings.c.service_code,
            sailings.c.port_of_loading,
            sailings.c.port_of_discharge,
            sailings.c.etd,
            sailings.c.eta,
            carriers.c.scac.label("carrier_scac"),
            carriers.c.name.label("carrier_name"),
        )
        .join(sailings, sailings.c.id == bookings.c.sailing_id)
        .join(carriers, carriers.c.id == sailings.c.carrier_id)
        .outerjoin(pools, pools.c.id == bookings.c.pool_id)
        .outerjoin(containers, containers.c.id == bookings.c.container_id)
        .where(bookings.c.reference == reference, owner)
    )
    row = (await conn.execute(query)).first()
    if row is None:
        return None
    values = row._mapping
    booking = BookingRow(**{name: values[bookings.c[name]] for name in BookingRow.__struct_fields__})
    extra = {name: values[name] for name in HouseBillRow.__struct_fields__ if name != "booking"}
    return HouseBillRow(booking=booking, **extra)


async def database_time(conn: AsyncConnection, now: ColumnElement[datetime]) -> datetime:
    moment: datetime = (await conn.execute(select(now))).scalar_one()
    return moment


async def count_live_in(conn: AsyncConnection, pool_id: uuid.UUID) -> int:
    query = select(func.count()).where(
        bookings.c.pool_id == pool_id, bookings.c.state.in_(LIVE), bookings.c.container_id.is_not(None)
    )
    return int((await conn.execute(query)).scalar_one())


class PackedContainer(msgspec.Struct, frozen=True, kw_only=True):
    """A stored container of a closed pool with the live bookings aboard (oldest first): what a
    manifest lists. Bookings cancelled or rolled after the close keep their container link but
    are not live, so they are not here."""

    container: ContainerRow
    bookings: list[BookingRow]


async def packed_containers(conn: AsyncConnection, sailing_id: uuid.UUID) -> list[PackedContainer]:
    """Every container of the sailing's closed pools, by pool and number, with its live LCL
    bookings; containers a re-plan emptied (or whose bookings all left) have none. A pool is
    closed when ``pools.closed_at`` is set; open pools have no containers."""
    closed = select(pools.c.id).where(pools.c.sailing_id == sailing_id, pools.c.closed_at.is_not(None))
    pool_ids = list((await conn.execute(closed)).scalars())
    if not pool_ids:
        return []
    stored = await containers_of(conn, pool_ids)
    query = (
        select(bookings)
        .where(
            bookings.c.container_id.in_([row.id for row in stored]),
            bookings.c.load == Load.LCL.value,
            bookings.c.state.in_(LIVE),
        )
        .order_by(bookings.c.created_at, bookings.c.id)
    )
    aboard: dict[uuid.UUID, list[BookingRow]] = {row.id: [] for row in stored}
    for row in await conn.execute(query):
        booking = booking_row(row)
        assert booking.container_id is not None
        aboard[booking.container_id].append(booking)
    return [PackedContainer(container=row, bookings=aboard[row.id]) for row in stored]


async def cargo_aboard(conn: AsyncConnection, container_id: uuid.UUID) -> list[dict[str, Any]]:
    """The cargo of the live bookings packed in a container, in booking order."""
    query = (
        select(bookings.c.cargo)
        .where(bookings.c.container_id == container_id, bookings.c.state.in_(LIVE))
        .order_by(bookings.c.created_at, bookings.c.id)
    )
    return [dict(cargo) for cargo in (await conn.execute(query)).scalars()]
