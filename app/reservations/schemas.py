"""Request and response bodies of holds and bookings."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated

import msgspec

from app.domain import trade_codes
from app.domain.states import Load
from app.schemas import Money, PositiveDecimal, SizeType, Text, require_positive

PositiveInt = Annotated[int, msgspec.Meta(gt=0, le=10_000)]


class HoldCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """FCL: ``size_type`` and ``units``. LCL: ``cbm`` and ``kg`` (``size_type`` picks the pool)."""

    sailing_id: uuid.UUID
    load: Load
    size_type: SizeType | None = None
    units: PositiveInt | None = None
    cbm: PositiveDecimal | None = None
    kg: PositiveDecimal | None = None
    ttl_seconds: Annotated[int, msgspec.Meta(gt=0)] | None = None
    # A marketplace places the hold for one of its shippers.
    on_behalf_of: uuid.UUID | None = None

    def __post_init__(self) -> None:
        require_positive(self, "cbm", "kg")


class HoldView(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    sailing_id: uuid.UUID
    organisation_id: uuid.UUID
    placed_by: uuid.UUID | None
    load: Load
    size_type: str
    units: int | None
    cbm: Decimal | None
    kg: Decimal | None
    # The quote is locked: the booking is charged at this rate.
    price: Money
    rate: Money
    minimum: Money | None
    state: str
    created_at: datetime
    expires_at: datetime


class DangerousGoods(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    un_number: Annotated[str, msgspec.Meta(pattern=trade_codes.UN_NUMBER, examples=["1263"])]
    imo_class: Annotated[str, msgspec.Meta(examples=["3"])]


class Cargo(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    description: Text
    hs_code: Annotated[str, msgspec.Meta(pattern=trade_codes.HS_CODE, examples=["940360"])]
    packages: PositiveInt
    gross_kg: PositiveDecimal
    cbm: PositiveDecimal
    dangerous_goods: list[DangerousGoods] = msgspec.field(default_factory=list)

    def __post_init__(self) -> None:
        require_positive(self, "gross_kg", "cbm")


class Party(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    address: Annotated[str, msgspec.Meta(max_length=500)] | None = None
    email: Annotated[str, msgspec.Meta(max_length=200)] | None = None


class Parties(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    shipper: Party
    consignee: Party
    notify: Party | None = None


class HoldConfirm(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    cargo: Cargo
    parties: Parties


class BookingAmend(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Any of these; quantities move the sailing's counters, priced at the hold's quote."""

    units: PositiveInt | None = None
    cbm: PositiveDecimal | None = None
    kg: PositiveDecimal | None = None
    cargo: Cargo | None = None
    parties: Parties | None = None

    def __post_init__(self) -> None:
        require_positive(self, "cbm", "kg")


class BookingView(msgspec.Struct, kw_only=True):
    reference: str
    hold_id: uuid.UUID
    sailing_id: uuid.UUID
    organisation_id: uuid.UUID
    placed_by: uuid.UUID | None
    load: Load
    size_type: str
    units: int | None
    cbm: Decimal | None
    kg: Decimal | None
    price: Money
    cargo: Cargo
    parties: Parties
    state: str
    version: int
    created_at: datetime
    updated_at: datetime


class BookingPage(msgspec.Struct, kw_only=True):
    items: list[BookingView]
    next_cursor: str | None
