"""Closing LCL pools at their LCL cut-off: freeze, release holds, pack into containers, issue
house bills; and the operator's preview and re-run.

A close is one transaction per pool. It locks in the global order (the pool's active holds and
live bookings, then the pool with ``SKIP LOCKED`` on PostgreSQL), stamps ``closed_at`` and does
the whole close before committing, so a second replica, or a second run, finds the pool closed
and does nothing. From the stamp on, the claim statements refuse the pool (``pool-closed``).

What the counters promised, the plan delivers (invariant 5): the plan may use the containers
the pool drew plus those still free in its allotment; what it needs beyond the pool's are drawn
in the same transaction; what still does not fit is rolled, newest first, with a hold offered on
the next sailing of the lane and a ``booking.rolled`` event saying why. Nothing is dropped.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

import msgspec
import structlog
from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncConnection

from app.consolidation import masters, repository
from app.consolidation.repository import ContainerRow, PoolToClose
from app.consolidation.schemas import (
    CloseReport,
    PlannedContainerView,
    PoolConsolidation,
    RolledView,
    SailingConsolidation,
)
from app.db import transaction
from app.domain import house_bills
from app.domain.consolidation import (
    ConsolidationPlan,
    ContainerSpec,
    PlannedContainer,
    PoolBooking,
    PoolCargo,
    RolledBooking,
    plan_consolidation,
)
from app.domain.consolidation.closing import lcl_cut_off, master_reference, pool_booking
from app.domain.errors import InvalidRequest, NotFound
from app.domain.units import from_milli
from app.events import outbox
from app.inventory import repository as inventory
from app.reconcile import alternatives
from app.reconcile import repository as reconcile
from app.reconcile.shrink import announce_rolled
from app.reservations import repository as reservations
from app.reservations.repository import BookingRow, HoldRow
from app.reservations.views import hold_event
from app.runtime import Runtime

log = structlog.get_logger("slotpool.consolidation")
# The cause on events of holds released and bookings rolled by a close.
POOL_CLOSED = "pool_closed"
# A booking whose stored cargo the planner cannot read (an unknown IMDG class) is rolled, never
# packed blind nor dropped.
CARGO_UNREADABLE = "cargo-unreadable"
# Leftover holds released per job run (see release_leftover_holds).
LEFTOVER_BATCH = 500


class ClosedPool(msgspec.Struct, kw_only=True):
    """What one close (or re-plan) did."""

    pool_id: uuid.UUID
    containers: int
    containers_drawn: int
    bookings_placed: int
    bookings_rolled: int
    holds_released: int


# --- the job ----------------------------------------------------------------------------------


async def close_due_pools(rt: Runtime) -> CloseReport:
    """Close every pool whose LCL cut-off has passed (the ``close-pools`` job; safe on every
    replica), then release holds a racing confirm left on closed pools."""
    async with transaction(rt.engine, read_only=True) as conn:
        candidates = await repository.open_pools(conn, rt.clock.now_sql(rt.dialect))
    report = CloseReport()
    for pool in candidates:
        if lcl_cut_off(pool.cut_off, pool.cut_offs) > pool.now:
            continue
        try:
            closed = await close_pool(rt, pool.id)
        except Exception:
            # Rolled back whole; one pool that cannot close must not hold up the others.
            log.exception("pool.close_failed", pool_id=str(pool.id))
            report.failed += 1
            continue
        if closed is None:
            report.skipped += 1
            continue
        report.pools_closed += 1
        report.containers += closed.containers
        report.bookings_rolled += closed.bookings_rolled
    report.leftover_holds_released = await release_leftover_holds(rt)
    return report


async def close_pool(rt: Runtime, pool_id: uuid.UUID) -> ClosedPool | None:
    """Close one pool now, whatever its cut-off; None when it is closed already or another
    transaction holds it (PostgreSQL: the next run tries again)."""
    async with transaction(rt.engine) as conn:
        now_sql = rt.clock.now_sql(rt.dialect)
        # The lock order: holds and bookings, then the pool. Waiting here lets a confirm, an
        # amendment or a cancellation in flight finish first; the close then sees its outcome.
        await repository.active_holds(conn, pool_id)
        await repository.live_bookings(conn, pool_id, lock=True)
        pool = await repository.lock_pool(conn, pool_id, now_sql, open_only=True)
        if pool is None:
            return None
        closed_at = await repository.mark_closed(conn, pool.id, now_sql)
        # Holds placed since the first lock are committed and taken too; one being confirmed
        # right now is skipped: its confirm finds the pool closed and fails, the hold is released
        # by the next run (release_leftover_holds).
        released = await _release(
            conn, await repository.active_holds(conn, pool.id, skip_locked=True), now_sql
        )
        live = await repository.live_bookings(conn, pool.id)
        closed = await _pack(rt, conn, pool, live, [], closed_at)
        closed.holds_released = len(released)
        await _announce(conn, pool, closed, closed_at, replanned=False)
    log.info("pool.closed", **msgspec.to_builtins(closed))
    return closed


async def release_leftover_holds(rt: Runtime) -> int:
    """Release active holds on closed pools (a confirm racing a close leaves its hold active)."""
    async with transaction(rt.engine) as conn:
        now_sql = rt.clock.now_sql(rt.dialect)
        held = await repository.active_holds_on_closed_pools(conn, LEFTOVER_BATCH)
        released = await _release(conn, held, now_sql)
    return len(released)


async def _release(
    conn: AsyncConnection, held: Sequence[HoldRow], now_sql: ColumnElement[datetime]
) -> list[HoldRow]:
    """Release these holds with ``hold.released`` (reason ``pool_closed``); their space back."""
    if not held:
        return []
    now = await repository.database_time(conn, now_sql)
    released = await reconcile.release_holds(conn, [row.id for row in held], now_sql)
    await reservations.give_back(conn, (row.quantity for row in released), "held")
    events = []
    for row in sorted(released, key=lambda r: r.id):
        event = hold_event("hold.released", row)
        event.payload["reason"] = POOL_CLOSED
        events.append(event)
    await outbox.record(conn, events, now)
    return released


# --- packing ----------------------------------------------------------------------------------


def _spec(pool: PoolToClose) -> ContainerSpec:
    return ContainerSpec(
        size_type=pool.size_type, usable_dm3=pool.container_volume_dm3, payload_g=pool.container_weight_g
    )


class Left(msgspec.Struct, frozen=True, kw_only=True):
    """A live booking left out of the containers, and why (a RollReason or CARGO_UNREADABLE)."""

    reference: str
    reason: str
    detail: str


def cargo_of(
    pool: PoolToClose, live: Sequence[BookingRow], budget: int | None
) -> tuple[PoolCargo, list[Left]]:
    """The pool as the planner sees it, and the bookings whose stored cargo it cannot read."""
    packable: list[PoolBooking] = []
    unreadable: list[Left] = []
    for row in live:
        try:
            packable.append(
                pool_booking(row.reference, row.volume_dm3, row.weight_g, row.created_at, row.cargo)
            )
        except (InvalidRequest, KeyError, ValueError, TypeError) as error:
            detail = getattr(error, "detail", None) or str(error)
            unreadable.append(Left(reference=row.reference, reason=CARGO_UNREADABLE, detail=detail))
    return PoolCargo(container=_spec(pool), bookings=tuple(packable), container_budget=budget), unreadable


def plan_for(pool: PoolToClose, live: Sequence[BookingRow]) -> tuple[ConsolidationPlan, list[Left]]:
    """The plan within the containers the pool drew plus those its allotment still has free,
    and every booking it leaves out (rolled by the plan, or unreadable), newest first."""
    cargo, unreadable = cargo_of(pool, live, pool.containers + max(pool.units_drawable, 0))
    plan = plan_consolidation(cargo)
    return plan, _left_out(plan.rolled, unreadable)


def _left_out(rolled: Sequence[RolledBooking], unreadable: list[Left]) -> list[Left]:
    return [Left(reference=r.reference, reason=str(r.reason), detail=r.detail) for r in rolled] + unreadable


async def _pack(
    rt: Runtime,
    conn: AsyncConnection,
    pool: PoolToClose,
    live: Sequence[BookingRow],
    existing: Sequence[ContainerRow],
    at: datetime,
) -> ClosedPool:
    """Plan the live bookings, draw the containers the plan needs, roll what does not fit,
    write the containers and put each placed booking into its one container."""
    plan, left = plan_for(pool, live)
    drawn = await _draw(conn, pool, len(plan.containers) - pool.containers)
    if pool.containers + drawn < len(plan.containers):
        # The allotment's free units went to FCL holds meanwhile: plan within what we have.
        cargo, unreadable = cargo_of(pool, live, pool.containers + drawn)
        plan = plan_consolidation(cargo)
        left = _left_out(plan.rolled, unreadable)
    by_reference = {row.reference: row for row in live}
    numbered = _number(plan, existing, by_reference)
    rows = _container_rows(pool, numbered, existing, at)
    await repository.insert_containers(conn, [row for row, new in rows if new])
    for row, new in rows:
        if not new:
            await repository.update_container_fill(conn, row)
    await _place(conn, pool, numbered, by_reference, at)
    rolled = await _roll(rt, conn, pool, left, by_reference, at)
    await _tell_carriers(rt, conn, rows, existing, live, numbered, by_reference, at)
    return ClosedPool(
        pool_id=pool.id,
        containers=len(plan.containers),
        containers_drawn=drawn,
        bookings_placed=sum(len(planned.bookings) for planned in plan.containers),
        bookings_rolled=rolled,
        holds_released=0,
    )


async def _tell_carriers(
    rt: Runtime,
    conn: AsyncConnection,
    rows: Sequence[tuple[ContainerRow, bool]],
    existing: Sequence[ContainerRow],
    live: Sequence[BookingRow],
    numbered: Sequence[tuple[PlannedContainer, ContainerRow | None, int]],
    by_reference: dict[str, BookingRow],
    at: datetime,
) -> None:
    """A re-plan's changes to containers whose master booking was asked for: one the re-plan
    emptied is cancelled with its carrier, one whose bookings or fill changed is amended (with
    the cargo now aboard). Masters still to request go out with what they carry then."""
    before = {row.id: row for row in existing}
    aboard_before: dict[uuid.UUID, set[uuid.UUID]] = {}
    for booking in live:
        if booking.container_id is not None:
            aboard_before.setdefault(booking.container_id, set()).add(booking.id)
    aboard_after = {
        current.id: {by_reference[reference].id for reference in planned.bookings}
        for planned, current, _number in numbered
        if current is not None
    }
    for row, new in rows:
        previous = before.get(row.id)
        if new or previous is None or previous.master_status not in masters.ASKED:
            continue
        if row.volume_dm3 == 0 and row.weight_g == 0:
            await masters.record(conn, rt.settings, row, "cancel", at)
        elif _fill_of(row) != _fill_of(previous) or aboard_after.get(row.id) != aboard_before.get(row.id):
            await masters.record(conn, rt.settings, row, "amend", at)


def _fill_of(row: ContainerRow) -> tuple[object, ...]:
    return (
        row.volume_dm3,
        row.weight_g,
        sorted(row.dangerous_goods_classes),
        row.set_point_c,
        row.non_operating_reefer,
    )


async def _draw(conn: AsyncConnection, pool: PoolToClose, wanted: int) -> int:
    """Draw up to ``wanted`` containers from the allotment into the pool (the hold path's draw);
    how many came."""
    if wanted <= 0:
        return 0
    counters = await inventory.pool_counters(conn, pool.id)
    drawn = 0
    while drawn < wanted and await inventory.draw_container(conn, counters):
        drawn += 1
    return drawn


def _number(
    plan: ConsolidationPlan, existing: Sequence[ContainerRow], by_reference: dict[str, BookingRow]
) -> list[tuple[PlannedContainer, ContainerRow | None, int]]:
    """Each planned container with the stored container it continues (the one already holding
    most of its bookings) and its number: a re-plan keeps numbers and master references where
    it can; new containers take numbers after the highest ever used in the pool."""
    overlaps = []
    for planned in plan.containers:
        aboard = [by_reference[r].container_id for r in planned.bookings]
        for row in existing:
            count = sum(1 for container_id in aboard if container_id == row.id)
            if count:
                overlaps.append((count, -row.number, planned.number, row))
    taken: dict[int, ContainerRow] = {}
    used: set[uuid.UUID] = set()
    for _count, _number_key, planned_number, row in sorted(overlaps, key=lambda o: o[:3], reverse=True):
        if planned_number not in taken and row.id not in used:
            taken[planned_number] = row
            used.add(row.id)
    next_number = max((row.number for row in existing), default=0) + 1
    numbered: list[tuple[PlannedContainer, ContainerRow | None, int]] = []
    for planned in plan.containers:
        kept = taken.get(planned.number)
        if kept is None:
            numbered.append((planned, None, next_number))
            next_number += 1
        else:
            numbered.append((planned, kept, kept.number))
    return numbered


def _container_rows(
    pool: PoolToClose,
    numbered: Sequence[tuple[PlannedContainer, ContainerRow | None, int]],
    existing: Sequence[ContainerRow],
    at: datetime,
) -> list[tuple[ContainerRow, bool]]:
    """Rows to write: new containers (True), kept ones with their new fill, and kept ones the
    re-plan left empty (fill zero; a master booking never sent is cancelled)."""
    rows: list[tuple[ContainerRow, bool]] = []
    kept: set[uuid.UUID] = set()
    for planned, current, number in numbered:
        row = ContainerRow(
            id=uuid.uuid4() if current is None else current.id,
            pool_id=pool.id,
            sailing_id=pool.sailing_id,
            number=number,
            size_type=pool.size_type,
            volume_dm3=planned.volume_dm3,
            weight_g=planned.weight_g,
            dangerous_goods_classes=list(planned.dangerous_goods_classes),
            set_point_c=planned.set_point_c,
            non_operating_reefer=planned.non_operating_reefer,
            master_reference=master_reference(pool.voyage_number, pool.size_type, pool.id, number),
            master_status="to_request",
            master_carrier_reference=None,
            master_carrier_booking_number=None,
            master_detail=None,
            created_at=at,
            updated_at=at,
        )
        if current is not None:
            # Kept: its number, master reference and carrier side stay; only the fill moves.
            kept.add(current.id)
            row = msgspec.structs.replace(
                current,
                volume_dm3=row.volume_dm3,
                weight_g=row.weight_g,
                dangerous_goods_classes=row.dangerous_goods_classes,
                set_point_c=row.set_point_c,
                non_operating_reefer=row.non_operating_reefer,
                updated_at=at,
            )
        rows.append((row, current is None))
    for current in existing:
        if current.id in kept or (current.volume_dm3 == 0 and current.weight_g == 0):
            continue
        status = "cancelled" if current.master_status == "to_request" else current.master_status
        emptied = msgspec.structs.replace(
            current,
            volume_dm3=0,
            weight_g=0,
            dangerous_goods_classes=[],
            set_point_c=None,
            master_status=status,
            updated_at=at,
        )
        rows.append((emptied, False))
    return rows


async def _place(
    conn: AsyncConnection,
    pool: PoolToClose,
    numbered: Sequence[tuple[PlannedContainer, ContainerRow | None, int]],
    by_reference: dict[str, BookingRow],
    at: datetime,
) -> None:
    """Each placed booking into its container (one column: never in two), with a house bill
    number if it has none yet (numbers are never reissued)."""
    ids = {number: (current.id if current else None) for _planned, current, number in numbered}
    containers = await repository.containers_of(conn, [pool.id])
    id_of = {row.number: row.id for row in containers}
    assignments: list[tuple[BookingRow, uuid.UUID]] = []
    for planned, _current, number in numbered:
        container_id = ids[number] or id_of[number]
        assignments.extend((by_reference[reference], container_id) for reference in planned.bookings)
    needing = [booking for booking, _ in assignments if booking.house_bill_number is None]
    first = await repository.next_house_bill_sequences(conn, len(needing)) if needing else 0
    numbers = {
        booking.id: house_bills.house_bill_number(first + n, pool.etd.date())
        for n, booking in enumerate(needing)
    }
    changed = [
        (booking.id, container_id, booking.house_bill_number or numbers[booking.id])
        for booking, container_id in assignments
        if booking.container_id != container_id or booking.house_bill_number is None
    ]
    await repository.place_bookings(conn, changed, at)


async def _roll(
    rt: Runtime,
    conn: AsyncConnection,
    pool: PoolToClose,
    rolled: Sequence[Left],
    by_reference: dict[str, BookingRow],
    at: datetime,
) -> int:
    """Roll what the plan left out, newest first: space freed, a hold offered on the next
    sailing of the lane, ``booking.rolled`` with the reason."""
    if not rolled:
        return 0
    now_sql = rt.clock.now_sql(rt.dialect)
    why = {r.reference: r for r in rolled}
    order = sorted(rolled, key=lambda r: (by_reference[r.reference].created_at, r.reference), reverse=True)
    rows = await reconcile.roll_bookings(conn, [by_reference[r.reference].id for r in order], now_sql)
    await reservations.give_back(conn, (row.quantity for row in rows), "booked")
    sailing = await inventory.get_sailing(conn, pool.sailing_id)
    assert sailing is not None
    rank = {by_reference[r.reference].id: n for n, r in enumerate(order)}
    for booking in sorted(rows, key=lambda row: rank[row.id]):
        offered = await alternatives.offer_alternative(rt, conn, booking, sailing)
        reason = why[booking.reference]
        await announce_rolled(
            conn,
            booking,
            POOL_CLOSED,
            offered,
            at,
            reason=reason.reason,
            detail=reason.detail,
        )
    return len(rows)


async def _announce(
    conn: AsyncConnection, pool: PoolToClose, closed: ClosedPool, at: datetime, *, replanned: bool
) -> None:
    payload = {
        "pool_id": str(pool.id),
        "sailing_id": str(pool.sailing_id),
        "voyage_number": pool.voyage_number,
        "size_type": pool.size_type,
        "closed_at": at.isoformat(),
        "containers": closed.containers,
        "containers_drawn": closed.containers_drawn,
        "bookings_placed": closed.bookings_placed,
        "bookings_rolled": closed.bookings_rolled,
        "holds_released": closed.holds_released,
        "replanned": replanned,
    }
    await outbox.record(conn, [outbox.PendingEvent("pool.closed", pool.id, None, payload)], at)


# --- the operator's preview and re-run ------------------------------------------------------------


async def preview(rt: Runtime, sailing_id: uuid.UUID) -> SailingConsolidation:
    """Each pool of the sailing: before its close the plan it would get now (a dry run), after
    it the stored containers with their live bookings."""
    async with transaction(rt.engine, read_only=True) as conn:
        pools = await repository.pools_of_sailing(conn, sailing_id, rt.clock.now_sql(rt.dialect))
        if not pools and await inventory.get_sailing(conn, sailing_id) is None:
            raise NotFound("sailing", sailing_id)
        views = []
        for pool in pools:
            live = await repository.live_bookings(conn, pool.id)
            if pool.closed_at is None:
                views.append(_planned_view(pool, live))
            else:
                stored = await repository.containers_of(conn, [pool.id])
                views.append(_stored_view(pool, live, stored))
    return SailingConsolidation(sailing_id=sailing_id, pools=views)


async def rerun(rt: Runtime, sailing_id: uuid.UUID) -> SailingConsolidation:
    """Close the sailing's open pools now; re-plan its closed ones (numbers and master
    references kept where the same bookings stay together)."""
    async with transaction(rt.engine, read_only=True) as conn:
        pools = await repository.pools_of_sailing(conn, sailing_id, rt.clock.now_sql(rt.dialect))
        if not pools and await inventory.get_sailing(conn, sailing_id) is None:
            raise NotFound("sailing", sailing_id)
    for pool in pools:
        if pool.closed_at is None:
            await close_pool(rt, pool.id)
        else:
            await replan_pool(rt, pool.id)
    return await preview(rt, sailing_id)


async def replan_pool(rt: Runtime, pool_id: uuid.UUID) -> ClosedPool | None:
    """Pack a closed pool's live bookings again (after cancellations, say)."""
    async with transaction(rt.engine) as conn:
        now_sql = rt.clock.now_sql(rt.dialect)
        live = await repository.live_bookings(conn, pool_id, lock=True)
        pool = await repository.lock_pool(conn, pool_id, now_sql, open_only=False)
        if pool is None or pool.closed_at is None:
            return None
        existing = await repository.containers_of(conn, [pool.id], lock=True)
        replanned = await _pack(rt, conn, pool, live, existing, pool.now)
        await _announce(conn, pool, replanned, pool.now, replanned=True)
    log.info("pool.replanned", **msgspec.to_builtins(replanned))
    return replanned


