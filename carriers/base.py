"""The neutral language every carrier adapter speaks, and the errors it raises.

Adapters translate between a carrier's own wire format (DCSA JSON, allocation sheets, EDIFACT)
and these types. The app only ever sees these types, so a new carrier is a new adapter and
nothing else. All datetimes are timezone-aware UTC; money, weights and volumes are `Decimal`.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Literal, Protocol

import msgspec

SailingStatus = Literal["scheduled", "cancelled"]
LoadType = Literal["FCL", "LCL"]
# Who moves the container at each end: container yard, store door (carrier haulage), or the
# carrier's container freight station (DCSA receiptTypeAtOrigin / deliveryTypeAtDestination).
ServiceType = Literal["CY", "SD", "CFS"]
TemperatureUnit = Literal["CEL", "FAH"]


class SailingKey(msgspec.Struct, kw_only=True, frozen=True):
    """Natural key of a sailing: one voyage of one carrier from a port of loading to a port of
    discharge. Hashable, so it can key dicts and sets."""

    carrier_scac: str
    voyage_number: str
    port_of_loading: str
    port_of_discharge: str


class ScheduleQuery(msgspec.Struct, kw_only=True, frozen=True):
    """What to search for. None means "any"; origin/destination are UN/LOCODEs and the ETD
    window is inclusive, in UTC."""

    origin: str | None = None
    destination: str | None = None
    etd_from: datetime | None = None
    etd_to: datetime | None = None

    def matches(self, offer: SailingOffer) -> bool:
        """True when the offer falls inside this query."""
        return (
            (self.origin is None or offer.port_of_loading == self.origin)
            and (self.destination is None or offer.port_of_discharge == self.destination)
            and (self.etd_from is None or offer.etd >= self.etd_from)
            and (self.etd_to is None or offer.etd <= self.etd_to)
        )


class OfferedAllocation(msgspec.Struct, kw_only=True, frozen=True):
    """Containers of one ISO 6346 size-type the carrier gives the platform on a sailing.

    ``allocated_at`` dates the allocation: units released to the carrier before that moment
    are part of it already, units released after it come off it. None means "an allocation
    older than any release": it never lifts an allotment above what was released.
    """

    size_type: str
    units: int
    rate: Decimal
    currency: str
    allocated_at: datetime | None = None


class SailingOffer(msgspec.Struct, kw_only=True, frozen=True):
    """One sailing as a carrier reports it, with the allocation it offers on it.

    `cut_offs` is keyed by DCSA cut-off codes (reference-data/CutOffDateTimeCodeList-CS):
    DCO documentation, VCO VGM, FCO FCL delivery, LCO LCL delivery, and so on.
    """

    carrier_scac: str
    # Carriers may leave the service or the vessel out (a vessel to be named): still a sailing.
    service_code: str | None = None
    vessel_name: str | None = None
    vessel_imo: str | None = None
    voyage_number: str
    port_of_loading: str
    port_of_discharge: str
    etd: datetime
    eta: datetime
    cut_offs: dict[str, datetime]
    status: SailingStatus = "scheduled"
    allocations: list[OfferedAllocation] = []

    @property
    def key(self) -> SailingKey:
        """The sailing's natural key."""
        return SailingKey(
            carrier_scac=self.carrier_scac,
            voyage_number=self.voyage_number,
            port_of_loading=self.port_of_loading,
            port_of_discharge=self.port_of_discharge,
        )


class ScheduleAnswer(msgspec.Struct, kw_only=True, frozen=True):
    """A carrier's answer to a schedule query.

    ``complete`` is False when the adapter knows it may have missed sailings: a page that
    failed, routes or sheets it skipped (listed in ``problems``). A sailing absent from an
    incomplete answer tells nothing about that sailing.
    """

    offers: list[SailingOffer]
    complete: bool = True
    problems: list[str] = []
    # The ORIGIN-DESTINATION pairs (UN/LOCODEs) the answer covers, when an adapter asks lane by
    # lane; None when it answers for every sailing it has. A sailing of another lane is not
    # missing from the answer: it was not asked about.
    lanes: list[str] | None = None


