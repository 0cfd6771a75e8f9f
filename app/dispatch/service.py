"""The dispatcher: sends recorded carrier requests through the carriers' adapters.

One run (app/jobs/dispatch.py, every ``SLOTPOOL_DISPATCH_INTERVAL_SECONDS``, on every replica):

1. master bookings: each consolidated container still ``to_request`` gets its booking request
   recorded (the platform as booking party, the cargo of the bookings aboard), once;
2. due requests are leased (app/carrier_requests/repository.py: one per subject at a time, in
   order per subject, rows no other replica holds) in one short transaction, then sent, each
   outside any transaction, then each answer written in a short transaction of its own, only
   by the lease holder;
3. what carriers reported through notifications and polls is applied
   (app/reconcile/carrier_reports.py).

Failures: a carrier error that will never succeed (4xx, a request the adapter refuses) fails
the request with its error; a retryable one (timeout, 5xx, 429) is tried again in a later run,
with exponential backoff and jitter (or the carrier's Retry-After), until
``SLOTPOOL_DISPATCH_MAX_ATTEMPTS``.

A booking request whose outcome is unknown (a timeout, a 500/502/504, a lease that lapsed
mid-call) may have created the carrier's booking. It is resent only to a carrier whose adapter
deduplicates requests on our reference (``deduplicates_booking_requests``: the simulated and
feed carriers key their bookings on it, so the second call answers with the first booking).
DCSA Booking 2.0.4 gives no such guarantee: POST /v2/bookings takes no idempotency key, and no
endpoint finds a booking by the shipper's references (our reference travels as a ``CR``
reference, for the carrier's staff to see). Resending could book twice, so the request becomes
``unknown`` and waits, blocking the booking's later requests: the carrier's notification or an
operator settles it (app/dispatch/settle.py). Amendments (PUT replaces the booking) and
cancellations are safe to resend.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import datetime, timedelta
from typing import Any

import msgspec
import structlog

from app.carrier_requests import payload
from app.carrier_requests import repository as carrier_requests
from app.carrier_requests.models import RequestState
from app.carrier_requests.repository import RequestRow
from app.consolidation import masters
from app.db import transaction
from app.dispatch import repository
from app.reconcile import carrier_reports
from app.runtime import Runtime
from app.sync import repository as sync_repository
from carriers.base import (
    BookingAck,
    BookingRequest,
    CarrierAdapter,
    CarrierError,
    PermanentCarrierError,
    RetryableCarrierError,
)

log = structlog.get_logger("slotpool.dispatch")
CLAIM_BATCH = 20
MASTERS_BATCH = 50
# Waits after the n-th failed attempt: 2 s x 2^(n-1), at most 10 minutes, each drawn within
# +/-50 % so that requests that failed together (a carrier outage) do not return together.
FIRST_WAIT_SECONDS = 2.0
LONGEST_WAIT_SECONDS = 600.0
JITTER = 0.5
# Carrier statuses that say the request was not processed: safe to send again.
NOT_PROCESSED = (429, 503)


class DispatchRound(msgspec.Struct, kw_only=True):
    masters_queued: int = 0
    sent: int = 0
    acknowledged: int = 0
    retrying: int = 0
    failed: int = 0
    unknown: int = 0
    settled: int = 0


class Outcome(msgspec.Struct, kw_only=True):
    """What one attempt came to."""

    ack: BookingAck | None = None
    error: str | None = None
    retryable: bool = False
    maybe_sent: bool = False
    retry_after: float | None = None
    # Not sent at all: its outcome stays unknown (a carrier that cannot deduplicate).
    unknown: bool = False
    # The carrier's adapter deduplicates booking requests on our reference.
    dedupes: bool = False


def retry_wait(attempt: int, rng: random.Random | None = None) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1 for the first)."""
    base = min(LONGEST_WAIT_SECONDS, FIRST_WAIT_SECONDS * 2.0 ** min(attempt - 1, 32))
    return base * (rng or random).uniform(1 - JITTER, 1 + JITTER)


