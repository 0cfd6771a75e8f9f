"""Every query of reconciliation. Counters change only through app.inventory.repository.adjust.

Lock order, as everywhere (app.reservations.repository): hold and booking rows first, then pools,
then allotments, each kind in id order; the sailing row last.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, String, and_, case, cast, func, insert, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db import table_of
from app.dialects import insert_ignoring_conflicts
from app.domain.shrink import AllotmentUse, PoolUse
from app.domain.states import ROLLABLE_BOOKING_STATES, BookingState, HoldState, Load, SailingStatus
from app.inventory import repository as inventory
from app.inventory.models import ConsolidationContainer
from app.inventory.repository import AnyRow, allotments, carriers, pools, sailings, units_free
from app.reconcile.models import RolledBooking
from app.reservations.repository import BookingRow, HoldRow, booking_row, bookings, hold_row, holds
from app.sync.models import AllotmentRelease
from app.sync.repository import carrier_bookings, changes, offers, sailing_states

releases = table_of(AllotmentRelease)
containers = table_of(ConsolidationContainer)
rolled_bookings = table_of(RolledBooking)
ROLLABLE = [s.value for s in ROLLABLE_BOOKING_STATES]
# Carrier booking statuses the carrier has yet to decide on: polled until they settle.
UNSETTLED_CARRIER_STATUSES = ("requested", "pending_amendment")
# Carrier booking statuses that end a booking here as declined.
DECLINING_STATUSES = ("rejected", "declined")
MASTER_STATUS_BY_CARRIER_STATUS = {
    "requested": "requested",
    "pending_amendment": "confirmed",
    "accepted": "confirmed",
    "completed": "confirmed",
    "rejected": "rejected",
    "declined": "declined",
    "cancelled": "cancelled",
}
FINAL_MASTER_STATUSES = ("rejected", "declined", "cancelled")


# --- recorded changes -----------------------------------------------------------------------


async def lock_next_change(conn: AsyncConnection, after_id: int) -> AnyRow | None:
    """The oldest unhandled change after ``after_id``, locked (``FOR UPDATE SKIP LOCKED`` on
    PostgreSQL, so concurrent passes take different changes). Like
    ``app.sync.repository.unhandled_changes`` with a cursor: a change that could not be
    completed stays unhandled without being taken again in the same pass."""
    query = (
        select(changes, carriers.c.scac.label("carrier_scac"))
        .join(carriers, carriers.c.id == changes.c.carrier_id)
        .where(changes.c.handled_at.is_(None), changes.c.id > after_id)
        .order_by(changes.c.id)
        .limit(1)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(of=changes, skip_locked=True)
    return (await conn.execute(query)).first()


# --- sailings and allotments ----------------------------------------------------------------


async def sailing_with_carrier_status(conn: AsyncConnection, sailing_id: uuid.UUID) -> AnyRow | None:
    query = (
        select(sailings, sailing_states.c.carrier_status)
        .outerjoin(sailing_states, sailing_states.c.sailing_id == sailings.c.id)
        .where(sailings.c.id == sailing_id)
    )
    return (await conn.execute(query)).first()


async def allotment_ids_of(
    conn: AsyncConnection, sailing_id: uuid.UUID, size_type: str | None = None
) -> list[uuid.UUID]:
    query = select(allotments.c.id).where(allotments.c.sailing_id == sailing_id).order_by(allotments.c.id)
    if size_type is not None:
        query = query.where(allotments.c.size_type == size_type)
    return list((await conn.execute(query)).scalars())


async def lock_pools_of(conn: AsyncConnection, allotment_ids: Sequence[uuid.UUID]) -> list[PoolUse]:
    p = pools
    query = (
        select(
            p.c.id,
            p.c.allotment_id,
            p.c.containers,
            p.c.container_volume_dm3,
            p.c.container_weight_g,
            (p.c.volume_held_dm3 + p.c.volume_booked_dm3).label("volume_used_dm3"),
            (p.c.weight_held_g + p.c.weight_booked_g).label("weight_used_g"),
        )
        .where(p.c.allotment_id.in_(allotment_ids))
        .order_by(p.c.id)
        .with_for_update()
    )
    return [PoolUse(**row._mapping) for row in await conn.execute(query)]


async def lock_allotments(conn: AsyncConnection, allotment_ids: Sequence[uuid.UUID]) -> list[AllotmentUse]:
    """The allotments with the carrier's figure (None where never recorded), locked."""
    a = allotments
    query = (
        select(
            a.c.id,
            a.c.sailing_id,
            a.c.size_type,
            a.c.units_total,
            a.c.units_held,
            a.c.units_booked,
            a.c.units_pooled,
            offers.c.units_offered,
        )
        .outerjoin(offers, offers.c.allotment_id == a.c.id)
        .where(a.c.id.in_(allotment_ids))
        .order_by(a.c.id)
        .with_for_update(of=a)
    )
    return [AllotmentUse(**row._mapping) for row in await conn.execute(query)]