class AllocationStatus(msgspec.Struct, kw_only=True, frozen=True):
    """The carrier's current allocation on one sailing, as of a moment."""

    key: SailingKey
    allocations: list[OfferedAllocation]
    as_of: datetime


class Party(msgspec.Struct, kw_only=True, frozen=True):
    """A shipper, consignee or notify party. `address` is the street line; `country_code` is
    ISO 3166-1 alpha-2; `contact_name` the person to ask (the party's name when absent)."""

    name: str
    address: str | None = None
    city: str | None = None
    postal_code: str | None = None
    country_code: str | None = None
    email: str | None = None
    phone: str | None = None
    contact_name: str | None = None


class Address(msgspec.Struct, kw_only=True, frozen=True):
    """A street address (a store door, a warehouse)."""

    street: str
    city: str
    country_code: str
    street_number: str | None = None
    postal_code: str | None = None


class Location(msgspec.Struct, kw_only=True, frozen=True):
    """A place cargo is handed over at: a UN/LOCODE, a named facility, a street address, or
    several of them naming the same place."""

    un_location_code: str | None = None
    name: str | None = None
    address: Address | None = None


class DangerousGoods(msgspec.Struct, kw_only=True, frozen=True):
    """One dangerous-goods entry: UN number (4 digits) and IMDG class (e.g. "3", "2.1").

    ``gross_weight_kg`` is this entry's weight with its packaging; when a cargo line carries a
    single entry, the line's weight stands for it.
    """

    un_number: str
    imo_class: str
    proper_shipping_name: str | None = None
    technical_name: str | None = None
    packing_group: int | None = None
    is_marine_pollutant: bool = False
    is_limited_quantity: bool = False
    ems_number: str | None = None
    flash_point_celsius: Decimal | None = None
    gross_weight_kg: Decimal | None = None


class ReeferSettings(msgspec.Struct, kw_only=True, frozen=True):
    """An operating reefer: the temperature the cargo needs (DCSA activeReeferSettings)."""

    temperature_setpoint: Decimal
    temperature_unit: TemperatureUnit = "CEL"
    humidity_setpoint: Decimal | None = None
    is_pre_cooling_required: bool = False


class CargoLine(msgspec.Struct, kw_only=True, frozen=True):
    """One commodity in the booked containers, with its outer packaging.

    ``package_code`` is a UN/ECE Recommendation 21 code (e.g. "CT" carton, "DR" drum);
    dangerous goods give their IMDG packaging code (``imo_packaging_code``, e.g. "1A1") or,
    failing that, a package code. ``hs_codes`` are 6-12 digit HS codes.
    """

    description: str
    hs_codes: list[str]
    packages: int
    gross_weight_kg: Decimal
    volume_cbm: Decimal
    package_code: str | None = None
    imo_packaging_code: str | None = None
    packaging_description: str | None = None
    dangerous_goods: list[DangerousGoods] = []


class CarrierBookingStatus(enum.StrEnum):
    """The platform's neutral view of a booking at a carrier."""

    REQUESTED = "requested"
    PENDING_AMENDMENT = "pending_amendment"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    DECLINED = "declined"
    CANCELLED = "cancelled"
    COMPLETED = "completed"


