"""Rows of holds and bookings turned into API views and event payloads."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.states import Load
from app.domain.units import from_milli
from app.reservations.schemas import BookingView, Cargo, HoldView, Parties
from app.schemas import Money

# Called by a service inside its transaction with the answer it is about to commit, so that an
# idempotent request stores its replayable response atomically with the change.
Finish = Callable[[AsyncConnection, msgspec.Struct], Awaitable[None]]


def hold_view(row: Any) -> HoldView:
    lcl = row.load == Load.LCL
    return HoldView(
        id=row.id,
        sailing_id=row.sailing_id,
        organisation_id=row.organisation_id,
        placed_by=row.placed_by_id,
        load=Load(row.load),
        size_type=row.size_type,
        units=None if lcl else row.units,
        cbm=from_milli(row.volume_dm3) if lcl else None,
        kg=from_milli(row.weight_g) if lcl else None,
        price=Money(amount=row.price, currency=row.currency),
        rate=Money(amount=row.rate, currency=row.currency),
        minimum=Money(amount=row.minimum, currency=row.currency) if lcl else None,
        state=row.state,
        created_at=row.created_at,
        expires_at=row.expires_at,
    )


def booking_view(row: Any) -> BookingView:
    lcl = row.load == Load.LCL
    return BookingView(
        reference=row.reference,
        hold_id=row.hold_id,
        sailing_id=row.sailing_id,
        organisation_id=row.organisation_id,
        placed_by=row.placed_by_id,
        load=Load(row.load),
        size_type=row.size_type,
        units=None if lcl else row.units,
        cbm=from_milli(row.volume_dm3) if lcl else None,
        kg=from_milli(row.weight_g) if lcl else None,
        price=Money(amount=row.price, currency=row.currency),
        cargo=msgspec.convert(row.cargo, Cargo),
        parties=msgspec.convert(row.parties, Parties),
        state=row.state,
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def event_payload(view: msgspec.Struct) -> dict[str, Any]:
    """A view as plain JSON values, the shape webhook receivers get."""
    payload: dict[str, Any] = msgspec.to_builtins(view)
    return payload


def etag(version: int) -> str:
    return f'"v{version}"'
