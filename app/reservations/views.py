"""Rows of holds and bookings turned into API views and event payloads."""

from __future__ import annotations

from typing import Any

import msgspec

from app.domain.states import BookingState, HoldState, Load
from app.domain.units import from_milli
from app.events import outbox
from app.reservations.repository import BookingRow, CarrierSideRow, ContainerLink, HoldRow, OccupyingRow
from app.reservations.schemas import (
    BookingContainer,
    BookingView,
    Cargo,
    CarrierOperation,
    CarrierSide,
    CarrierStatus,
    HoldView,
    Parties,
)
from app.schemas import Money, SizeType


def _space(row: OccupyingRow) -> dict[str, Any]:
    """The fields holds and bookings share: owner, sailing and quantity in API units."""
    lcl = row.load == Load.LCL
    return {
        "sailing_id": row.sailing_id,
        "organisation_id": row.organisation_id,
        "placed_by": row.placed_by_id,
        "load": Load(row.load),
        "size_type": SizeType(row.size_type),
        "units": None if lcl else row.units,
        "cbm": from_milli(row.volume_dm3) if lcl else None,
        "kg": from_milli(row.weight_g) if lcl else None,
        "price": Money(amount=row.price, currency=row.currency),
    }


def hold_view(row: HoldRow) -> HoldView:
    lcl = row.load == Load.LCL
    return HoldView(
        id=row.id,
        **_space(row),
        rate=Money(amount=row.rate, currency=row.currency),
        minimum=Money(amount=row.minimum, currency=row.currency) if lcl else None,
        state=HoldState(row.state),
        created_at=row.created_at,
        expires_at=row.expires_at,
    )


# The platform's neutral carrier statuses (carriers.base.CarrierBookingStatus) in DCSA
# Booking 2.0 terms.
DCSA_STATUS = {
    "requested": "RECEIVED",
    "pending_amendment": "PENDING_AMENDMENT",
    "accepted": "CONFIRMED",
    "rejected": "REJECTED",
    "declined": "DECLINED",
    "cancelled": "CANCELLED",
    "completed": "COMPLETED",
}


def carrier_side(side: CarrierSideRow | None) -> CarrierSide | None:
    if side is None:
        return None
    times = [t for t in (side.reported_at, side.requested_at) if t is not None]
    status = DCSA_STATUS.get(side.status) if side.status is not None else None
    return CarrierSide(
        carrier_reference=side.carrier_reference,
        carrier_booking_number=side.carrier_booking_number,
        status=msgspec.convert(status, CarrierStatus | None),
        reason=side.reason,
        pending=msgspec.convert(side.pending, CarrierOperation | None),
        updated_at=max(times) if times else None,
        last_error=side.last_error,
    )


def booking_view(
    row: BookingRow, carrier: CarrierSideRow | None = None, container: ContainerLink | None = None
) -> BookingView:
    """The booking as the API shows it; ``carrier`` and ``container`` are its carrier side and
    its container's link when the caller read them (events of bookings not yet sent or packed
    have none)."""
    return BookingView(
        reference=row.reference,
        hold_id=row.hold_id,
        **_space(row),
        cargo=msgspec.convert(row.cargo, Cargo),
        parties=msgspec.convert(row.parties, Parties),
        state=BookingState(row.state),
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
        offered_hold_id=row.offered_hold_id,
        house_bill_number=row.house_bill_number,
        container=None
        if container is None
        else BookingContainer(number=container.number, master_reference=container.master_reference),
        carrier=carrier_side(carrier),
    )


def event_payload(view: msgspec.Struct) -> dict[str, Any]:
    """A view as plain JSON values, the shape webhook receivers get."""
    payload: dict[str, Any] = msgspec.to_builtins(view)
    return payload


def etag(version: int) -> str:
    return f'"v{version}"'


def hold_event(kind: str, row: HoldRow) -> outbox.PendingEvent:
    return outbox.PendingEvent(kind, row.id, row.organisation_id, event_payload(hold_view(row)))