async def cancel_sailing(conn: AsyncConnection, sailing_id: uuid.UUID) -> bool:
    """Open or closed -> cancelled; False when it was cancelled or departed already."""
    result = await conn.execute(
        update(sailings)
        .where(
            sailings.c.id == sailing_id,
            sailings.c.status.in_([SailingStatus.OPEN.value, SailingStatus.CLOSED.value]),
        )
        .values(status=SailingStatus.CANCELLED.value)
        .returning(sailings.c.id)
    )
    return result.first() is not None


async def lower_total(conn: AsyncConnection, allotment_id: uuid.UUID, by: int) -> bool:
    """``units_total -= by`` only if what is held, booked and pooled still fits under it."""
    used = allotments.c.units_held + allotments.c.units_booked + allotments.c.units_pooled
    when = used <= allotments.c.units_total - by
    return await inventory.adjust(conn, allotments, allotment_id, {"units_total": -by}, when=when)


async def return_containers(conn: AsyncConnection, pool: PoolUse, containers: int) -> None:
    """Give ``containers`` empty containers of a pool back to its allotment (pool first)."""
    volume = containers * pool.container_volume_dm3
    weight = containers * pool.container_weight_g
    emptied = await inventory.adjust(
        conn,
        pools,
        pool.id,
        {"containers": -containers, "volume_total_dm3": -volume, "weight_total_g": -weight},
        when=and_(
            pools.c.volume_held_dm3 + pools.c.volume_booked_dm3 <= pools.c.volume_total_dm3 - volume,
            pools.c.weight_held_g + pools.c.weight_booked_g <= pools.c.weight_total_g - weight,
        ),
    )
    assert emptied, "pool containers were not empty"
    await inventory.adjust(conn, allotments, pool.allotment_id, {"units_pooled": -containers})


# --- holds and bookings ---------------------------------------------------------------------


def _on_counters(table: Any, allotment_ids: Sequence[uuid.UUID], pool_ids: Sequence[uuid.UUID]) -> Any:
    return or_(
        and_(table.c.load == Load.FCL.value, table.c.allotment_id.in_(allotment_ids)),
        and_(table.c.load == Load.LCL.value, table.c.pool_id.in_(pool_ids)),
    )


async def lock_active_holds(
    conn: AsyncConnection, allotment_ids: Sequence[uuid.UUID], pool_ids: Sequence[uuid.UUID]
) -> list[HoldRow]:
    """Active holds on these counters, newest first, locked."""
    query = (
        select(holds)
        .where(holds.c.state == HoldState.ACTIVE.value, _on_counters(holds, allotment_ids, pool_ids))
        .order_by(holds.c.created_at.desc(), holds.c.id.desc())
        .with_for_update()
    )
    return [hold_row(row) for row in await conn.execute(query)]


async def lock_rollable_bookings(
    conn: AsyncConnection, allotment_ids: Sequence[uuid.UUID], pool_ids: Sequence[uuid.UUID]
) -> list[BookingRow]:
    """Bookings on these counters that may be rolled, newest first, locked."""
    query = (
        select(bookings)
        .where(bookings.c.state.in_(ROLLABLE), _on_counters(bookings, allotment_ids, pool_ids))
        .order_by(bookings.c.created_at.desc(), bookings.c.id.desc())
        .with_for_update()
    )
    return [booking_row(row) for row in await conn.execute(query)]


