"""One example payload per event type, for ``GET /v1/event-types`` (checked against the schemas
by the tests)."""

from __future__ import annotations

import functools
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import msgspec

from app.domain.states import BookingState, HoldState, Load
from app.feed import types
from app.reservations.schemas import BookingView, Cargo, Parties, Party
from app.schemas import Money, SizeType

_AT = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
_SHIPPER = uuid.UUID("5b0c7f0e-3a51-4f5e-9a3e-0d8f4b2a7c11")
_MARKETPLACE = uuid.UUID("9e2d1c4b-6f7a-4b8e-8c5d-2a1f3e4d5c66")
_SAILING = uuid.UUID("c3a4b5d6-e7f8-4a9b-8c0d-1e2f3a4b5c6d")
_LATER_SAILING = uuid.UUID("d4b5c6e7-f8a9-4b0c-9d1e-2f3a4b5c6d7e")
_HOLD = uuid.UUID("0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0")
_OFFERED_HOLD = uuid.UUID("1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d")
_PRICE = Money(amount=Decimal("3000.00"), currency="USD")


# What holds and bookings share: two 40' containers a marketplace holds for its shipper.
_SPACE: dict[str, Any] = {
    "sailing_id": _SAILING,
    "organisation_id": _SHIPPER,
    "placed_by": _MARKETPLACE,
    "load": Load.FCL,
    "size_type": SizeType("42G1"),
    "units": 2,
    "cbm": None,
    "kg": None,
    "price": _PRICE,
}


def _hold(state: HoldState, **extra: Any) -> types.HoldPayload:
    return types.HoldPayload(
        id=_HOLD,
        **_SPACE,
        rate=Money(amount=Decimal("1500.00"), currency="USD"),
        minimum=None,
        state=state,
        created_at=_AT,
        expires_at=_AT + timedelta(minutes=10),
        **extra,
    )


def _booking(
    state: BookingState, version: int = 1, offered_hold_id: uuid.UUID | None = None
) -> dict[str, Any]:
    booking = BookingView(
        reference="SP-7K3M9Q2X4B",
        hold_id=_HOLD,
        **_SPACE,
        cargo=Cargo(
            description="Wooden furniture",
            hs_code="940360",
            packages=40,
            gross_kg=Decimal("18500"),
            cbm=Decimal("52.4"),
        ),
        parties=Parties(shipper=Party(name="Exporter Ltd"), consignee=Party(name="Importer Inc")),
        state=state,
        version=version,
        created_at=_AT,
        updated_at=_AT + timedelta(minutes=version - 1),
        offered_hold_id=offered_hold_id,
    )
    fields: dict[str, Any] = msgspec.structs.asdict(booking)
    return fields


def _examples() -> dict[str, msgspec.Struct]:
    return {
        "hold.created": _hold(HoldState.ACTIVE),
        "hold.extended": _hold(HoldState.ACTIVE, extended_from=_AT + timedelta(minutes=5)),
        "hold.confirmed": _hold(HoldState.CONFIRMED),
        "hold.released": _hold(HoldState.RELEASED, reason="carrier_cut"),
        "hold.expired": _hold(HoldState.EXPIRED),
        "booking.confirmed": BookingView(**_booking(BookingState.CONFIRMED)),
        "booking.amended": BookingView(**_booking(BookingState.AMENDED, version=2)),
        "booking.cancelled": BookingView(**_booking(BookingState.CANCELLED, version=3)),
        "booking.rolled": types.RolledBooking(
            **_booking(BookingState.ROLLED, version=2, offered_hold_id=_OFFERED_HOLD),
            cause="carrier_cut",
            alternative=types.OfferedHold(
                hold_id=_OFFERED_HOLD,
                sailing_id=_LATER_SAILING,
                etd=_AT + timedelta(days=11),
                expires_at=_AT + timedelta(minutes=30),
                price=_PRICE,
            ),
            alternative_unavailable=None,
        ),
        "booking.declined": types.DeclinedBooking(
            **_booking(BookingState.DECLINED, version=2, offered_hold_id=_OFFERED_HOLD),
            carrier_status="declined",
            reason="no equipment available",
            alternative=types.OfferedHold(
                hold_id=_OFFERED_HOLD,
                sailing_id=_LATER_SAILING,
                etd=_AT + timedelta(days=11),
                expires_at=_AT + timedelta(minutes=30),
                price=_PRICE,
            ),
            alternative_unavailable=None,
        ),
        "booking.schedule_changed": types.ScheduleChanged(
            reference="SP-7K3M9Q2X4B",
            state="confirmed",
            sailing_id=_SAILING,
            voyage_number="0421E",
            etd_before=_AT + timedelta(days=4),
            etd=_AT + timedelta(days=5),
            eta_before=_AT + timedelta(days=18),
            eta=_AT + timedelta(days=19),
            cut_off_before=_AT + timedelta(days=3),
            cut_off=_AT + timedelta(days=4),
        ),
        "booking.carrier_status_changed": types.CarrierStatusChanged(
            carrier_scac="MAEU",
            carrier_reference="CBR-20261123-0042",
            carrier_booking_number="254789631",
            booking_reference="SP-7K3M9Q2X4B",
            status="accepted",
            reason=None,
            status_before="requested",
            source="poll",
        ),
        "allotment.released": types.AllotmentReleased(
            release_id="rel-0421E-42G1-2026-11-20",
            allotment_id=uuid.UUID("2b3c4d5e-6f7a-4b8c-9d0e-1f2a3b4c5d6e"),
            carrier_scac="MAEU",
            voyage_number="0421E",
            size_type="42G1",
            units_requested=3,
            units_released=3,
        ),
        "sailing.cancelled": types.SailingCancelled(
            sailing_id=_SAILING,
            voyage_number="0421E",
            reason="vessel withdrawn from service",
            holds_released=4,
            bookings_rolled=2,
        ),
        "pool.closed": types.PoolClosed(
            pool_id=uuid.UUID("7d8e9f0a-1b2c-4d3e-8f4a-5b6c7d8e9f0a"),
            sailing_id=_SAILING,
            voyage_number="0421E",
            size_type="45G1",
            closed_at=_AT,
            containers=3,
            containers_drawn=1,
            bookings_placed=41,
            bookings_rolled=1,
            holds_released=2,
        ),
        "manifest.submitted": _manifest(receipt_reference="SI000042"),
        "manifest.accepted": _manifest(receipt_reference="SI000042"),
        "manifest.rejected": _manifest(reason="houseBillOfLadings[0].documentParties.consignee: required"),
        "webhook_endpoint.disabled": types.EndpointDisabled(
            endpoint_id=uuid.UUID("3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f"),
            url="https://checkout.example.com/slotpool/webhooks",
            failing_since=_AT - timedelta(days=5),
            disabled_at=_AT,
            reason="every delivery failed for 120 hours",
        ),
    }


def _manifest(**outcome: Any) -> types.ManifestDelivery:
    return types.ManifestDelivery(
        manifest_id=uuid.UUID("4d5e6f7a-8b9c-4d0e-9f1a-2b3c4d5e6f7a"),
        version=2,
        sailing_id=_SAILING,
        carrier_scac="MAEU",
        voyage_number="0421E",
        checksum="9f2c4e6a8b0d1f3e5a7c9e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a3c5e7b9d1f",
        containers=3,
        house_bills=41,
        attempts=1,
        **outcome,
    )


@functools.cache
def example(name: str) -> dict[str, Any]:
    """The example payload of event type ``name``, as JSON values."""
    payload: dict[str, Any] = msgspec.to_builtins(_examples()[name])
    return payload