async def run(rt: Runtime) -> DispatchRound:
    """One round: queue master bookings, send what is due, apply what carriers reported."""
    tally = DispatchRound()
    tally.masters_queued = await queue_master_bookings(rt)
    await send_due(rt, tally)
    tally.settled = await carrier_reports.settle_reported(rt)
    return tally


async def queue_master_bookings(rt: Runtime) -> int:
    """Record the booking request of every container whose master booking is to request."""
    # Every replica runs this every second: a read first, so that an idle run writes nothing.
    async with transaction(rt.engine, read_only=True) as conn:
        if not await repository.any_master_to_request(conn):
            return 0
    async with transaction(rt.engine) as conn:
        taken = await repository.take_masters_to_request(conn, MASTERS_BATCH)
        now = rt.clock.app_now()
        for container in taken:
            await masters.record(conn, rt.settings, container, "request", now)
    return len(taken)


async def send_due(rt: Runtime, tally: DispatchRound) -> None:
    """Lease due requests, send them (different subjects concurrently), record the answers."""
    token = uuid.uuid4()
    async with transaction(rt.engine, read_only=True) as conn:
        if not await carrier_requests.any_due(conn, rt.clock.now_sql(rt.dialect)):
            return
    async with transaction(rt.engine) as conn:
        claimed = await carrier_requests.claim_due(
            conn, rt.clock.now_sql(rt.dialect), token, rt.settings.dispatch_lease_seconds, CLAIM_BATCH
        )
    if not claimed:
        return
    outcomes = await asyncio.gather(*(_attempt(rt, row) for row in claimed))
    for row, outcome in zip(claimed, outcomes, strict=True):
        tally.sent += not outcome.unknown
        await _record(rt, row, token, outcome, tally)


async def _attempt(rt: Runtime, row: RequestRow) -> Outcome:
    """Send one request; never raises."""
    try:
        async with transaction(rt.engine, read_only=True) as conn:
            carrier = await repository.carrier_of(conn, row.carrier_id)
            reference = None
            if row.operation != "request":
                reference = await carrier_requests.carrier_reference_of(conn, row.subject_id)
        adapter = await rt.carriers.adapter_for(
            rt, carrier.scac, carrier.adapter_kind, carrier.adapter_settings
        )
        request = payload.decode(row.payload)
        dedupes = bool(getattr(adapter, "deduplicates_booking_requests", False))
        if row.operation == "request" and row.maybe_sent and not dedupes:
            return Outcome(unknown=True, error=_UNKNOWN)
    except (CarrierError, ValueError) as error:  # bad carrier settings: an operator fixes them
        return Outcome(error=f"carrier: {error}", retryable=True)
    outcome = await _send(rt, adapter, row, request, reference)
    outcome.dedupes = dedupes
    return outcome


async def _send(
    rt: Runtime, adapter: CarrierAdapter, row: RequestRow, request: BookingRequest, reference: str | None
) -> Outcome:
    try:
        if row.operation != "request" and reference is None:
            return Outcome(
                error=f"no carrier booking to {row.operation}: the booking request was not accepted"
            )
        timeout = min(rt.carriers.timeout, rt.settings.dispatch_lease_seconds / 2)
        async with asyncio.timeout(timeout):
            if row.operation == "request":
                ack = await adapter.request_booking(request)
            elif row.operation == "amend":
                assert reference is not None
                ack = await adapter.amend_booking(reference, request)
            else:
                assert reference is not None
                ack = await adapter.cancel_booking(reference)
        return Outcome(ack=ack)
    except PermanentCarrierError as error:
        return Outcome(error=_described(error))
    except RetryableCarrierError as error:
        return Outcome(
            error=_described(error),
            retryable=True,
            maybe_sent=error.status not in NOT_PROCESSED,
            retry_after=error.retry_after,
        )
    except TimeoutError:
        return Outcome(error="the carrier did not answer in time", retryable=True, maybe_sent=True)


