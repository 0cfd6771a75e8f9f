"""Request and response bodies of holds and bookings."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

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


# DCSA Booking 2.0.4 limits (the same as carriers/dcsa/fields.py).
PackageCode = Annotated[str, msgspec.Meta(max_length=2, pattern=r"^[A-Z0-9]{2}$", examples=["CT"])]
ImoPackagingCode = Annotated[str, msgspec.Meta(max_length=5, pattern=r"^[A-Z0-9]{1,5}$", examples=["1A1"])]
PackagingDescription = Annotated[str, msgspec.Meta(min_length=1, max_length=100, examples=["Steel drums"])]
TechnicalName = Annotated[str, msgspec.Meta(min_length=1, max_length=250)]
EmsNumber = Annotated[str, msgspec.Meta(min_length=1, max_length=7, examples=["F-E S-E"])]
StreetNumber = Annotated[str, msgspec.Meta(min_length=1, max_length=50)]
LocationName = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=TRIMMED)]
UnLocationCode = Annotated[
    str, msgspec.Meta(max_length=5, pattern=r"^[A-Z]{2}[A-Z2-9]{3}$", examples=["NLRTM"])
]
# DCSA modeOfTransport of pre- and on-carriage.
CarriageMode = Literal[
    "VESSEL", "RAIL", "TRUCK", "BARGE", "RAIL_TRUCK", "BARGE_TRUCK", "BARGE_RAIL", "MULTIMODAL"
]
# Container yard, store door (carrier haulage to or from an address), container freight station.
ServiceType = Literal["CY", "SD", "CFS"]
TemperatureUnit = Literal["CEL", "FAH"]
# Set points carriers accept, by unit; one decimal place (DCSA sends a number).
_SET_POINT_RANGE = {"CEL": (Decimal(-70), Decimal(70)), "FAH": (Decimal(-94), Decimal(158))}


def _within(value: Decimal, low: Decimal, high: Decimal) -> bool:
    """A finite decimal from ``low`` to ``high`` with one decimal place at most."""
    return value.is_finite() and low <= value <= high and value == value.quantize(Decimal("0.1"))


class DangerousGoods(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    un_number: Annotated[str, msgspec.Meta(pattern=trade_codes.UN_NUMBER, examples=["1263"])]
    imo_class: Annotated[str, msgspec.Meta(max_length=4, examples=["3"])]
    proper_shipping_name: ProperShippingName | None = None
    technical_name: TechnicalName | None = None
    packing_group: Annotated[int, msgspec.Meta(ge=1, le=3)] | None = None
    is_marine_pollutant: bool = False
    is_limited_quantity: bool = False
    ems_number: EmsNumber | None = None
    flash_point_celsius: Annotated[Decimal, msgspec.Meta(examples=["23.5"])] | None = None

    def __post_init__(self) -> None:
        point = self.flash_point_celsius
        if point is not None and not _within(point, Decimal(-100), Decimal(400)):
            raise ValueError("flash_point_celsius is a decimal from -100 to 400, one place at most")


class Reefer(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """An operating reefer: the set point the cargo needs, in ``unit``."""

    set_point: Annotated[Decimal, msgspec.Meta(examples=["-18.0"])]
    unit: TemperatureUnit = "CEL"
    humidity_percent: Annotated[Decimal, msgspec.Meta(examples=["85"])] | None = None
    pre_cooling: bool = False

    def __post_init__(self) -> None:
        low, high = _SET_POINT_RANGE[self.unit]
        if not _within(self.set_point, low, high):
            raise ValueError(f"set_point is a decimal from {low} to {high} {self.unit}, one place at most")
        humidity = self.humidity_percent
        if humidity is not None and not _within(humidity, Decimal(0), Decimal(100)):
            raise ValueError("humidity_percent is a decimal from 0 to 100, one place at most")


class Address(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    street: Street
    city: City
    country_code: CountryCode
    street_number: StreetNumber | None = None
    postal_code: PostalCode | None = None


class Location(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A UN/LOCODE, a named facility, a street address, or several naming one place."""

    un_location_code: UnLocationCode | None = None
    name: LocationName | None = None
    address: Address | None = None

    def __post_init__(self) -> None:
        if self.un_location_code is None and self.address is None:
            raise ValueError("a location needs un_location_code or address")


class Haulage(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Who moves the container at each end (DCSA receiptTypeAtOrigin, deliveryTypeAtDestination)
    and where; store door (SD) needs the door's address."""

    receipt_type_at_origin: ServiceType = "CY"
    delivery_type_at_destination: ServiceType = "CY"
    place_of_receipt: Location | None = None
    place_of_delivery: Location | None = None
    pre_carriage_mode: CarriageMode | None = None
    on_carriage_mode: CarriageMode | None = None

    def __post_init__(self) -> None:
        receipt, delivery = self.place_of_receipt, self.place_of_delivery
        if self.receipt_type_at_origin == "SD" and (receipt is None or receipt.address is None):
            raise ValueError("place_of_receipt with an address is needed for store-door (SD) receipt")
        if self.delivery_type_at_destination == "SD" and (delivery is None or delivery.address is None):
            raise ValueError("place_of_delivery with an address is needed for store-door (SD) delivery")


class Cargo(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """What is shipped and how it is packed. ``reefer`` (a set point) or ``non_operating_reefer``
    only on reefer size-types (checked against the booking's); ``haulage`` for carrier haulage."""

    description: CargoDescription
    hs_code: Annotated[str, msgspec.Meta(pattern=trade_codes.HS_CODE, examples=["940360"])]
    packages: PositiveInt
    gross_kg: PositiveDecimal
    cbm: PositiveDecimal
    dangerous_goods: Annotated[list[DangerousGoods], msgspec.Meta(max_length=20)] = msgspec.field(
        default_factory=list
    )
    # Outer packaging: a UN/ECE Rec. 21 package code, or the IMDG packaging code of DG cargo.
    package_code: PackageCode | None = None
    imo_packaging_code: ImoPackagingCode | None = None
    packaging_description: PackagingDescription | None = None
    reefer: Reefer | None = None
    non_operating_reefer: bool = False
    haulage: Haulage | None = None

    def __post_init__(self) -> None:
        check_decimals(self)
        if self.reefer is not None and self.non_operating_reefer:
            raise ValueError("reefer and non_operating_reefer exclude each other")


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


# A booking's status at its carrier, in DCSA Booking 2.0 terms.
CarrierStatus = Literal[
    "RECEIVED",
    "PENDING_UPDATE",
    "CONFIRMED",
    "PENDING_AMENDMENT",
    "REJECTED",
    "DECLINED",
    "CANCELLED",
    "COMPLETED",
]
CarrierOperation = Literal["request", "amend", "cancel"]


class CarrierSide(msgspec.Struct, kw_only=True):
    """An FCL booking at its carrier: the carrier's references and status as last reported
    (answer, polling or notification), the request still waiting to be sent or answered (if
    any), and the last error sending a request met."""

    carrier_reference: str | None
    carrier_booking_number: str | None
    status: CarrierStatus | None
    reason: str | None
    pending: CarrierOperation | None
    updated_at: datetime | None
    last_error: str | None


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
    # FCL bookings only: where the booking stands with the carrier.
    carrier: CarrierSide | None = None


class BookingContainer(msgspec.Struct, kw_only=True):
    """The container an LCL booking travels in once its pool closed: its number in the pool and
    the platform's master booking reference with the carrier."""

    number: int
    master_reference: str


class BookingPage(msgspec.Struct, kw_only=True):
    items: list[BookingView]
    next_cursor: str | None
