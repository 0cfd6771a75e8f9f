"""Checks DESIGN invariants 1-4 over the whole database and lists every violation.

1. ``0 <= held + booked <= total`` on every counter.
2. Every counter equals the sum over its active holds and live bookings (and pool draws).
3. Each hold moved through its state machine once: one ``hold.created`` event, and exactly one
   ending event matching its final state; each confirmed hold has exactly one booking.
4. A booking's price is its quantity at the quote locked in its hold.
5. Every live LCL booking of a closed pool is in exactly one of the pool's containers, and each
   container keeps its volume, payload, segregation and reefer rules
   (app.domain.consolidation.check_plan over the stored containers).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import msgspec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db import table_of, transaction
from app.domain import pricing
from app.domain.consolidation import (
    ConsolidationPlan,
    ContainerSpec,
    PlannedContainer,
    PoolBooking,
    PoolCargo,
    check_plan,
)
from app.domain.consolidation.cargo import hazard_division
from app.domain.consolidation.closing import pool_booking
from app.domain.errors import InvalidRequest
from app.domain.states import LIVE_BOOKING_STATES, HoldState, Load
from app.domain.units import from_milli
from app.events.models import OutboxEvent
from app.inventory import repository as inventory
from app.reservations.repository import BookingRow, booking_row, bookings, containers, holds
from app.runtime import Runtime

events = table_of(OutboxEvent)
_ENDING_EVENT = {
    HoldState.CONFIRMED: "hold.confirmed",
    HoldState.RELEASED: "hold.released",
    HoldState.EXPIRED: "hold.expired",
}


class Violation(msgspec.Struct, kw_only=True, frozen=True):
    invariant: int
    subject: str
    detail: str


class InvariantReport(msgspec.Struct, kw_only=True, frozen=True):
    ok: bool
    violations: list[Violation]


async def check_invariants(rt: Runtime) -> list[Violation]:
    async with transaction(rt.engine, read_only=True) as conn:
        found = await _counters(conn)
        found += await _transitions(conn)
        found += await _prices(conn)
        found += await _consolidation(conn)
    return found


async def _sums(
    conn: AsyncConnection, table: Any, key: Any, states: Any, columns: list[str], load: Load
) -> dict[Any, tuple[int, ...]]:
    """Sums of ``columns`` per counter over rows in ``states`` of one load."""
    query = (
        select(key, *(func.coalesce(func.sum(table.c[c]), 0) for c in columns))
        .where(table.c.state.in_(states), table.c.load == load.value, key.is_not(None))
        .group_by(key)
    )
    return {row[0]: tuple(int(v) for v in row[1:]) for row in await conn.execute(query)}


async def _counters(conn: AsyncConnection) -> list[Violation]:
    found: list[Violation] = []
    live = [s.value for s in LIVE_BOOKING_STATES]
    active = [HoldState.ACTIVE.value]
    # Only FCL holds and bookings count against units; LCL ones count in their pool.
    fcl_held = await _sums(conn, holds, holds.c.allotment_id, active, ["units"], Load.FCL)
    fcl_booked = await _sums(conn, bookings, bookings.c.allotment_id, live, ["units"], Load.FCL)
    a, p = inventory.allotments, inventory.pools
    drawn = {
        row.allotment_id: int(row.containers)
        for row in await conn.execute(
            select(p.c.allotment_id, func.sum(p.c.containers).label("containers")).group_by(p.c.allotment_id)
        )
    }
    for row in await conn.execute(select(a)):
        subject = f"allotment {row.id}"
        if min(row.units_held, row.units_booked, row.units_pooled) < 0 or (
            row.units_held + row.units_booked + row.units_pooled > row.units_total
        ):
            found.append(Violation(invariant=1, subject=subject, detail=f"counters out of bounds: {row}"))
        expected = {
            "units_held": fcl_held.get(row.id, (0,))[0],
            "units_booked": fcl_booked.get(row.id, (0,))[0],
            "units_pooled": drawn.get(row.id, 0),
        }
        found += _compare(subject, row, expected)
    lcl_held = await _sums(conn, holds, holds.c.pool_id, active, ["volume_dm3", "weight_g"], Load.LCL)
    lcl_booked = await _sums(conn, bookings, bookings.c.pool_id, live, ["volume_dm3", "weight_g"], Load.LCL)
    for row in await conn.execute(select(p)):
        subject = f"pool {row.id}"
        for dim in ("volume", "weight"):
            unit = "dm3" if dim == "volume" else "g"
            held, booked = row._mapping[f"{dim}_held_{unit}"], row._mapping[f"{dim}_booked_{unit}"]
            if min(held, booked) < 0 or held + booked > row._mapping[f"{dim}_total_{unit}"]:
                found.append(Violation(invariant=1, subject=subject, detail=f"{dim} out of bounds"))
        vh, wh = lcl_held.get(row.id, (0, 0))
        vb, wb = lcl_booked.get(row.id, (0, 0))
        expected = {
            "volume_held_dm3": vh,
            "weight_held_g": wh,
            "volume_booked_dm3": vb,
            "weight_booked_g": wb,
            "volume_total_dm3": row.containers * row.container_volume_dm3,
            "weight_total_g": row.containers * row.container_weight_g,
        }
        found += _compare(subject, row, expected)
    return found


def _compare(subject: str, row: Any, expected: dict[str, int]) -> list[Violation]:
    return [
        Violation(invariant=2, subject=subject, detail=f"{name} is {row._mapping[name]}, ledger says {value}")
        for name, value in expected.items()
        if row._mapping[name] != value
    ]


async def _transitions(conn: AsyncConnection) -> list[Violation]:
    found: list[Violation] = []
    seen: dict[str, Counter[str]] = defaultdict(Counter)
    query = select(events.c.subject_id, events.c.type).where(events.c.type.like("hold.%"))
    for subject_id, kind in await conn.execute(query):
        seen[subject_id][kind] += 1
    booked = Counter(str(h) for (h,) in await conn.execute(select(bookings.c.hold_id)))
    for row in await conn.execute(select(holds.c.id, holds.c.state)):
        hold_id = str(row.id)
        kinds = seen.get(hold_id, Counter())
        endings = {k: n for k, n in kinds.items() if k != "hold.created"}
        expected_end = _ENDING_EVENT.get(HoldState(row.state))
        if kinds["hold.created"] != 1:
            found.append(
                Violation(
                    invariant=3, subject=f"hold {hold_id}", detail=f"created {kinds['hold.created']} times"
                )
            )
        wanted = {expected_end: 1} if expected_end else {}
        if endings != wanted:
            found.append(
                Violation(
                    invariant=3,
                    subject=f"hold {hold_id}",
                    detail=f"state {row.state} but events {dict(endings)}",
                )
            )
        if (row.state == HoldState.CONFIRMED) != (booked[hold_id] == 1) or booked[hold_id] > 1:
            found.append(
                Violation(invariant=3, subject=f"hold {hold_id}", detail=f"{booked[hold_id]} bookings")
            )
    return found


async def _prices(conn: AsyncConnection) -> list[Violation]:
    found: list[Violation] = []
    query = select(
        bookings.c.reference,
        bookings.c.load,
        bookings.c.units,
        bookings.c.volume_dm3,
        bookings.c.weight_g,
        bookings.c.price,
        bookings.c.currency,
        holds.c.rate,
        holds.c.minimum,
    ).join(holds, holds.c.id == bookings.c.hold_id)
    for row in await conn.execute(query):
        tariff = pricing.Tariff(rate=row.rate, currency=row.currency, minimum=row.minimum)
        if row.load == Load.FCL:
            quoted = pricing.fcl_price(tariff, row.units)
        else:
            quoted = pricing.lcl_price(tariff, from_milli(row.volume_dm3), from_milli(row.weight_g))
        if quoted != row.price:
            found.append(
                Violation(
                    invariant=4,
                    subject=f"booking {row.reference}",
                    detail=f"price {row.price}, quote {quoted}",
                )
            )
    return found


async def _consolidation(conn: AsyncConnection) -> list[Violation]:
    """Invariant 5 on every closed pool: its live LCL bookings as stored in its containers."""
    p = inventory.pools
    found: list[Violation] = []
    live = [s.value for s in LIVE_BOOKING_STATES]
    closed = list(await conn.execute(select(p).where(p.c.closed_at.is_not(None)).order_by(p.c.id)))
    for pool in closed:
        numbers = {
            row.id: row.number
            for row in await conn.execute(
                select(containers.c.id, containers.c.number).where(containers.c.pool_id == pool.id)
            )
        }
        query = (
            select(bookings)
            .where(
                bookings.c.pool_id == pool.id, bookings.c.load == Load.LCL.value, bookings.c.state.in_(live)
            )
            .order_by(bookings.c.created_at, bookings.c.id)
        )
        rows = [booking_row(row) for row in await conn.execute(query)]
        found += _pool_packing(pool, rows, numbers)
    return found


def _pool_packing(pool: Any, rows: list[BookingRow], numbers: dict[Any, int]) -> list[Violation]:
    subject = f"pool {pool.id}"
    found: list[Violation] = []
    spec = ContainerSpec(
        size_type=pool.size_type, usable_dm3=pool.container_volume_dm3, payload_g=pool.container_weight_g
    )
    packed: list[PoolBooking] = []
    aboard: dict[int, list[PoolBooking]] = defaultdict(list)
    for row in rows:
        try:
            booking = pool_booking(row.reference, row.volume_dm3, row.weight_g, row.created_at, row.cargo)
        except (InvalidRequest, KeyError, ValueError, TypeError) as error:
            found.append(Violation(invariant=5, subject=f"booking {row.reference}", detail=f"cargo: {error}"))
            continue
        packed.append(booking)
        if row.container_id is not None and row.container_id in numbers:
            aboard[numbers[row.container_id]].append(booking)
    # What each container states is summed from its bookings here: the check is on the rules.
    containers = tuple(
        PlannedContainer(
            number=number,
            size_type=spec.size_type,
            bookings=tuple(b.reference for b in members),
            volume_dm3=sum(b.volume_dm3 for b in members),
            weight_g=sum(b.weight_g for b in members),
            dangerous_goods_classes=tuple(
                sorted({hazard_division(g.imo_class) for b in members for g in b.dangerous_goods})
            ),
            set_point_c=min((b.set_point_c for b in members if b.set_point_c is not None), default=None),
            non_operating_reefer=spec.is_reefer and all(b.set_point_c is None for b in members),
        )
        for number, members in sorted(aboard.items())
    )
    plan = ConsolidationPlan(container=spec, containers=containers, rolled=(), lower_bound=0)
    for violation in check_plan(PoolCargo(container=spec, bookings=tuple(packed)), plan):
        where = f" in container {violation.container}" if violation.container is not None else ""
        found.append(
            Violation(
                invariant=5,
                subject=subject,
                detail=f"{violation.kind}{where}: {violation.detail} {list(violation.bookings)}",
            )
        )
    return found