async def release_holds(
    conn: AsyncConnection, hold_ids: Sequence[uuid.UUID], now: ColumnElement[datetime]
) -> list[HoldRow]:
    """Active -> released for these holds; the rows that moved."""
    if not hold_ids:
        return []
    statement = (
        update(holds)
        .where(holds.c.id.in_(hold_ids), holds.c.state == HoldState.ACTIVE.value)
        .values(state=HoldState.RELEASED.value, ended_at=now)
        .returning(*holds.c)
    )
    return [hold_row(row) for row in await conn.execute(statement)]


async def roll_bookings(
    conn: AsyncConnection, booking_ids: Sequence[uuid.UUID], now: ColumnElement[datetime]
) -> list[BookingRow]:
    """Rollable -> rolled for these bookings (version bumped); the rows that moved."""
    if not booking_ids:
        return []
    statement = (
        update(bookings)
        .where(bookings.c.id.in_(booking_ids), bookings.c.state.in_(ROLLABLE))
        .values(state=BookingState.ROLLED.value, updated_at=now, version=bookings.c.version + 1)
        .returning(*bookings.c)
    )
    return [booking_row(row) for row in await conn.execute(statement)]


async def live_bookings_of(conn: AsyncConnection, sailing_id: uuid.UUID) -> list[AnyRow]:
    query = (
        select(bookings)
        .where(bookings.c.sailing_id == sailing_id, bookings.c.state.in_(ROLLABLE))
        .order_by(bookings.c.created_at, bookings.c.id)
    )
    return list((await conn.execute(query)).all())


async def cap_hold_expiry(conn: AsyncConnection, sailing_id: uuid.UUID, cut_off: datetime) -> int:
    """Active holds of the sailing expire at the latest at its cut-off; how many moved."""
    result = await conn.execute(
        update(holds)
        .where(
            holds.c.sailing_id == sailing_id,
            holds.c.state == HoldState.ACTIVE.value,
            holds.c.expires_at > cut_off,
        )
        .values(expires_at=cut_off)
        .returning(holds.c.id)
    )
    return len(result.all())


async def record_rolled(conn: AsyncConnection, values: Mapping[str, Any]) -> None:
    await conn.execute(insert(rolled_bookings).values(dict(values)))


async def alternative_sailings(
    conn: AsyncConnection,
    *,
    original: AnyRow,
    load: Load,
    size_type: str,
    units: int,
    now: ColumnElement[datetime],
    limit: int,
) -> list[AnyRow]:
    """Open sailings of the same lane leaving after ``original``, before their cut-off, with an
    allotment (FCL, ``units`` free) or pool (LCL) of ``size_type``; soonest first, the same
    carrier first on a tie. The claim decides whether the space is really there."""
    s = sailings
    query = (
        select(s.c.id, s.c.etd, s.c.carrier_id)
        .where(
            s.c.port_of_loading == original.port_of_loading,
            s.c.port_of_discharge == original.port_of_discharge,
            s.c.etd > original.etd,
            s.c.status == SailingStatus.OPEN.value,
            s.c.cut_off > now,
            s.c.id != original.id,
        )
        .order_by(s.c.etd, (s.c.carrier_id != original.carrier_id), s.c.id)
        .limit(limit)
    )
    if load is Load.FCL:
        query = query.join(allotments, allotments.c.sailing_id == s.c.id).where(
            allotments.c.size_type == size_type, units_free >= units
        )
    else:
        query = query.join(pools, pools.c.sailing_id == s.c.id).where(pools.c.size_type == size_type)
    return list((await conn.execute(query)).all())


# --- releases of unused allotment -----------------------------------------------------------


async def allotments_due_for_release(
    conn: AsyncConnection, now: ColumnElement[datetime], dialect: str
) -> list[AnyRow]:
    """Allotments of open sailings past their carrier's release deadline and before ETD,
    with unsold units, and the deadline's date."""
    if dialect == "postgresql":
        deadline = sailings.c.etd - func.make_interval(0, 0, 0, carriers.c.release_deadline_days)
        deadline_date = func.to_char(deadline, "YYYY-MM-DD")
    else:
        days = cast(carriers.c.release_deadline_days, String)
        modifier = literal("-", String).concat(days).concat(" days")
        deadline = func.strftime("%Y-%m-%d %H:%M:%f", sailings.c.etd, modifier).concat("000")
        deadline_date = func.strftime("%Y-%m-%d", sailings.c.etd, modifier)
    query = (
        select(
            allotments.c.id,
            allotments.c.size_type,
            units_free.label("units_unsold"),
            deadline_date.label("deadline_date"),
        )
        .join(sailings, sailings.c.id == allotments.c.sailing_id)
        .join(carriers, carriers.c.id == sailings.c.carrier_id)
        .where(
            sailings.c.status == SailingStatus.OPEN.value,
            sailings.c.etd > now,
            deadline <= now,
            units_free > 0,
        )
        .order_by(allotments.c.id)
    )
    return list((await conn.execute(query)).all())