class BookingRequest(msgspec.Struct, kw_only=True, frozen=True):
    """A booking the platform places with a carrier on one sailing and size-type: an FCL
    booking of a shipper, or the master booking of a consolidated LCL container (the platform
    is then the shipper, ``cargo_movement`` still FCL at the carrier: it receives a full box).

    The sailing is named by its voyage (with ``service_code`` or the vessel, as carriers ask),
    or by the ``routing_reference`` a carrier gave with its schedule. ``SD`` (store door) at
    origin needs ``place_of_receipt`` with the door's address and may give
    ``container_positioning_at``; ``SD`` at destination needs ``place_of_delivery``. Reefer
    size-types carry ``reefer`` settings, or travel as ``non_operating_reefer``.
    """

    reference: str
    sailing: SailingKey
    service_code: str | None = None
    vessel_name: str | None = None
    vessel_imo: str | None = None
    routing_reference: str | None = None
    size_type: str
    units: int
    cargo_movement: LoadType = "FCL"
    receipt_type_at_origin: ServiceType = "CY"
    delivery_type_at_destination: ServiceType = "CY"
    place_of_receipt: Location | None = None
    place_of_delivery: Location | None = None
    pre_carriage_mode: str | None = None
    on_carriage_mode: str | None = None
    container_positioning_at: datetime | None = None
    reefer: ReeferSettings | None = None
    non_operating_reefer: bool = False
    cargo: list[CargoLine]
    shipper: Party
    consignee: Party
    notify: Party | None = None

    @property
    def gross_weight_kg(self) -> Decimal:
        """Weight of every cargo line together."""
        return sum((line.gross_weight_kg for line in self.cargo), Decimal(0))

    @property
    def dangerous_goods(self) -> list[DangerousGoods]:
        """Every dangerous-goods entry of every cargo line."""
        return [dg for line in self.cargo for dg in line.dangerous_goods]


class BookingAck(msgspec.Struct, kw_only=True, frozen=True):
    """The carrier's immediate answer to a booking, amendment or cancellation."""

    carrier_reference: str
    status: CarrierBookingStatus


class BookingStatusReport(msgspec.Struct, kw_only=True, frozen=True):
    """Where a booking stands at the carrier (from polling or from a notification)."""

    carrier_reference: str
    status: CarrierBookingStatus
    carrier_booking_number: str | None = None
    reason: str | None = None
    # When the carrier's booking was in this state (the notification's time); None when polled.
    reported_at: datetime | None = None


class UnitRelease(msgspec.Struct, kw_only=True, frozen=True):
    """Give unsold containers back. `release_id` is the idempotency key: the same id twice
    releases once."""

    release_id: str
    sailing: SailingKey
    size_type: str
    units: int


class ReleaseReceipt(msgspec.Struct, kw_only=True, frozen=True):
    release_id: str
    units_released: int


class HouseBill(msgspec.Struct, kw_only=True, frozen=True):
    """One shipper's cargo in a container, under the platform's house bill of lading.

    ``house_bill_number`` is the number printed on the house bill (the platform's, at most 20
    characters); None for a manifest of bookings not consolidated yet, whose reference then
    stands for it. ``reefer`` is the temperature the cargo travels at, when it needs one.
    """

    booking_reference: str
    shipper: Party
    consignee: Party
    cargo_description: str
    hs_code: str
    packages: int
    gross_weight_kg: Decimal
    volume_cbm: Decimal
    dangerous_goods: list[DangerousGoods] = []
    house_bill_number: str | None = None
    notify: Party | None = None
    reefer: ReeferSettings | None = None

    @property
    def bill_reference(self) -> str:
        """The house bill's own number, else the booking's reference."""
        return self.house_bill_number or self.booking_reference


class ManifestContainer(msgspec.Struct, kw_only=True, frozen=True):
    """A container on the manifest.

    DCSA shipping instructions also need `seal_number` (the platform seals its consolidated
    containers) and `carrier_booking_reference` (the carrier's booking number the container
    travels under); other adapters ignore them when absent.
    """

    container_ref: str
    size_type: str
    load: LoadType
    house_bills: list[HouseBill]
    seal_number: str | None = None
    carrier_booking_reference: str | None = None
    # The platform's master booking the container is (our reference, sent to the carrier).
    master_reference: str | None = None
    # The set point of a reefer container carrying cargo that needs one.
    reefer: ReeferSettings | None = None


