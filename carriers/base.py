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
    """Containers of one ISO 6346 size-type the carrier gives the platform on a sailing."""

    size_type: str
    units: int
    rate: Decimal
    currency: str


class SailingOffer(msgspec.Struct, kw_only=True, frozen=True):
    """One sailing as a carrier reports it, with the allocation it offers on it.

    `cut_offs` is keyed by DCSA cut-off codes (reference-data/CutOffDateTimeCodeList-CS):
    DCO documentation, VCO VGM, FCO FCL delivery, LCO LCL delivery, and so on.
    """

    carrier_scac: str
    service_code: str
    vessel_name: str
    vessel_imo: str | None
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


class AllocationStatus(msgspec.Struct, kw_only=True, frozen=True):
    """The carrier's current allocation on one sailing, as of a moment."""

    key: SailingKey
    allocations: list[OfferedAllocation]
    as_of: datetime


class Party(msgspec.Struct, kw_only=True, frozen=True):
    """A shipper, consignee or notify party. `address` is the street line; `country_code` is
    ISO 3166-1 alpha-2."""

    name: str
    address: str | None = None
    city: str | None = None
    postal_code: str | None = None
    country_code: str | None = None
    email: str | None = None
    phone: str | None = None


class DangerousGoods(msgspec.Struct, kw_only=True, frozen=True):
    """One dangerous-goods line: UN number (4 digits) and IMDG class (e.g. "3", "2.1")."""

    un_number: str
    imo_class: str
    proper_shipping_name: str | None = None
    packing_group: int | None = None


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
    """A booking the platform places with a carrier on one sailing and size-type."""

    reference: str
    sailing: SailingKey
    size_type: str
    units: int
    cargo_description: str
    hs_code: str
    gross_weight_kg: Decimal
    volume_cbm: Decimal
    dangerous_goods: list[DangerousGoods] = []
    shipper: Party
    consignee: Party
    notify: Party | None = None


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
    """One shipper's cargo in a container, under the platform's house bill of lading."""

    booking_reference: str
    shipper: Party
    consignee: Party
    cargo_description: str
    hs_code: str
    packages: int
    gross_weight_kg: Decimal
    volume_cbm: Decimal
    dangerous_goods: list[DangerousGoods] = []


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


class Manifest(msgspec.Struct, kw_only=True, frozen=True):
    """The consolidated manifest of one sailing: every container and its house bills."""

    sailing: SailingKey
    containers: list[ManifestContainer]


class ManifestReceipt(msgspec.Struct, kw_only=True, frozen=True):
    carrier_reference: str
    accepted: bool


class CarrierError(Exception):
    """Something went wrong talking to carrier `scac`."""

    def __init__(self, scac: str, message: str) -> None:
        super().__init__(f"{scac}: {message}")
        self.scac = scac
        self.message = message


class RetryableCarrierError(CarrierError):
    """Worth trying again later: timeouts, connection errors, 5xx, 429."""


class PermanentCarrierError(CarrierError):
    """Trying again will not help: 4xx, a rejection, an unknown sailing."""


class MalformedCarrierAnswer(PermanentCarrierError):
    """The carrier answered, but with bad JSON or a payload that breaks its own schema."""


class CarrierAdapter(Protocol):
    """One carrier, whatever it speaks. Every call is a coroutine and raises only
    `CarrierError` subclasses; `kind` is "dcsa", "feed" or "simulated"."""

    scac: str
    kind: str

    async def schedules(self, query: ScheduleQuery) -> list[SailingOffer]:
        """Sailings matching the query, with the allocation offered on each."""
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