async def record_pending_release(conn: AsyncConnection, values: Mapping[str, Any]) -> bool:
    """Record a release before calling the carrier; False when this release_id exists."""
    statement = insert_ignoring_conflicts(conn.dialect.name, releases, ["release_id"])
    result = await conn.execute(statement.values(dict(values)).returning(releases.c.id))
    return result.first() is not None


class EarlierRelease(msgspec.Struct, frozen=True, kw_only=True):
    release_id: str
    state: str


async def releases_of(conn: AsyncConnection, allotment_id: uuid.UUID) -> list[EarlierRelease]:
    """Every release recorded for this allotment, pending or released."""
    query = select(releases.c.release_id, releases.c.state).where(releases.c.allotment_id == allotment_id)
    return [EarlierRelease(release_id=row.release_id, state=row.state) for row in await conn.execute(query)]


async def pending_releases(conn: AsyncConnection) -> list[AnyRow]:
    """Releases not confirmed yet, with the sailing's natural key and the carrier."""
    query = (
        select(
            releases,
            allotments.c.size_type,
            sailings.c.voyage_number,
            sailings.c.port_of_loading,
            sailings.c.port_of_discharge,
            carriers.c.scac,
            carriers.c.adapter_kind,
            carriers.c.adapter_settings,
        )
        .join(allotments, allotments.c.id == releases.c.allotment_id)
        .join(sailings, sailings.c.id == allotments.c.sailing_id)
        .join(carriers, carriers.c.id == sailings.c.carrier_id)
        .where(releases.c.state == "pending")
        .order_by(releases.c.created_at, releases.c.id)
    )
    return list((await conn.execute(query)).all())


async def confirm_release(
    conn: AsyncConnection, release_id: uuid.UUID, released: int, withdrawn: int, at: datetime
) -> bool:
    """pending -> released; False when another run confirmed it first."""
    result = await conn.execute(
        update(releases)
        .where(releases.c.id == release_id, releases.c.state == "pending")
        .values(state="released", units_released=released, units_withdrawn=withdrawn, released_at=at)
        .returning(releases.c.id)
    )
    return result.first() is not None


async def record_release_failure(conn: AsyncConnection, release_id: uuid.UUID, error: str) -> None:
    await conn.execute(
        update(releases)
        .where(releases.c.id == release_id, releases.c.state == "pending")
        .values(attempts=releases.c.attempts + 1, last_error=error[:500])
    )


async def lock_allotment_unsold(conn: AsyncConnection, allotment_id: uuid.UUID) -> int:
    """Unsold units of an allotment, its row locked until the transaction ends."""
    query = select(units_free).where(allotments.c.id == allotment_id).with_for_update()
    return int((await conn.execute(query)).scalar_one())


async def lower_offered(conn: AsyncConnection, allotment_id: uuid.UUID, by: int, at: datetime) -> None:
    """The carrier's figure drops by what it took back (no cut to reconcile next sync)."""
    await conn.execute(
        update(offers)
        .where(offers.c.allotment_id == allotment_id)
        .values(
            units_offered=case((offers.c.units_offered > by, offers.c.units_offered - by), else_=0),
            updated_at=at,
        )
    )


# --- carrier bookings -----------------------------------------------------------------------


async def unsettled_carrier_bookings(conn: AsyncConnection, limit: int) -> list[AnyRow]:
    """Carrier bookings the carrier has yet to decide on, oldest update first, with the carrier."""
    query = (
        select(
            carrier_bookings,
            carriers.c.scac,
            carriers.c.adapter_kind,
            carriers.c.adapter_settings,
        )
        .join(carriers, carriers.c.id == carrier_bookings.c.carrier_id)
        .where(carrier_bookings.c.status.in_(UNSETTLED_CARRIER_STATUSES))
        .order_by(carrier_bookings.c.updated_at, carrier_bookings.c.id)
        .limit(limit)
    )
    return list((await conn.execute(query)).all())


