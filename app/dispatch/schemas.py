"""What the carrier request endpoints read and write (operators only)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from app.carrier_requests.models import RequestState
from app.reservations.schemas import CarrierOperation, CarrierStatus

CarrierReference = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=r"^\S(.*\S)?$")]


class CarrierRequestView(msgspec.Struct, kw_only=True):
    """One request to a carrier about a booking (``booking``) or the master booking of a
    consolidated container (``master``), and how its sending went."""

    id: uuid.UUID
    subject_kind: Literal["booking", "master"]
    subject_reference: str
    operation: CarrierOperation
    sequence: int
    state: RequestState
    attempts: int
    maybe_sent: bool
    next_attempt_at: datetime
    carrier_reference: str | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime


class CarrierRequestPage(msgspec.Struct, kw_only=True):
    items: list[CarrierRequestView]
    next_cursor: str | None


class RequestSettlement(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """What the carrier said when asked about a booking request whose outcome was unknown.

    ``received``: the carrier has the booking, under ``carrier_reference``, in ``status``
    (DCSA terms); the booking's later requests follow. ``not_received``: it has none; the
    request is sent again."""

    outcome: Literal["received", "not_received"]
    carrier_reference: CarrierReference | None = None
    status: CarrierStatus = "RECEIVED"
