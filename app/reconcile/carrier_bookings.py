"""Polling carriers for the status of bookings placed with them, until they settle.

Carrier bookings still ``requested`` or ``pending_amendment`` (DCSA answers 202 and decides
later) are asked about with ``adapter.booking_status``. A new status is stored with a
conditional UPDATE on the status read before the call, so a notification or another poller
that got there first wins and each change is applied (and announced) once. The announcement is
``booking.carrier_status_changed``, addressed to the owner of the linked booking if any.
Carrier calls happen outside any transaction. A booking the carrier rejected or declined is
declined here in the same transaction (app/reconcile/carrier_reports.py).
"""

from __future__ import annotations

import asyncio

import structlog

from app.carrier_adapters.cache import CarrierAdapters
from app.db import transaction
from app.events import outbox
from app.inventory.repository import AnyRow
from app.reconcile import carrier_reports, repository
from app.reconcile.schemas import CarrierBookingPoll
from app.runtime import Runtime
from app.sync.notifications import STATUS_CHANGED
from carriers.base import BookingStatusReport, CarrierError
from carriers.fanout import retrying

log = structlog.get_logger("slotpool.reconcile")
POLL_BATCH = 200


async def poll_carrier_bookings(rt: Runtime, carrier_adapters: CarrierAdapters) -> CarrierBookingPoll:
    """Ask carriers about unsettled bookings once each; store and announce what changed."""
    poll = CarrierBookingPoll()
    async with transaction(rt.engine, read_only=True) as conn:
        rows = await repository.unsettled_carrier_bookings(conn, POLL_BATCH)
    for row in rows:
        poll.polled += 1
        report = await _ask(rt, carrier_adapters, row)
        if report is None:
            poll.failed += 1
        elif await _store(rt, row, report):
            poll.changed += 1
    return poll


async def _ask(rt: Runtime, carrier_adapters: CarrierAdapters, row: AnyRow) -> BookingStatusReport | None:
    try:
        adapter = await carrier_adapters.adapter_for(rt, row.scac, row.adapter_kind, row.adapter_settings)
        async with asyncio.timeout(carrier_adapters.timeout):
            return await retrying(
                lambda: adapter.booking_status(row.carrier_reference),
                attempts=carrier_adapters.attempts,
                backoff=carrier_adapters.backoff,
            )
    except (CarrierError, ValueError, TimeoutError) as error:
        log.warning("carrier_booking.poll_failed", scac=row.scac, reference=row.carrier_reference,
                    error=str(error))  # fmt: skip
        return None


async def _store(rt: Runtime, row: AnyRow, report: BookingStatusReport) -> bool:
    number = report.carrier_booking_number or row.carrier_booking_number
    if report.status.value == row.status and number == row.carrier_booking_number:
        return False
    now = rt.clock.app_now()
    async with transaction(rt.engine) as conn:
        moved = await repository.move_carrier_booking(
            conn,
            row.id,
            row.status,
            {
                "status": report.status.value,
                "carrier_booking_number": number,
                "reason": (report.reason or None) and report.reason[:500],
                "updated_at": now,
                "reported_at": now,
            },
        )
        if moved is None:
            return False
        owner = await repository.booking_owner(conn, moved.booking_reference)
        event = outbox.PendingEvent(
            STATUS_CHANGED,
            moved.id,
            owner,
            {
                "carrier_scac": row.scac,
                "carrier_reference": moved.carrier_reference,
                "carrier_booking_number": moved.carrier_booking_number,
                "booking_reference": moved.booking_reference,
                "status": moved.status,
                "status_before": row.status,
                "reason": moved.reason,
                "source": "poll",
            },
        )
        await outbox.record(conn, [event], now)
        if moved.booking_reference is not None:
            # The same transition as the dispatcher's answers and notifications.
            await carrier_reports.apply_booking_report(
                rt, conn, moved.booking_reference, moved.status, moved.reason
            )
    log.info("carrier_booking.status_changed", scac=row.scac, reference=row.carrier_reference,
             status=report.status.value)  # fmt: skip
    return True
