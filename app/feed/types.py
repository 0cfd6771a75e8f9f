"""Every event type the service emits: its payload's JSON Schema, version and an example.

The catalogue is ``GET /v1/event-types`` and the list endpoints subscribe from. A payload's
shape is its type's struct below (for holds and bookings, the API's own views, plus what some
causes add); a change that is not backward compatible raises the type's ``version``, which every
event carries (the outbox's ``version`` column, in the feed and in each webhook).
"""

from __future__ import annotations

import functools
import uuid
from datetime import datetime
from typing import Any

import msgspec

from app.reservations.schemas import BookingView, HoldView
from app.schemas import Money


class HoldPayload(HoldView, kw_only=True):
    """A hold as ``GET /v1/holds/{id}`` shows it."""

    # hold.created for a hold offered to a rolled booking: that booking's reference.
    offered_for: str | None = None
    # hold.released by the platform (a carrier cut or cancellation): why.
    reason: str | None = None
    # hold.extended: the expiry before the extension (``expires_at`` is the new one).
    extended_from: datetime | None = None


class OfferedHold(msgspec.Struct, kw_only=True):
    """The hold offered to a rolled booking: confirm ``hold_id`` before ``expires_at``."""

    hold_id: uuid.UUID
    sailing_id: uuid.UUID
    etd: datetime
    expires_at: datetime
    price: Money


class RolledBooking(BookingView, kw_only=True):
    """A booking moved off its sailing, with the hold offered on a later one, if any."""

    cause: str
    alternative: OfferedHold | None
    alternative_unavailable: str | None
    # cause pool_closed: why packing left it out (a RollReason) and the figures behind it.
    reason: str | None = None
    detail: str | None = None


class PoolClosed(msgspec.Struct, kw_only=True):
    """An LCL pool closed at its LCL cut-off (or on an operator's request) and was packed into
    containers; ``replanned`` when an operator re-ran the plan of a closed pool."""

    pool_id: uuid.UUID
    sailing_id: uuid.UUID
    voyage_number: str
    size_type: str
    closed_at: datetime
    containers: int
    containers_drawn: int
    bookings_placed: int
    bookings_rolled: int
    holds_released: int
    replanned: bool = False


class DeclinedBooking(BookingView, kw_only=True):
    """A booking the carrier rejected or declined: its space is freed; ``offered_hold_id``
    (and ``alternative``) is the hold placed for the owner on a later sailing of the lane, if
    one had space."""

    carrier_status: str
    reason: str | None
    alternative: OfferedHold | None
    alternative_unavailable: str | None


class ScheduleChanged(msgspec.Struct, kw_only=True):
    """A booking's sailing moved: its new dates beside the ones before."""

    reference: str
    state: str
    sailing_id: uuid.UUID
    voyage_number: str
    etd_before: datetime | None
    etd: datetime
    eta_before: datetime | None
    eta: datetime
    cut_off_before: datetime | None
    cut_off: datetime


class CarrierStatusChanged(msgspec.Struct, kw_only=True):
    """Where a booking stands at the carrier (polled, or from the carrier's notification)."""

    carrier_scac: str
    carrier_reference: str
    carrier_booking_number: str | None
    booking_reference: str | None
    status: str
    reason: str | None
    status_before: str | None = None
    source: str | None = None
    # The carrier's notification id, when a notification brought the change.
    event_id: str | None = None


class AllotmentReleased(msgspec.Struct, kw_only=True):
    """Unsold containers given back to the carrier at its release deadline."""

    release_id: str
    allotment_id: uuid.UUID
    carrier_scac: str
    voyage_number: str
    size_type: str
    units_requested: int
    units_released: int


class SailingCancelled(msgspec.Struct, kw_only=True):
    sailing_id: uuid.UUID
    voyage_number: str
    reason: str | None
    holds_released: int
    bookings_rolled: int


class EndpointDisabled(msgspec.Struct, kw_only=True):
    """A webhook endpoint stopped receiving: every attempt failed since ``failing_since``."""

    endpoint_id: uuid.UUID
    url: str
    failing_since: datetime
    disabled_at: datetime
    reason: str


