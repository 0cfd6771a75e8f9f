"""What each kind of recorded carrier change does, in the transaction that marks it handled.

- ``sailing.discovered``, ``allotment.raised``: already applied by the sync; nothing more.
- ``allotment.cut``: lower the allotment to the carrier's figure (:mod:`app.reconcile.shrink`).
- ``sailing.schedule_changed``: tell every live booking (``booking.schedule_changed``) and make
  active holds expire no later than the new cut-off.
- ``sailing.cancelled_by_carrier``: every allotment of the sailing cut to zero (holds released,
  bookings rolled with an alternative), then the sailing ``cancelled``. Skipped if the carrier
  has listed the sailing again since.
- ``sailing.reinstated_by_carrier``: nothing; a sailing cancelled here stays cancelled (the
  operator decides whether to sell it again).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.shrink import AllotmentUse
from app.events import outbox
from app.inventory.repository import AnyRow
from app.reconcile import repository
from app.reconcile.shrink import CARRIER_CUT, SAILING_CANCELLED, ShrinkOutcome, shrink_allotments
from app.runtime import Runtime


@dataclass
class ChangeOutcome:
    """What applying one change did; ``complete`` False leaves the change for the next pass."""

    shrink: ShrinkOutcome = field(default_factory=ShrinkOutcome)
    holds_capped: int = 0
    bookings_told: int = 0
    complete: bool = True


async def apply_change(rt: Runtime, conn: AsyncConnection, change: AnyRow) -> ChangeOutcome:
    """Carry out one recorded change in ``conn``'s transaction."""
    sailing = await repository.sailing_with_carrier_status(conn, change.sailing_id)
    assert sailing is not None, "a change always names a stored sailing"
    if change.kind == "allotment.cut":
        return await _cut(rt, conn, sailing, change.size_type)
    if change.kind == "sailing.schedule_changed":
        return await _schedule_changed(rt, conn, sailing, change.detail)
    if change.kind == "sailing.cancelled_by_carrier":
        return await _cancelled(rt, conn, sailing, change.detail)
    return ChangeOutcome()


async def _cut(rt: Runtime, conn: AsyncConnection, sailing: AnyRow, size_type: str | None) -> ChangeOutcome:
    allotment_ids = await repository.allotment_ids_of(conn, sailing.id, size_type)

    def carriers_figure(allotment: AllotmentUse) -> int | None:
        return allotment.units_offered

    shrunk = await shrink_allotments(rt, conn, sailing, allotment_ids, carriers_figure, CARRIER_CUT)
    return ChangeOutcome(shrink=shrunk, complete=shrunk.complete)


async def _schedule_changed(
    rt: Runtime, conn: AsyncConnection, sailing: AnyRow, detail: dict[str, Any]
) -> ChangeOutcome:
    at: datetime = (await conn.execute(select(rt.clock.now_sql(rt.dialect)))).scalar_one()
    capped = await repository.cap_hold_expiry(conn, sailing.id, sailing.cut_off)
    told = await repository.live_bookings_of(conn, sailing.id)
    schedule = {
        "sailing_id": str(sailing.id),
        "voyage_number": sailing.voyage_number,
        "etd_before": detail.get("etd_before"),
        "etd": sailing.etd.isoformat(),
        "eta_before": detail.get("eta_before"),
        "eta": sailing.eta.isoformat(),
        "cut_off_before": detail.get("cut_off_before"),
        "cut_off": sailing.cut_off.isoformat(),
    }
    events = [
        outbox.PendingEvent(
            "booking.schedule_changed",
            booking.reference,
            booking.organisation_id,
            {"reference": booking.reference, "state": booking.state, **schedule},
        )
        for booking in told
    ]
    await outbox.record(conn, events, at)
    return ChangeOutcome(holds_capped=capped, bookings_told=len(told))


async def _cancelled(
    rt: Runtime, conn: AsyncConnection, sailing: AnyRow, detail: dict[str, Any]
) -> ChangeOutcome:
    if sailing.carrier_status != "cancelled":
        return ChangeOutcome()  # listed again since: the later reinstatement stands
    allotment_ids = await repository.allotment_ids_of(conn, sailing.id)
    # Zero, not just the holds and bookings: a hold racing this transaction then finds no space.
    shrunk = await shrink_allotments(rt, conn, sailing, allotment_ids, lambda _: 0, SAILING_CANCELLED)
    if await repository.cancel_sailing(conn, sailing.id):
        at: datetime = (await conn.execute(select(rt.clock.now_sql(rt.dialect)))).scalar_one()
        event = outbox.PendingEvent(
            "sailing.cancelled",
            sailing.id,
            None,
            {
                "sailing_id": str(sailing.id),
                "voyage_number": sailing.voyage_number,
                "reason": detail.get("reason"),
                "holds_released": shrunk.holds_released,
                "bookings_rolled": shrunk.bookings_rolled,
            },
        )
        await outbox.record(conn, [event], at)
    return ChangeOutcome(shrink=shrunk, complete=shrunk.complete)
