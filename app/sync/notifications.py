"""Carrier accounts and DCSA booking notifications.

A carrier posts Booking 2.0 notifications (CloudEvents) with an API key of its own
organisation, linked to the carrier row once by an operator. The CloudEvent id is the
idempotency key: the carrier sends no Idempotency-Key header, and the same event delivered
twice changes state once. What the carrier reports is stored on ``carrier_bookings`` and
announced as ``booking.carrier_status_changed``; the scheduler applies it to bookings.
"""

from __future__ import annotations

import uuid

import structlog
from sqlalchemy.exc import IntegrityError

from app.accounts import repository as accounts
from app.accounts.actor import Actor, OrgKind
from app.db import transaction
from app.domain.errors import Conflict, DomainError, InvalidRequest, NotFound
from app.events import outbox
from app.events.idempotency import Finish
from app.runtime import Runtime
from app.sync import repository
from app.sync.schemas import CarrierAccountLink, CarrierAccountView, NotificationReceipt
from carriers.base import MalformedCarrierAnswer
from carriers.dcsa import parse_booking_notification

log = structlog.get_logger("slotpool.sync")
STATUS_CHANGED = "booking.carrier_status_changed"


class NotThisCarrier(DomainError):
    slug = "not-this-carrier"
    title = "This API key does not speak for this carrier"
    status = 403

    def __init__(self, scac: str) -> None:
        super().__init__(f"this API key's organisation is not linked to carrier {scac}", scac=scac)


class MalformedNotification(DomainError):
    slug = "malformed-notification"
    title = "Not a DCSA booking notification"
    status = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)


async def link_carrier_account(
    rt: Runtime, scac: str, link: CarrierAccountLink, finish: Finish | None = None
) -> CarrierAccountView:
    """Let the keys of carrier organisation ``link.organisation_id`` speak for carrier ``scac``."""
    async with transaction(rt.engine) as conn:
        carrier = await repository.carrier_with_account(conn, scac)
        if carrier is None:
            raise NotFound("carrier", scac)
        org = await accounts.get_organisation(conn, link.organisation_id)
        if org is None or org.kind != OrgKind.CARRIER:
            raise InvalidRequest("organisation_id", "no carrier organisation with this id")
        try:
            linked = carrier.organisation_id is None and await repository.link_carrier_account(
                conn, carrier.id, link.organisation_id, rt.clock.app_now()
            )
        except IntegrityError as error:  # the organisation speaks for another carrier
            raise Conflict("this organisation is linked to another carrier") from error
        if not linked:
            raise Conflict(f"carrier {scac} is linked to an organisation already", scac=scac)
        view = CarrierAccountView(scac=scac, organisation_id=link.organisation_id)
        if finish is not None:
            await finish(conn, view)
    return view


async def receive_booking_notification(
    rt: Runtime, actor: Actor, scac: str, body: bytes
) -> NotificationReceipt:
    """Store the booking status a carrier's notification reports, once per event id."""
    async with transaction(rt.engine, read_only=True) as conn:
        carrier = await repository.carrier_with_account(conn, scac)
    if carrier is None:
        raise NotFound("carrier", scac)
    if carrier.organisation_id != actor.organisation_id:
        raise NotThisCarrier(scac)
    carrier_id: uuid.UUID = carrier.id
    try:
        event_id, report = parse_booking_notification(scac, body)
    except MalformedCarrierAnswer as error:
        raise MalformedNotification(error.message) from error
    if not 0 < len(event_id) <= 200 or not 0 < len(report.carrier_reference) <= 100:
        raise MalformedNotification("event id or carrier booking request reference empty or too long")
    receipt = NotificationReceipt(
        event_id=event_id,
        carrier_reference=report.carrier_reference,
        status=report.status.value,
        duplicate=False,
    )
    now = rt.clock.app_now()
    async with transaction(rt.engine) as conn:
        first = await repository.record_notification(
            conn,
            {
                "carrier_id": carrier_id,
                "event_id": event_id,
                "carrier_reference": report.carrier_reference,
                "status": report.status.value,
                "received_at": now,
            },
        )
        if not first:
            receipt.duplicate = True
            return receipt
        booking = await repository.report_carrier_booking(
            conn,
            {
                "carrier_id": carrier_id,
                "carrier_reference": report.carrier_reference,
                "carrier_booking_number": report.carrier_booking_number,
                "status": report.status.value,
                "reason": (report.reason or None) and report.reason[:500],
                "updated_at": now,
            },
        )
        if booking is not None:
            event = outbox.PendingEvent(
                STATUS_CHANGED,
                booking.id,
                None,
                {
                    "carrier_scac": scac,
                    "carrier_reference": booking.carrier_reference,
                    "carrier_booking_number": booking.carrier_booking_number,
                    "booking_reference": booking.booking_reference,
                    "status": booking.status,
                    "reason": booking.reason,
                    "event_id": event_id,
                },
            )
            await outbox.record(conn, [event], now)
    log.info("carrier.notification", scac=scac, event_id=event_id, status=report.status.value,
             changed=booking is not None)  # fmt: skip
    return receipt