async def move_carrier_booking(
    conn: AsyncConnection, row_id: uuid.UUID, from_status: str, values: Mapping[str, Any]
) -> AnyRow | None:
    """Apply a polled status only if the stored one is still ``from_status``: a notification or
    another poller that got there first wins, and the change is applied once."""
    result = await conn.execute(
        update(carrier_bookings)
        .where(carrier_bookings.c.id == row_id, carrier_bookings.c.status == from_status)
        .values(dict(values))
        .returning(*carrier_bookings.c)
    )
    return result.first()


async def booking_owner(conn: AsyncConnection, reference: str | None) -> uuid.UUID | None:
    if reference is None:
        return None
    query = select(bookings.c.organisation_id).where(bookings.c.reference == reference)
    return (await conn.execute(query)).scalar_one_or_none()


# --- what carriers report of bookings placed with them ------------------------------------


async def decline_booking(
    conn: AsyncConnection, reference: str, now: ColumnElement[datetime]
) -> BookingRow | None:
    """Live (rollable) -> declined, version bumped; None when the booking was not live, or
    was declined already: the transition happens once, whoever reports it."""
    statement = (
        update(bookings)
        .where(bookings.c.reference == reference, bookings.c.state.in_(ROLLABLE))
        .values(state=BookingState.DECLINED.value, updated_at=now, version=bookings.c.version + 1)
        .returning(*bookings.c)
    )
    row = (await conn.execute(statement)).first()
    return None if row is None else booking_row(row)


async def declined_at_carrier(conn: AsyncConnection, limit: int) -> list[AnyRow]:
    """Carrier bookings the carrier rejected or declined whose booking here is still live
    (a notification stored them; polling and the dispatcher apply theirs at once)."""
    query = (
        select(carrier_bookings.c.booking_reference, carrier_bookings.c.status, carrier_bookings.c.reason)
        .join(bookings, bookings.c.reference == carrier_bookings.c.booking_reference)
        .where(
            carrier_bookings.c.status.in_(DECLINING_STATUSES),
            bookings.c.state.in_(ROLLABLE),
        )
        .limit(limit)
    )
    return list((await conn.execute(query)).all())


async def masters_behind_carrier(conn: AsyncConnection, limit: int) -> list[AnyRow]:
    """Master bookings whose carrier booking says something their container does not yet."""
    c = containers
    query = (
        select(
            c.c.id,
            carrier_bookings.c.carrier_reference,
            carrier_bookings.c.carrier_booking_number,
            carrier_bookings.c.status,
            carrier_bookings.c.reason,
        )
        .join(sailings, sailings.c.id == c.c.sailing_id)
        .join(
            carrier_bookings,
            and_(
                carrier_bookings.c.carrier_id == sailings.c.carrier_id,
                carrier_bookings.c.carrier_reference == c.c.master_carrier_reference,
            ),
        )
        .where(
            or_(
                c.c.master_status != master_status_of(carrier_bookings.c.status),
                and_(
                    carrier_bookings.c.carrier_booking_number.is_not(None),
                    or_(
                        c.c.master_carrier_booking_number.is_(None),
                        c.c.master_carrier_booking_number != carrier_bookings.c.carrier_booking_number,
                    ),
                ),
            ),
            c.c.master_status.not_in(FINAL_MASTER_STATUSES),
        )
        .limit(limit)
    )
    return list((await conn.execute(query)).all())


def master_status_of(status: Any) -> Any:
    """A container's ``master_status`` for a carrier booking status (SQL or Python value)."""
    if isinstance(status, str):
        return MASTER_STATUS_BY_CARRIER_STATUS.get(status, "requested")
    return case(MASTER_STATUS_BY_CARRIER_STATUS, value=status, else_=literal("requested"))


async def record_master_report(
    conn: AsyncConnection, container_id: uuid.UUID, values: Mapping[str, Any]
) -> bool:
    """Store the carrier's word on a master booking, unless the container's master status is
    final already (a late report never reopens it)."""
    statement = (
        update(containers)
        .where(containers.c.id == container_id, containers.c.master_status.not_in(FINAL_MASTER_STATUSES))
        .values(dict(values))
        .returning(containers.c.id)
    )
    return (await conn.execute(statement)).first() is not None
