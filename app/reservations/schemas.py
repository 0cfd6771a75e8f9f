"""Request and response bodies of holds and bookings."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated

import msgspec

from app.domain import trade_codes
from app.domain.states import BookingState, HoldState, Load
from app.schemas import Money, PositiveDecimal, SizeType, check_decimals

PositiveInt = Annotated[int, msgspec.Meta(gt=0, le=10_000)]
# At most a day: the configured maximum (SLOTPOOL_HOLD_TTL_MAX_SECONDS) is checked beside it.
TtlSeconds = Annotated[int, msgspec.Meta(gt=0, le=86_400, description="seconds", examples=[600])]


class HoldCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """FCL: ``size_type`` and ``units``. LCL: ``cbm`` and ``kg`` (``size_type`` picks the pool)."""

    sailing_id: uuid.UUID
    load: Load
    size_type: SizeType | None = None
    units: PositiveInt | None = None
    cbm: PositiveDecimal | None = None
    kg: PositiveDecimal | None = None
    ttl_seconds: TtlSeconds | None = None
    # A marketplace places the hold for one of its shippers (required for a marketplace).
    on_behalf_of: uuid.UUID | None = None

    def __post_init__(self) -> None:
        check_decimals(self)


class HoldExtend(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Keep the hold ``ttl_seconds`` from now, within SLOTPOOL_HOLD_TTL_MAX_SECONDS; never past
    the hold's maximum lifetime (SLOTPOOL_HOLD_MAX_LIFETIME_SECONDS from its creation) nor the
    sailing's cut-off: the answer's ``expires_at`` says where it ended."""

    ttl_seconds: TtlSeconds


class HoldView(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    sailing_id: uuid.UUID
    organisation_id: uuid.UUID
    placed_by: uuid.UUID | None
    load: Load
    size_type: SizeType
    units: int | None
    cbm: Decimal | None
    kg: Decimal | None
    # The quote is locked: the booking is charged at this rate.
    price: Money
    rate: Money
    minimum: Money | None
    state: HoldState
    created_at: datetime
    expires_at: datetime


class HoldPage(msgspec.Struct, kw_only=True):
    items: list[HoldView]
    next_cursor: str | None


# Texts that reach carriers keep within DCSA Booking 2.0.4's limits (the same as
# carriers/dcsa/fields.py; a test compares both with the spec): what passes here is never refused
# nor cut by a carrier adapter. TRIMMED is DCSA's "no leading or trailing blank, no line break".
TRIMMED = r"^\S(?:.*\S)?$"
PartyName = Annotated[
    str, msgspec.Meta(min_length=1, max_length=70, pattern=TRIMMED, examples=["Exporter Ltd"])
]
Street = Annotated[str, msgspec.Meta(min_length=1, max_length=70, examples=["88 Huayuan Road"])]
City = Annotated[str, msgspec.Meta(min_length=1, max_length=35, pattern=TRIMMED, examples=["Hefei"])]
PostalCode = Annotated[str, msgspec.Meta(min_length=1, max_length=10, examples=["230000"])]
CountryCode = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{2}$", examples=["CN"])]
ContactName = Annotated[str, msgspec.Meta(min_length=1, max_length=35, pattern=TRIMMED, examples=["Li Wei"])]
Email = Annotated[str, msgspec.Meta(max_length=100, pattern=r"^.+@\S+$", examples=["export@example.com"])]
Phone = Annotated[
    str, msgspec.Meta(min_length=1, max_length=30, pattern=TRIMMED, examples=["+86 551 5555 0101"])
]
CargoDescription = Annotated[str, msgspec.Meta(min_length=1, max_length=500, pattern=TRIMMED)]
ProperShippingName = Annotated[str, msgspec.Meta(min_length=1, max_length=250, examples=["PAINT"])]


class DangerousGoods(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    un_number: Annotated[str, msgspec.Meta(pattern=trade_codes.UN_NUMBER, examples=["1263"])]
    imo_class: Annotated[str, msgspec.Meta(max_length=4, examples=["3"])]
    proper_shipping_name: ProperShippingName | None = None
    packing_group: Annotated[int, msgspec.Meta(ge=1, le=3)] | None = None


class CargoReefer(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Temperature-controlled LCL cargo: it rides only in an operating reefer of a reefer pool,
    beside cargo of a compatible set point."""

    set_point_c: Annotated[
        Decimal, msgspec.Meta(description="degrees Celsius, -70 to 40, one place at most", examples=["-18.0"])
    ]

    def __post_init__(self) -> None:
        # A reefer's range; stored as NUMERIC(5, 1) on the container.
        if not self.set_point_c.is_finite() or not Decimal(-70) <= self.set_point_c <= Decimal(40):
            raise ValueError("set_point_c must be between -70 and 40 degrees Celsius")
        if self.set_point_c != self.set_point_c.quantize(Decimal("0.1")):
            raise ValueError("set_point_c allows at most one decimal place")


class Cargo(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    description: CargoDescription
    hs_code: Annotated[str, msgspec.Meta(pattern=trade_codes.HS_CODE, examples=["940360"])]
    packages: PositiveInt
    gross_kg: PositiveDecimal
    cbm: PositiveDecimal
    dangerous_goods: list[DangerousGoods] = msgspec.field(default_factory=list)
    reefer: CargoReefer | None = None

    def __post_init__(self) -> None:
        check_decimals(self)


class Party(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A shipper, consignee or notify party. ``address`` is the street and number; with
    ``city`` and ``country_code`` it makes the address carriers take (all three or none). A
    contact (``email`` or ``phone``) is named by ``contact_name``, or by the party's name when
    that fits a contact name (35 characters)."""

    name: PartyName
    address: Street | None = None
    city: City | None = None
    postal_code: PostalCode | None = None
    country_code: CountryCode | None = None
    contact_name: ContactName | None = None
    email: Email | None = None
    phone: Phone | None = None

    def __post_init__(self) -> None:
        located = (self.address, self.city, self.country_code)
        if (any(located) or self.postal_code) and not all(located):
            raise ValueError("address, city and country_code are given together")
        contact = self.email or self.phone
        if self.contact_name is not None and not contact:
            raise ValueError("a contact_name needs an email or a phone")
        if contact and self.contact_name is None and len(self.name) > 35:
            raise ValueError("contact_name is needed: the name is longer than a contact's 35 characters")


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
        check_decimals(self)


class BookingView(msgspec.Struct, kw_only=True):
    reference: str
    hold_id: uuid.UUID
    sailing_id: uuid.UUID
    organisation_id: uuid.UUID
    placed_by: uuid.UUID | None
    load: Load
    size_type: SizeType
    units: int | None
    cbm: Decimal | None
    kg: Decimal | None
    price: Money
    cargo: Cargo
    parties: Parties
    state: BookingState
    version: int
    created_at: datetime
    updated_at: datetime
    # The hold placed for the owner on another sailing when the booking lost its space
    # (rolled, or declined by the carrier): confirm it to keep the cargo moving.
    offered_hold_id: uuid.UUID | None = None
    # LCL, once its pool closed at the LCL cut-off: its house bill of lading number and its
    # container (GET /v1/bookings/{reference}/house-bill prints the house bill).
    house_bill_number: str | None = None
    container: BookingContainer | None = None


class BookingContainer(msgspec.Struct, kw_only=True):
    """The container an LCL booking travels in once its pool closed: its number in the pool and
    the platform's master booking reference with the carrier."""

    number: int
    master_reference: str


class BookingPage(msgspec.Struct, kw_only=True):
    items: list[BookingView]
    next_cursor: str | None