def _planned_view(pool: PoolToClose, live: Sequence[BookingRow]) -> PoolConsolidation:
    plan, left = plan_for(pool, live)
    containers = [
        _container_view(plan.container, planned, planned.number, None, list(planned.bookings))
        for planned in plan.containers
    ]
    rolled = [RolledView(reference=r.reference, reason=r.reason, detail=r.detail) for r in left]
    return PoolConsolidation(
        pool_id=pool.id,
        size_type=pool.size_type,
        state="open",
        lcl_cut_off=lcl_cut_off(pool.cut_off, pool.cut_offs),
        closed_at=None,
        containers_drawn=pool.containers,
        containers_to_draw=max(len(plan.containers) - pool.containers, 0),
        containers=containers,
        rolled=rolled,
    )


def _stored_view(
    pool: PoolToClose, live: Sequence[BookingRow], stored: Sequence[ContainerRow]
) -> PoolConsolidation:
    spec = _spec(pool)
    aboard: dict[uuid.UUID, list[str]] = {}
    for booking in live:
        if booking.container_id is not None:
            aboard.setdefault(booking.container_id, []).append(booking.reference)
    containers = []
    for row in stored:
        if row.volume_dm3 == 0 and row.weight_g == 0:
            continue
        planned = PlannedContainer(
            number=row.number,
            size_type=row.size_type,
            bookings=tuple(aboard.get(row.id, [])),
            volume_dm3=row.volume_dm3,
            weight_g=row.weight_g,
            dangerous_goods_classes=tuple(row.dangerous_goods_classes),
            set_point_c=row.set_point_c,
            non_operating_reefer=row.non_operating_reefer,
        )
        containers.append(
            _container_view(spec, planned, row.number, row.master_reference, aboard.get(row.id, []))
        )
    return PoolConsolidation(
        pool_id=pool.id,
        size_type=pool.size_type,
        state="closed",
        lcl_cut_off=lcl_cut_off(pool.cut_off, pool.cut_offs),
        closed_at=pool.closed_at,
        containers_drawn=pool.containers,
        containers_to_draw=0,
        containers=containers,
        rolled=[],
    )


def _container_view(
    spec: ContainerSpec, planned: PlannedContainer, number: int, reference: str | None, bookings: list[str]
) -> PlannedContainerView:
    volume_percent, weight_percent = _fill(spec, planned)
    return PlannedContainerView(
        number=number,
        master_reference=reference,
        size_type=planned.size_type,
        cbm=from_milli(planned.volume_dm3),
        kg=from_milli(planned.weight_g),
        volume_percent=volume_percent,
        weight_percent=weight_percent,
        dangerous_goods_classes=list(planned.dangerous_goods_classes),
        set_point_c=planned.set_point_c,
        non_operating_reefer=planned.non_operating_reefer,
        bookings=bookings,
    )


def _fill(spec: ContainerSpec, planned: PlannedContainer) -> tuple[Decimal, Decimal]:
    plan = ConsolidationPlan(container=spec, containers=(planned,), rolled=(), lower_bound=0)
    return plan.fill_percent(planned)
