"""What a carrier reports of a booking placed with it, applied here. One transition for every
source: the dispatcher's answers, polling and notifications (which store the carrier's word on
``carrier_bookings`` first; :func:`settle_reported` applies what they stored).

- An FCL booking the carrier rejected or declined becomes ``declined``: once, by a conditional
  UPDATE from the live states, however many sources report it; its space is freed, a hold on the
  next sailing of the lane is offered as to a rolled booking, the requests still waiting to be
  sent are given up, and ``booking.declined`` is recorded. A declined booking is never reopened:
  no transition leads out of ``declined``.
- The container of a master booking records the carrier's status, references and reason.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec
import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from app.carrier_requests import repository as carrier_requests
from app.db import transaction
from app.events import outbox
from app.reconcile import alternatives, repository
from app.reservations import repository as reservations
from app.reservations.views import booking_view, event_payload
from app.runtime import Runtime

log = structlog.get_logger("slotpool.reconcile")
DECLINED = "booking.declined"
SETTLE_BATCH = 100


async def apply_booking_report(
    rt: Runtime, conn: AsyncConnection, reference: str, status: str, reason: str | None
) -> bool:
    """Apply the carrier's status of our booking ``reference``; True when it declined it now."""
    if status not in repository.DECLINING_STATUSES:
        return False
    booking = await repository.decline_booking(conn, reference, rt.clock.now_sql(rt.dialect))
    if booking is None:
        return False
    at = booking.updated_at
    # Lock order: the booking (just updated), then its counter, then the offered hold's.
    await reservations.give_back(conn, [booking.quantity], "booked")
    await carrier_requests.give_up_unsent(conn, booking.id, f"the carrier {status} the booking", at)
    sailing = await repository.sailing_with_carrier_status(conn, booking.sailing_id)
    assert sailing is not None
    offered = await alternatives.offer_alternative(rt, conn, booking, sailing)
    if offered is not None:
        booking = await reservations.offer_hold(conn, booking.id, offered.hold_id)
    payload: dict[str, Any] = {
        **event_payload(booking_view(booking)),
        "carrier_status": status,
        "reason": reason,
        "alternative": msgspec.to_builtins(offered) if offered is not None else None,
        "alternative_unavailable": None
        if offered is not None
        else "no later sailing on this lane has space for this booking",
    }
    event = outbox.PendingEvent(DECLINED, booking.reference, booking.organisation_id, payload)
    await outbox.record(conn, [event], at)
    log.info("booking.declined", reference=reference, carrier_status=status,
             offered_hold_id=str(booking.offered_hold_id))  # fmt: skip
    return True


async def apply_master_report(
    conn: AsyncConnection, container_id: uuid.UUID, *, carrier_reference: str, status: str,
    carrier_booking_number: str | None, reason: str | None, at: datetime,
) -> bool:  # fmt: skip
    """Record the carrier's status of a container's master booking (never out of a final one)."""
    values: dict[str, Any] = {
        "master_status": repository.master_status_of(status),
        "master_carrier_reference": carrier_reference,
        "master_detail": {"carrier_status": status, "reason": reason, "reported_at": at.isoformat()},
        "updated_at": at,
    }
    if carrier_booking_number is not None:
        values["master_carrier_booking_number"] = carrier_booking_number
    return await repository.record_master_report(conn, container_id, values)


async def settle_reported(rt: Runtime) -> int:
    """Apply what carriers reported (notifications, polls) and bookings or containers do not
    show yet; one short transaction each. The number applied."""
    async with transaction(rt.engine, read_only=True) as conn:
        declined = await repository.declined_at_carrier(conn, SETTLE_BATCH)
        masters = await repository.masters_behind_carrier(conn, SETTLE_BATCH)
    applied = 0
    for row in declined:
        async with transaction(rt.engine) as conn:
            applied += await apply_booking_report(rt, conn, row.booking_reference, row.status, row.reason)
    for row in masters:
        async with transaction(rt.engine) as conn:
            now = rt.clock.app_now()
            applied += await apply_master_report(
                conn,
                row.id,
                carrier_reference=row.carrier_reference,
                status=row.status,
                carrier_booking_number=row.carrier_booking_number,
                reason=row.reason,
                at=now,
            )
    return applied
