"""Carrying out a cut (or a cancellation, a cut to zero) on allotments of one sailing, in the
caller's transaction: release holds, roll bookings with an offered alternative, give pool
containers back, lower ``units_total``. The order comes from :mod:`app.domain.shrink`.

Locks are taken in the global order (hold and booking rows, then pools, then allotments, each
in id order) before anything is read for the plan, so the plan is made on rows nobody else
can change until the transaction ends.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import msgspec
import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.shrink import AllotmentUse, Cut, Occupant, bookings_to_roll, holds_to_release, plan_cuts
from app.events import outbox
from app.inventory.repository import AnyRow, pools
from app.reconcile import alternatives, repository
from app.reservations import repository as reservations
from app.reservations.repository import BookingRow, HoldRow
from app.reservations.views import booking_view, event_payload, hold_event
from app.runtime import Runtime

log = structlog.get_logger("slotpool.reconcile")
Row = TypeVar("Row", HoldRow, BookingRow)
CARRIER_CUT = "carrier_cut"
SAILING_CANCELLED = "sailing_cancelled"


@dataclass
class ShrinkOutcome:
    holds_released: int = 0
    bookings_rolled: int = 0
    alternatives_offered: int = 0
    alternatives_unavailable: int = 0
    complete: bool = True

    def count_rolled(self, offered: alternatives.Alternative | None) -> None:
        self.bookings_rolled += 1
        if offered is None:
            self.alternatives_unavailable += 1
        else:
            self.alternatives_offered += 1


async def shrink_allotments(
    rt: Runtime,
    conn: AsyncConnection,
    sailing: AnyRow,
    allotment_ids: Sequence[uuid.UUID],
    units_wanted: Callable[[AllotmentUse], int | None],
    cause: str,
) -> ShrinkOutcome:
    """Bring each allotment down to ``units_wanted(allotment)`` (None: leave it as it is)."""
    outcome = ShrinkOutcome()
    if not allotment_ids:
        return outcome
    now_sql = rt.clock.now_sql(rt.dialect)
    at: datetime = (await conn.execute(select(now_sql))).scalar_one()
    cuts = await _locked_plan(conn, allotment_ids, units_wanted)
    outcome.complete = all(cut.plan.complete for cut in cuts)
    release, roll = holds_to_release(cuts), bookings_to_roll(cuts)
    # RETURNING gives rows in no particular order: events follow the plan's (newest first).
    released = _in_order(await repository.release_holds(conn, release, now_sql), release)
    rolled = _in_order(await repository.roll_bookings(conn, roll, now_sql), roll)
    await reservations.give_back(conn, (row.quantity for row in released), "held")
    await reservations.give_back(conn, (row.quantity for row in rolled), "booked")
    await _lower_counters(conn, cuts)
    await outbox.record(conn, [_released_event(row, cause) for row in released], at)
    outcome.holds_released = len(released)
    for booking in rolled:
        offered = await alternatives.offer_alternative(rt, conn, booking, sailing)
        await announce_rolled(conn, booking, cause, offered, at)
        outcome.count_rolled(offered)
    log.info(
        "allotments.shrunk",
        sailing_id=str(sailing.id),
        cause=cause,
        holds_released=outcome.holds_released,
        bookings_rolled=outcome.bookings_rolled,
    )
    return outcome


async def _locked_plan(
    conn: AsyncConnection,
    allotment_ids: Sequence[uuid.UUID],
    units_wanted: Callable[[AllotmentUse], int | None],
) -> list[Cut]:
    """Lock what the cuts touch in the lock order (holds and bookings, pools, allotments), then
    plan on rows nobody else can change until the transaction ends."""
    pool_ids = list(
        (await conn.execute(select(pools.c.id).where(pools.c.allotment_id.in_(allotment_ids)))).scalars()
    )
    held = await repository.lock_active_holds(conn, allotment_ids, pool_ids)
    booked = await repository.lock_rollable_bookings(conn, allotment_ids, pool_ids)
    pool_uses = await repository.lock_pools_of(conn, allotment_ids)
    return plan_cuts(
        await repository.lock_allotments(conn, allotment_ids),
        pool_uses,
        units_wanted,
        [Occupant(row.id, row.quantity) for row in held],
        [Occupant(row.id, row.quantity) for row in booked],
    )


async def _lower_counters(conn: AsyncConnection, cuts: Sequence[Cut]) -> None:
    """Give the plans' empty pool containers back, then lower each allotment's total."""
    for cut in cuts:
        if cut.pool is not None and cut.plan.containers_returned:
            await repository.return_containers(conn, cut.pool, cut.plan.containers_returned)
        if cut.plan.units_total < cut.allotment.units_total:
            by = cut.allotment.units_total - cut.plan.units_total
            lowered = await repository.lower_total(conn, cut.allotment.id, by)
            assert lowered, "allotment still over its new total after the plan"


def _in_order(rows: list[Row], ids: list[uuid.UUID]) -> list[Row]:
    rank = {row_id: n for n, row_id in enumerate(ids)}
    return sorted(rows, key=lambda row: rank[row.id])


def _released_event(row: HoldRow, cause: str) -> outbox.PendingEvent:
    event = hold_event("hold.released", row)
    event.payload["reason"] = cause
    return event


async def announce_rolled(
    conn: AsyncConnection,
    booking: BookingRow,
    cause: str,
    offered: alternatives.Alternative | None,
    at: datetime,
    **why: str,
) -> None:
    """``booking.rolled`` with the alternative held for the owner (linked from the booking as
    its offered hold), or why there is none; ``why`` adds the cause's own fields (a close's
    ``reason`` and ``detail``)."""
    if offered is not None:
        booking = await reservations.offer_hold(conn, booking.id, offered.hold_id)
    payload: dict[str, Any] = {
        **event_payload(booking_view(booking)),
        "cause": cause,
        "alternative": msgspec.to_builtins(offered) if offered is not None else None,
        "alternative_unavailable": None
        if offered is not None
        else "no later sailing on this lane has space for this booking",
        **why,
    }
    await repository.record_rolled(
        conn,
        {
            "booking_id": booking.id,
            "cause": cause,
            "rolled_at": at,
        },
    )
    event = outbox.PendingEvent("booking.rolled", booking.reference, booking.organisation_id, payload)
    await outbox.record(conn, [event], at)
