"""A carrier that speaks DCSA over HTTP: CS 1.0 schedules, Booking 2.0, eBL 3.0 SI.

Settings (plain JSON):

- ``base_url`` (required), ``token`` (bearer, optional), ``timeout`` (seconds per call, 10)
- ``lanes``: ``["CNSHA-USLAX", ...]`` asked for when a query leaves origin or destination open
  (Commercial Schedules needs both)
- ``booking_agent``: the platform as a party (``{"name": ..., "email": ...}``), required
- ``contact``: ``{"name": ..., "email"|"phone": ...}`` for shipping instructions, required
- ``dg_emergency_contact``: ``{"contact": ..., "phone": ...}``, needed to book dangerous goods
- ``allocation``: the contract's allocation per sailing, ``{"42G1": {"units": 10,
  "rate": "1900", "currency": "USD"}}``. DCSA has no allocation API: this adapter reports the
  service contract's weekly allocation on every scheduled sailing, less what we released.
- ``paths``: override ``schedules``, ``bookings``, ``shipping_instructions`` paths.

Releases: DCSA has no API to give containers back either. `release_units` records the release
in memory (idempotent by release_id for this process's life) and lowers the allocation it
reports; the give-back itself travels outside DCSA (contract desk), and the app must keep its
own record of releases across restarts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import msgspec

from carriers.base import (
    AllocationStatus,
    BookingAck,
    BookingRequest,
    BookingStatusReport,
    CarrierBookingStatus,
    Manifest,
    ManifestReceipt,
    OfferedAllocation,
    Party,
    PermanentCarrierError,
    ReleaseReceipt,
    SailingKey,
    SailingOffer,
    ScheduleQuery,
    UnitRelease,
)
from carriers.dcsa import mapping
from carriers.dcsa import wire as w
from carriers.dcsa.client import DcsaClient
from carriers.settings import parse_settings

Clock = Callable[[], datetime]
CS_VERSION, BKG_VERSION, EBL_VERSION = "1.0.3", "2.0.4", "3.0.3"


class ContractAllocation(msgspec.Struct, kw_only=True, frozen=True):
    units: int
    rate: Decimal
    currency: str


class DcsaPaths(msgspec.Struct, kw_only=True, frozen=True):
    schedules: str = "/v1/point-to-point-routes"
    bookings: str = "/v2/bookings"
    shipping_instructions: str = "/v3/shipping-instructions"


class DcsaSettings(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    base_url: str
    token: str | None = None
    timeout: float = 10.0
    lanes: list[str] = []
    booking_agent: Party
    contact: w.BkContact
    dg_emergency_contact: w.BkEmergencyContact | None = None
    allocation: dict[str, ContractAllocation] = {}
    paths: DcsaPaths = msgspec.field(default_factory=DcsaPaths)
    method_of_payment: str = "Y"

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError("base_url must be an http(s) URL")
        if self.timeout <= 0:
            raise ValueError("timeout must be > 0")


def _utc_now() -> datetime:
    return datetime.now(UTC)


class DcsaCarrier:
    """A `CarrierAdapter` over DCSA HTTP APIs. Transport in `client`, translation in `mapping`."""

    kind = "dcsa"

    def __init__(
        self,
        scac: str,
        settings: DcsaSettings,
        *,
        clock: Clock = _utc_now,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.scac = scac
        self.settings = settings
        self._clock = clock
        self._client = DcsaClient(
            scac,
            base_url=settings.base_url,
            token=settings.token,
            timeout=settings.timeout,
            transport=transport,
        )
        self._releases: dict[str, tuple[SailingKey, str, int]] = {}

    def _allocations(self, key: SailingKey | None = None) -> list[OfferedAllocation]:
        released: dict[str, int] = {}
        for sailing, size_type, units in self._releases.values():
            if sailing == key:
                released[size_type] = released.get(size_type, 0) + units
        return [
            OfferedAllocation(
                size_type=size_type,
                units=max(0, a.units - released.get(size_type, 0)),
                rate=a.rate,
                currency=a.currency,
            )
            for size_type, a in self.settings.allocation.items()
        ]

    def _lanes(self, query: ScheduleQuery) -> list[tuple[str, str]]:
        if query.origin and query.destination:
            return [(query.origin, query.destination)]
        lanes = [tuple(lane.split("-", 1)) for lane in self.settings.lanes]
        return [(o, d) for o, d in lanes if query.origin in (None, o) and query.destination in (None, d)]

    async def schedules(self, query: ScheduleQuery) -> list[SailingOffer]:
        offers: list[SailingOffer] = []
        for origin, destination in self._lanes(query):
            params: dict[str, str | int] = {
                "placeOfReceipt": origin,
                "placeOfDelivery": destination,
                "maxTranshipment": 0,
            }
            if query.etd_from:
                params["departureStartDate"] = query.etd_from.date().isoformat()
            if query.etd_to:
                params["departureEndDate"] = query.etd_to.date().isoformat()
            _, body = await self._client.request(
                "GET", self.settings.paths.schedules, params=params, api_version=CS_VERSION
            )
            for offer in mapping.routes_to_offers(self.scac, body, []):
                allocations = self._allocations(offer.key)
                offers.append(msgspec.structs.replace(offer, allocations=allocations))
        return sorted((o for o in offers if query.matches(o)), key=lambda o: (o.etd, o.voyage_number))

    async def allocation(self, key: SailingKey) -> AllocationStatus:
        """The contract allocation, if the carrier still schedules the sailing (one CS call)."""
        window = timedelta(days=60)
        now = self._clock()
        query = ScheduleQuery(
            origin=key.port_of_loading,
            destination=key.port_of_discharge,
            etd_from=now - window,
            etd_to=now + window * 3,
        )
        if not any(o.key == key for o in await self.schedules(query)):
            raise PermanentCarrierError(self.scac, f"sailing {key.voyage_number} not scheduled")
        return AllocationStatus(key=key, allocations=self._allocations(key), as_of=now)

    def _booking_body(self, req: BookingRequest, reference: str | None = None) -> bytes:
        payload = mapping.booking_to_wire(
            self.scac,
            req,
            booking_agent=self.settings.booking_agent,
            emergency_contact=self.settings.dg_emergency_contact,
            carrier_booking_request_reference=reference,
        )
        return w.ENCODER.encode(payload)

    async def request_booking(self, req: BookingRequest) -> BookingAck:
        """POST /v2/bookings; 202 with the carrier's booking request reference."""
        _, body = await self._client.request(
            "POST",
            self.settings.paths.bookings,
            body=self._booking_body(req),
            api_version=BKG_VERSION,
        )
        answer = mapping.decode(self.scac, body, w.BkCreateBookingResponse)
        return BookingAck(
            carrier_reference=answer.carrier_booking_request_reference,
            status=CarrierBookingStatus.REQUESTED,
        )

    async def booking_status(self, carrier_reference: str) -> BookingStatusReport:
        """GET /v2/bookings/{ref}. A 202 (still processing) reads as `requested`."""
        status, body = await self._client.request(
            "GET", f"{self.settings.paths.bookings}/{carrier_reference}", api_version=BKG_VERSION
        )
        if status == 202 or not body:
            return BookingStatusReport(
                carrier_reference=carrier_reference, status=CarrierBookingStatus.REQUESTED
            )
        state = mapping.decode(self.scac, body, w.BkBookingState)
        return mapping.booking_state_to_report(self.scac, state, carrier_reference)

    async def amend_booking(self, carrier_reference: str, req: BookingRequest) -> BookingAck:
        """PUT /v2/bookings/{ref}: an update before confirmation, an amendment after."""
        current = await self.booking_status(carrier_reference)
        await self._client.request(
            "PUT",
            f"{self.settings.paths.bookings}/{carrier_reference}",
            body=self._booking_body(req, carrier_reference),
            api_version=BKG_VERSION,
        )
        confirmed = current.status in (
            CarrierBookingStatus.ACCEPTED,
            CarrierBookingStatus.PENDING_AMENDMENT,
        )
        status = CarrierBookingStatus.PENDING_AMENDMENT if confirmed else current.status
        return BookingAck(carrier_reference=carrier_reference, status=status)

    async def cancel_booking(self, carrier_reference: str) -> BookingAck:
        """PATCH /v2/bookings/{ref}. Before confirmation: bookingStatus CANCELLED (done once
        the carrier processes it). After: bookingCancellationStatus CANCELLATION_RECEIVED, and
        the booking stays `accepted` until the carrier confirms the cancellation."""
        current = await self.booking_status(carrier_reference)
        status: CarrierBookingStatus
        if current.status in (CarrierBookingStatus.ACCEPTED, CarrierBookingStatus.PENDING_AMENDMENT):
            payload = w.BkCancelBooking(booking_cancellation_status="CANCELLATION_RECEIVED")
            status = current.status
        else:
            payload = w.BkCancelBooking(booking_status="CANCELLED")
            status = CarrierBookingStatus.CANCELLED
        await self._client.request(
            "PATCH",
            f"{self.settings.paths.bookings}/{carrier_reference}",
            body=w.ENCODER.encode(payload),
            api_version=BKG_VERSION,
        )
        return BookingAck(carrier_reference=carrier_reference, status=status)

    async def release_units(self, release: UnitRelease) -> ReleaseReceipt:
        """Recorded locally: DCSA has no release API (see module docstring)."""
        done = self._releases.get(release.release_id)
        if done is None:
            left = {a.size_type: a.units for a in self._allocations(release.sailing)}
            units = max(0, min(left.get(release.size_type, 0), release.units))
            done = (release.sailing, release.size_type, units)
            self._releases[release.release_id] = done
        return ReleaseReceipt(release_id=release.release_id, units_released=done[2])

    async def submit_manifest(self, manifest: Manifest) -> ManifestReceipt:
        """POST /v3/shipping-instructions with the house bills; 202 with the SI reference."""
        payload = mapping.manifest_to_wire(
            self.scac,
            manifest,
            nvocc=self.settings.booking_agent,
            contact=self.settings.contact,
            method_of_payment=self.settings.method_of_payment,
        )
        _, body = await self._client.request(
            "POST",
            self.settings.paths.shipping_instructions,
            body=w.ENCODER.encode(payload),
            api_version=EBL_VERSION,
        )
        answer = mapping.decode(self.scac, body, w.SiCreateResponse)
        return ManifestReceipt(carrier_reference=answer.shipping_instructions_reference, accepted=True)

    async def aclose(self) -> None:
        await self._client.aclose()


def build_dcsa(
    scac: str,
    settings: Mapping[str, Any],
    *,
    clock: Clock | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> DcsaCarrier:
    """Build from plain settings; raises ValueError on bad settings."""
    parsed = parse_settings(settings, DcsaSettings)
    for lane in parsed.lanes:
        if len(lane.split("-")) != 2:
            raise ValueError(f"bad DcsaSettings: lane {lane!r} is not ORIGIN-DESTINATION")
    return DcsaCarrier(scac, parsed, clock=clock or _utc_now, transport=transport)