class ManifestDelivery(msgspec.Struct, kw_only=True):
    """A version of a sailing's consolidated manifest at its carrier: ``manifest.submitted``
    once the carrier took it (``receipt_reference`` is its reference), then
    ``manifest.accepted`` or ``manifest.rejected`` (with the carrier's ``reason``)."""

    manifest_id: uuid.UUID
    version: int
    sailing_id: uuid.UUID
    carrier_scac: str
    voyage_number: str
    checksum: str
    containers: int
    house_bills: int
    attempts: int
    receipt_reference: str | None = None
    reason: str | None = None


class EventType(msgspec.Struct, kw_only=True, frozen=True):
    name: str
    description: str
    payload: type[msgspec.Struct]
    version: int = 1
    # The payload field naming the booking the event is about, for events whose payload does
    # not say who placed it: the sequencer finds the owner and placing marketplace through it.
    booking_key: str | None = None


EVENT_TYPES: tuple[EventType, ...] = (
    EventType(name="hold.created", description="Space was held at a locked price.", payload=HoldPayload),
    EventType(
        name="hold.extended",
        description="A hold was kept longer; expires_at is its new expiry.",
        payload=HoldPayload,
    ),
    EventType(name="hold.confirmed", description="A hold became a booking.", payload=HoldPayload),
    EventType(
        name="hold.released",
        description="A hold was released by its owner, or by the platform (see reason).",
        payload=HoldPayload,
    ),
    EventType(name="hold.expired", description="A hold passed its expiry unconfirmed.", payload=HoldPayload),
    EventType(name="booking.confirmed", description="A booking was made from a hold.", payload=BookingView),
    EventType(
        name="booking.amended",
        description="A booking's quantity, cargo or parties changed.",
        payload=BookingView,
    ),
    EventType(name="booking.cancelled", description="A booking was cancelled.", payload=BookingView),
    EventType(
        name="booking.rolled",
        description="A booking lost its space on the sailing; a hold on a later one may be offered.",
        payload=RolledBooking,
    ),
    EventType(
        name="booking.declined",
        description="The carrier rejected or declined a booking; a hold on a later sailing may be offered.",
        payload=DeclinedBooking,
    ),
    EventType(
        name="booking.schedule_changed",
        description="The sailing of a booking moved.",
        payload=ScheduleChanged,
        booking_key="reference",
    ),
    EventType(
        name="booking.carrier_status_changed",
        description="The carrier accepted, declined, rejected or otherwise moved a booking.",
        payload=CarrierStatusChanged,
        booking_key="booking_reference",
    ),
    EventType(
        name="allotment.released",
        description="Unsold containers went back to the carrier (operators).",
        payload=AllotmentReleased,
    ),
    EventType(
        name="sailing.cancelled",
        description="The carrier cancelled a sailing (operators).",
        payload=SailingCancelled,
    ),
    EventType(
        name="pool.closed",
        description="An LCL pool closed and its bookings were packed into containers (operators).",
        payload=PoolClosed,
    ),
    EventType(
        name="manifest.submitted",
        description="A version of a sailing's consolidated manifest reached its carrier (operators).",
        payload=ManifestDelivery,
    ),
    EventType(
        name="manifest.accepted",
        description="The carrier accepted a version of a sailing's consolidated manifest (operators).",
        payload=ManifestDelivery,
    ),
    EventType(
        name="manifest.rejected",
        description="The carrier refused a version of a sailing's consolidated manifest, or it could "
        "not be sent; reason says why (operators).",
        payload=ManifestDelivery,
    ),
    EventType(
        name="webhook_endpoint.disabled",
        description="A webhook endpoint was disabled after failing continuously.",
        payload=EndpointDisabled,
    ),
)
BY_NAME: dict[str, EventType] = {event_type.name: event_type for event_type in EVENT_TYPES}
NAMES: frozenset[str] = frozenset(BY_NAME)


@functools.cache
def payload_schema(name: str) -> dict[str, Any]:
    """The JSON Schema (2020-12) of a type's payload, standalone (its own ``$defs``)."""
    schema: dict[str, Any] = msgspec.json.schema(BY_NAME[name].payload)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def unknown(names: list[str]) -> list[str]:
    """The names that are not event types, in the order given."""
    return [name for name in names if name not in NAMES]