class Manifest(msgspec.Struct, kw_only=True, frozen=True):
    """The consolidated manifest of one sailing: every container and its house bills."""

    sailing: SailingKey
    containers: list[ManifestContainer]


class ManifestReceipt(msgspec.Struct, kw_only=True, frozen=True):
    carrier_reference: str
    accepted: bool


class ErrorDetail(msgspec.Struct, kw_only=True, frozen=True):
    """One thing wrong, where known: the property (a JSON path, a sheet row) and why."""

    message: str
    property: str | None = None


class CarrierError(Exception):
    """Something went wrong talking to carrier `scac`.

    ``status`` is the carrier's HTTP status where there was one; ``errors`` lists what the
    carrier (or our own check before sending) found wrong, one entry per property.
    """

    def __init__(
        self,
        scac: str,
        message: str,
        *,
        status: int | None = None,
        errors: list[ErrorDetail] | None = None,
    ) -> None:
        super().__init__(f"{scac}: {message}")
        self.scac = scac
        self.message = message
        self.status = status
        self.errors = errors or []


class RetryableCarrierError(CarrierError):
    """Worth trying again later: timeouts, connection errors, 5xx, 429.

    ``retry_after`` is the wait in seconds the carrier asked for (``Retry-After`` on 429/503).
    """

    def __init__(
        self,
        scac: str,
        message: str,
        *,
        status: int | None = None,
        errors: list[ErrorDetail] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(scac, message, status=status, errors=errors)
        self.retry_after = retry_after

    @property
    def rate_limited(self) -> bool:
        """The carrier is healthy but wants fewer calls (HTTP 429)."""
        return self.status == 429


class PermanentCarrierError(CarrierError):
    """Trying again will not help: 4xx, a rejection, an unknown sailing."""


class MalformedCarrierAnswer(PermanentCarrierError):
    """The carrier answered, but with bad JSON or a payload that breaks its own schema."""


class InvalidCarrierRequest(PermanentCarrierError):
    """What we were asked to send breaks the carrier's rules (a field too long, a condition of
    the standard unmet); refused before sending, never truncated. ``errors`` lists each."""


class CarrierAdapter(Protocol):
    """One carrier, whatever it speaks. Every call is a coroutine and raises only
    `CarrierError` subclasses; `kind` is "dcsa", "feed" or "simulated".

    An adapter may say ``deduplicates_booking_requests = True``: `request_booking` with a
    `BookingRequest.reference` it has seen answers with the booking made then, never a second
    one, so a request whose answer was lost can be sent again. Without it, the app does not."""

    scac: str
    kind: str

    async def schedules(self, query: ScheduleQuery) -> ScheduleAnswer:
        """Sailings matching the query, with the allocation offered on each, and whether the
        answer is complete."""
        ...

    async def allocation(self, key: SailingKey) -> AllocationStatus:
        """Current allocation on one sailing. Idempotent."""
        ...

    async def request_booking(self, req: BookingRequest) -> BookingAck:
        """Place a booking; the answer usually says `requested` (carriers confirm later)."""
        ...

    async def booking_status(self, carrier_reference: str) -> BookingStatusReport:
        """Where the booking stands now. Idempotent."""
        ...

    async def amend_booking(self, carrier_reference: str, req: BookingRequest) -> BookingAck:
        """Replace the booking's content with `req`."""
        ...

    async def cancel_booking(self, carrier_reference: str) -> BookingAck:
        """Ask the carrier to cancel the booking."""
        ...

    async def release_units(self, release: UnitRelease) -> ReleaseReceipt:
        """Give containers back; idempotent on `release.release_id`."""
        ...

    async def submit_manifest(self, manifest: Manifest) -> ManifestReceipt:
        """Send the consolidated manifest of one sailing."""
        ...

    async def aclose(self) -> None:
        """Release connections and files."""
        ...