_UNKNOWN = (
    "outcome unknown: an earlier attempt may have reached the carrier, which cannot be asked "
    "again safely (no deduplication on our reference); confirm with the carrier"
)


def _described(error: CarrierError) -> str:
    details = "; ".join(f"{e.property}: {e.message}" if e.property else e.message for e in error.errors)
    return f"{error.message} ({details})" if details else error.message


async def _record(
    rt: Runtime, row: RequestRow, token: uuid.UUID, outcome: Outcome, tally: DispatchRound
) -> None:
    """Write an attempt's outcome (only while still holding the lease) and its consequences."""
    async with transaction(rt.engine) as conn:
        now: datetime = rt.clock.app_now()
        if outcome.ack is not None:
            done = await carrier_requests.finish(
                conn,
                row.id,
                token,
                {
                    "state": RequestState.ACKNOWLEDGED,
                    "carrier_reference": outcome.ack.carrier_reference,
                    "carrier_status": outcome.ack.status.value,
                    "last_error": None,
                    "updated_at": now,
                },
            )
            if done is not None:
                tally.acknowledged += 1
                await apply_answer(rt, conn, done, outcome.ack, now)
            return
        values: dict[str, Any] = {"last_error": (outcome.error or "")[:500] or None, "updated_at": now}
        maybe_sent = row.maybe_sent or outcome.maybe_sent
        if outcome.unknown or (row.operation == "request" and outcome.maybe_sent and not outcome.dedupes):
            values.update(state=RequestState.UNKNOWN, maybe_sent=True)
            if not outcome.unknown:
                values["last_error"] = f"{_UNKNOWN} (last: {outcome.error})"[:500]
            tally.unknown += 1
        elif outcome.retryable and row.attempts < rt.settings.dispatch_max_attempts:
            wait = max(retry_wait(row.attempts), outcome.retry_after or 0.0)
            values.update(
                state=RequestState.PENDING,
                maybe_sent=maybe_sent,
                next_attempt_at=now + timedelta(seconds=wait),
            )
            tally.retrying += 1
        else:
            values.update(state=RequestState.FAILED, maybe_sent=maybe_sent)
            tally.failed += 1
        done = await carrier_requests.finish(conn, row.id, token, values)
        if done is not None and row.subject_kind == "master":
            await repository.record_master_error(
                conn, row.subject_id, {"request_state": values["state"], "last_error": values["last_error"]}
            )
    log.info("carrier_request.attempt", reference=row.subject_reference, operation=row.operation,
             state=values["state"], error=values["last_error"])  # fmt: skip


async def apply_answer(rt: Runtime, conn: Any, row: RequestRow, ack: BookingAck, now: datetime) -> None:
    """The carrier's answer becomes its word on the booking (``carrier_bookings``, as polling
    and notifications store it), then the one transition applies it."""
    status = ack.status.value
    booking_reference = row.subject_reference if row.subject_kind == "booking" else None
    values = {
        "carrier_id": row.carrier_id,
        "carrier_reference": ack.carrier_reference,
        "booking_reference": booking_reference,
        "status": status,
        "updated_at": now,
        "reported_at": None,
    }
    # A notification may have told more than the request's answer already: the answer to the
    # booking request only creates the carrier booking; amendments and cancellations move it.
    await repository.link_carrier_booking(conn, values)
    if row.operation != "request":
        del values["booking_reference"]
        await sync_repository.report_carrier_booking(conn, values)
    if booking_reference is not None:
        await carrier_reports.apply_booking_report(rt, conn, booking_reference, status, None)
    else:
        await carrier_reports.apply_master_report(
            conn,
            row.subject_id,
            carrier_reference=ack.carrier_reference,
            status=status,
            carrier_booking_number=None,
            reason=None,
            at=now,
        )
