"""Carrier accounts and DCSA booking notifications.

A carrier posts Booking 2.0 notifications (CloudEvents) with an API key of its own
organisation, linked to the carrier row once by an operator. A carrier account may also sign
its notifications: an HMAC-SHA256 of the body under a shared secret (stored sealed), sent as
``sha256=<hex>`` in a configured header (``Notification-Signature`` by default, as DCSA's event
subscriptions did); a wrong or missing signature is 401. The CloudEvent envelope is checked
(``specversion`` 1.0, ``datacontenttype`` application/json, the required attributes), each
violation listed in the problem.

The CloudEvent id is the idempotency key: the carrier sends no Idempotency-Key header, and the
same event delivered twice changes state once. Notifications arrive out of order: one older
than the status held (by the data's ``updatedDateTime``, else the event's ``time``) changes
nothing, and nothing reopens a final status (rejected, declined, cancelled, completed). What
the carrier reports is stored on ``carrier_bookings`` and announced as
``booking.carrier_status_changed``; the scheduler applies it to bookings.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Mapping

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from app.accounts import repository as accounts
from app.accounts.actor import Actor, OrgKind
from app.db import transaction
from app.domain.errors import Conflict, DomainError, InvalidRequest, NotFound
from app.events import outbox
from app.events.idempotency import Finish
from app.runtime import Runtime
from app.secrets import SecretUnreadable
from app.sync import repository
from app.sync.schemas import (
    DEFAULT_SIGNATURE_HEADER,
    CarrierAccountLink,
    CarrierAccountView,
    NotificationReceipt,
)
from carriers.base import BookingStatusReport, ErrorDetail, MalformedCarrierAnswer
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

    def __init__(self, detail: str, errors: list[ErrorDetail] | None = None) -> None:
        listed = [{"field": e.property, "message": e.message} for e in errors or []]
        super().__init__(detail, errors=listed)


class SignatureInvalid(DomainError):
    slug = "invalid-signature"
    title = "Notification signature missing or wrong"
    status = 401

    def __init__(self, header: str) -> None:
        super().__init__(f"send the body's HMAC-SHA256 as sha256=<hex> in the {header} header", header=header)


class SigningSecretUnreadable(DomainError):
    slug = "signing-secret-unreadable"
    title = "The carrier's signing secret cannot be opened"
    status = 503

    def __init__(self, scac: str) -> None:
        super().__init__(
            f"the signing secret stored for carrier {scac} cannot be opened with the configured "
            "SLOTPOOL_SECRET_KEYS; nothing was recorded, send the notification again later",
            scac=scac,
        )


def verify_signature(secret: str, body: bytes, given: str | None) -> bool:
    """True when ``given`` is ``sha256=<hex>`` of the body's HMAC-SHA256 under ``secret``;
    compared in constant time."""
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return given is not None and hmac.compare_digest(expected.encode(), given.strip().lower().encode())


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
        header = None
        sealed = None
        if link.signature_secret is not None:
            header = link.signature_header or DEFAULT_SIGNATURE_HEADER
            sealed = rt.secrets.seal(link.signature_secret)
        try:
            linked = carrier.organisation_id is None and await repository.link_carrier_account(
                conn,
                {
                    "carrier_id": carrier.id,
                    "organisation_id": link.organisation_id,
                    "signature_secret_sealed": sealed,
                    "signature_header": header,
                    "created_at": rt.clock.app_now(),
                },
            )
        except IntegrityError as error:  # the organisation speaks for another carrier
            raise Conflict("this organisation is linked to another carrier") from error
        if not linked:
            raise Conflict(f"carrier {scac} is linked to an organisation already", scac=scac)
        view = CarrierAccountView(
            scac=scac,
            organisation_id=link.organisation_id,
            signed=sealed is not None,
            signature_header=header,
        )
        if finish is not None:
            await finish(conn, view)
    return view


async def receive_booking_notification(
    rt: Runtime, actor: Actor, scac: str, body: bytes, headers: Mapping[str, str]
) -> NotificationReceipt:
    """Store the booking status a carrier's notification reports, once per event id, unless
    it is older than the status held or the status held is final."""
    async with transaction(rt.engine, read_only=True) as conn:
        carrier = await repository.carrier_with_account(conn, scac)
    if carrier is None:
        raise NotFound("carrier", scac)
    if carrier.organisation_id != actor.organisation_id:
        raise NotThisCarrier(scac)
    if carrier.signature_secret_sealed is not None:
        header = carrier.signature_header or DEFAULT_SIGNATURE_HEADER
        try:
            secret = rt.secrets.open(carrier.signature_secret_sealed)
        except SecretUnreadable:
            # An operator's mistake (a key removed while secrets sealed with it remain), not the
            # carrier's: the carrier retries later, the log says what to restore.
            log.error("notifications.signing_secret_unreadable", scac=scac)
            raise SigningSecretUnreadable(scac) from None
        if not verify_signature(secret, body, headers.get(header)):
            raise SignatureInvalid(header)
    carrier_id: uuid.UUID = carrier.id
    try:
        event_id, report = parse_booking_notification(scac, body)
    except MalformedCarrierAnswer as error:
        raise MalformedNotification(error.message, error.errors) from error
    if not 0 < len(event_id) <= 200 or not 0 < len(report.carrier_reference) <= 100:
        raise MalformedNotification("event id or carrier booking request reference empty or too long")
    receipt = NotificationReceipt(
        event_id=event_id,
        carrier_reference=report.carrier_reference,
        status=report.status.value,
        duplicate=False,
        applied=False,
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
            receipt.ignored = "this event was received before"
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
                "reported_at": report.reported_at,
            },
        )
        if booking is None:
            receipt.ignored = await _why_not_applied(conn, carrier_id, report.carrier_reference, report)
        else:
            receipt.applied = True
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
             applied=receipt.applied, ignored=receipt.ignored)  # fmt: skip
    return receipt


async def _why_not_applied(
    conn: AsyncConnection, carrier_id: uuid.UUID, reference: str, report: BookingStatusReport
) -> str:
    held = await repository.carrier_booking(conn, carrier_id, reference)
    if held is None:  # pragma: no cover - the report was just stored or found
        return "unknown booking"
    if held.status in repository.FINAL_CARRIER_STATUSES and held.status != report.status.value:
        return f"the booking is {held.status} at the carrier: a final status is never reopened"
    if (
        held.reported_at is not None
        and report.reported_at is not None
        and report.reported_at < held.reported_at
    ):
        return f"older than the status held ({held.status}, reported {held.reported_at.isoformat()})"
    return "nothing changed"
