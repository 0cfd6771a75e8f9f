"""A carrier that speaks DCSA over HTTP: CS 1.0 schedules, Booking 2.0, eBL 3.0 SI.

Settings (plain JSON):

- ``base_url`` (required); ``timeout`` (seconds per call, 10)
- authentication, one of: ``token`` (a static bearer token), or ``oauth2``: ``{"token_url",
  "client_id", "client_secret", "scope", "audience", "client_auth": "basic"|"post"}`` (OAuth 2.0
  client credentials, the token cached until shortly before it expires)
- ``page_size`` (routes asked per page, 100) and ``max_pages`` (1000): schedules are followed
  page by page through ``Next-Page-Cursor``
- ``lanes``: ``["CNSHA-USLAX", ...]`` asked for when a query leaves origin or destination open
  (Commercial Schedules needs both)
- ``booking_agent``: the platform as a party (``{"name": ..., "email": ...}``), required
- ``contact``: ``{"name": ..., "email"|"phone": ...}`` for shipping instructions, required
- ``service_contract_reference`` or ``contract_quotation_reference``: exactly one, to book
- ``dg_emergency_contact``: ``{"contact": ..., "phone": ...}``, needed to book dangerous goods
- ``allocation``: the contract's allocation per sailing, ``{"42G1": {"units": 10,
  "rate": "1900", "currency": "USD", "allocated_at": null}}``. DCSA has no allocation API: this
  adapter reports the service contract's allocation on every scheduled sailing, less what was
  released to the carrier since ``allocated_at`` (an operator sets it when the contract desk
  grants a new allocation).
- ``paths``: override ``schedules``, ``bookings``, ``shipping_instructions`` paths.

Releases: DCSA has no API to give containers back either. `release_units` records the release
in the `CarrierStore` the app provides (every replica sees it, a restart keeps it; idempotent by
release_id) and lowers the allocation reported; the give-back itself goes through the contract
desk.
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
    CarrierError,
    Manifest,
    ManifestReceipt,
    OfferedAllocation,
    Party,
    PermanentCarrierError,
    ReleaseReceipt,
    SailingKey,
    SailingOffer,
    ScheduleAnswer,
    ScheduleQuery,
    UnitRelease,
)
from carriers.dcsa import mapping
from carriers.dcsa import wire as w
from carriers.dcsa.auth import ClientAuthMethod, ClientCredentials
from carriers.dcsa.booking import Contract, booking_to_wire
from carriers.dcsa.client import DcsaClient
from carriers.settings import parse_settings
from carriers.store import (
    CarrierStore,
    MemoryCarrierStore,
    ReleaseRecord,
    net_of_releases,
    release_once,
    releases_by_sailing,
)

Clock = Callable[[], datetime]
CS_VERSION, BKG_VERSION, EBL_VERSION = "1.0.3", "2.0.4", "3.0.3"
NEXT_PAGE_CURSOR = "Next-Page-Cursor"


class ContractAllocation(msgspec.Struct, kw_only=True, frozen=True):
    units: int
    rate: Decimal
    currency: str
    allocated_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.allocated_at is not None and self.allocated_at.tzinfo is None:
            raise ValueError("allocated_at needs a UTC offset")


class DcsaPaths(msgspec.Struct, kw_only=True, frozen=True):
    schedules: str = "/v1/point-to-point-routes"
    bookings: str = "/v2/bookings"
    shipping_instructions: str = "/v3/shipping-instructions"


class OAuth2Settings(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    token_url: str
    client_id: str
    client_secret: str
    scope: str | None = None
    audience: str | None = None
    client_auth: ClientAuthMethod = "basic"


class DcsaSettings(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    base_url: str
    token: str | None = None
    oauth2: OAuth2Settings | None = None
    timeout: float = 10.0
    page_size: int = 100
    max_pages: int = 1000
    lanes: list[str] = []
    booking_agent: Party
    contact: w.BkContact
    service_contract_reference: str | None = None
    contract_quotation_reference: str | None = None
    dg_emergency_contact: w.BkEmergencyContact | None = None
    allocation: dict[str, ContractAllocation] = {}
    paths: DcsaPaths = msgspec.field(default_factory=DcsaPaths)
    method_of_payment: str = "Y"

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError("base_url must be an http(s) URL")
        if self.timeout <= 0 or self.page_size < 1 or self.max_pages < 1:
            raise ValueError("timeout must be > 0, page_size and max_pages >= 1")
        if self.token is not None and self.oauth2 is not None:
            raise ValueError("token or oauth2, not both")
        if self.service_contract_reference and self.contract_quotation_reference:
            raise ValueError("service_contract_reference or contract_quotation_reference, not both")


def _utc_now() -> datetime:
    return datetime.now(UTC)


class _BearerToken(httpx.Auth):
    def __init__(self, token: str) -> None:
        self._header = f"Bearer {token}"

    def auth_flow(self, request: httpx.Request) -> Any:
        request.headers["Authorization"] = self._header
        yield request


def _auth(scac: str, settings: DcsaSettings) -> httpx.Auth | None:
    if settings.oauth2 is not None:
        o = settings.oauth2
        return ClientCredentials(
            scac,
            token_url=o.token_url,
            client_id=o.client_id,
            client_secret=o.client_secret,
            scope=o.scope,
            audience=o.audience,
            client_auth=o.client_auth,
        )
    return _BearerToken(settings.token) if settings.token else None


class DcsaCarrier:
    """A `CarrierAdapter` over DCSA HTTP APIs. Transport in `client`, translation in `mapping`
    and `booking`, releases in the `CarrierStore`."""

    kind = "dcsa"
    # Booking 2.0.4 has no idempotency key on POST /v2/bookings and no search by the shipper's
    # references: a request sent again after a timeout may book twice (app/dispatch/service.py).
    deduplicates_booking_requests = False

    def __init__(
        self,
        scac: str,
        settings: DcsaSettings,
        *,
        clock: Clock = _utc_now,
        transport: httpx.AsyncBaseTransport | None = None,
        store: CarrierStore | None = None,
    ) -> None:
        self.scac = scac
        self.settings = settings
        self._clock = clock
        self._store = store or MemoryCarrierStore()
        self.auth = _auth(scac, settings)
        self._client = DcsaClient(
            scac, base_url=settings.base_url, auth=self.auth, timeout=settings.timeout, transport=transport
        )

    def _contract_allocations(self) -> list[OfferedAllocation]:
        return [
            OfferedAllocation(
                size_type=size_type,
                units=a.units,
                rate=a.rate,
                currency=a.currency,
                allocated_at=a.allocated_at,
            )
            for size_type, a in self.settings.allocation.items()
        ]

    def _lanes(self, query: ScheduleQuery) -> list[tuple[str, str]]:
        if query.origin and query.destination:
            return [(query.origin, query.destination)]
        lanes = [tuple(lane.split("-", 1)) for lane in self.settings.lanes]
        return [(o, d) for o, d in lanes if query.origin in (None, o) and query.destination in (None, d)]

    async def _lane(self, origin: str, destination: str, query: ScheduleQuery) -> ScheduleAnswer:
        """Every page of one lane's routes. A page that fails after the first, or a cursor that
        goes round in circles, ends the lane with an incomplete answer; the first page's
        failure is raised."""
        params: dict[str, str | int] = {
            "placeOfReceipt": origin,
            "placeOfDelivery": destination,
            "maxTranshipment": 0,
            "limit": self.settings.page_size,
        }
        if query.etd_from:
            params["departureStartDate"] = query.etd_from.date().isoformat()
        if query.etd_to:
            params["departureEndDate"] = query.etd_to.date().isoformat()
        offers: list[SailingOffer] = []
        problems: list[str] = []
        cursors: set[str] = set()
        cursor: str | None = None
        for page in range(1, self.settings.max_pages + 1):
            asked = params if cursor is None else {**params, "cursor": cursor}
            try:
                answer = await self._client.request(
                    "GET", self.settings.paths.schedules, params=asked, api_version=CS_VERSION
                )
                routes = mapping.routes_to_offers(self.scac, answer.body)
            except CarrierError as error:
                if page == 1:
                    raise
                problems.append(f"{origin}-{destination} page {page}: {error.message}")
                return ScheduleAnswer(offers=offers, complete=False, problems=problems)
            offers += routes.offers
            problems += [f"{origin}-{destination} page {page} {skip}" for skip in routes.skipped]
            cursor = answer.headers.get(NEXT_PAGE_CURSOR) or None
            if cursor is None:
                return ScheduleAnswer(offers=offers, complete=not problems, problems=problems)
            if cursor in cursors:
                problems.append(f"{origin}-{destination} page {page}: the next-page cursor repeats")
                return ScheduleAnswer(offers=offers, complete=False, problems=problems)
            cursors.add(cursor)
        problems.append(f"{origin}-{destination}: more than {self.settings.max_pages} pages")
        return ScheduleAnswer(offers=offers, complete=False, problems=problems)

    async def schedules(self, query: ScheduleQuery) -> ScheduleAnswer:
        """Every lane's routes, page after page. A lane that cannot be read at all makes the
        answer incomplete; when no lane can be read, its error is raised."""
        offers: dict[SailingKey, SailingOffer] = {}
        problems: list[str] = []
        complete = True
        lanes = self._lanes(query)
        failed: list[CarrierError] = []
        for origin, destination in lanes:
            try:
                lane = await self._lane(origin, destination, query)
            except CarrierError as error:
                failed.append(error)
                problems.append(f"{origin}-{destination}: {error.message}")
                continue
            complete = complete and lane.complete
            problems += lane.problems
            for offer in lane.offers:
                offers.setdefault(offer.key, offer)
        if lanes and len(failed) == len(lanes):
            raise failed[0]
        released = await releases_by_sailing(self._store, self.scac)
        contract = self._contract_allocations()
        chosen = [
            msgspec.structs.replace(offer, allocations=net_of_releases(contract, released[offer.key]))
            for offer in offers.values()
            if query.matches(offer)
        ]
        chosen.sort(key=lambda o: (o.etd, o.voyage_number))
        if not lanes:
            problems.append("no lane asked: the query names no origin and destination, and no lanes are set")
        return ScheduleAnswer(
            offers=chosen,
            complete=complete and not failed and bool(lanes),
            problems=problems,
            lanes=[f"{origin}-{destination}" for origin, destination in lanes],
        )

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
        offer = next((o for o in (await self.schedules(query)).offers if o.key == key), None)
        if offer is None:
            raise PermanentCarrierError(self.scac, f"sailing {key.voyage_number} not scheduled")
        return AllocationStatus(key=key, allocations=offer.allocations, as_of=now)

    def _booking_body(self, req: BookingRequest, reference: str | None = None) -> bytes:
        payload = booking_to_wire(
            self.scac,
            req,
            booking_agent=self.settings.booking_agent,
            emergency_contact=self.settings.dg_emergency_contact,
            contract=Contract(
                service_contract_reference=self.settings.service_contract_reference,
                contract_quotation_reference=self.settings.contract_quotation_reference,
            ),
            carrier_booking_request_reference=reference,
        )
        return w.ENCODER.encode(payload)

    async def request_booking(self, req: BookingRequest) -> BookingAck:
        """POST /v2/bookings; 202 with the carrier's booking request reference."""
        answer = await self._client.request(
            "POST", self.settings.paths.bookings, body=self._booking_body(req), api_version=BKG_VERSION
        )
        created = mapping.decode(self.scac, answer.body, w.BkCreateBookingResponse)
        return BookingAck(
            carrier_reference=created.carrier_booking_request_reference,
            status=CarrierBookingStatus.REQUESTED,
        )

    async def booking_status(self, carrier_reference: str) -> BookingStatusReport:
        """GET /v2/bookings/{ref}. A 202 (still processing) reads as `requested`."""
        answer = await self._client.request(
            "GET", f"{self.settings.paths.bookings}/{carrier_reference}", api_version=BKG_VERSION
        )
        if answer.status == 202 or not answer.body:
            return BookingStatusReport(
                carrier_reference=carrier_reference, status=CarrierBookingStatus.REQUESTED
            )
        state = mapping.decode(self.scac, answer.body, w.BkBookingState)
        return mapping.booking_state_to_report(self.scac, state, carrier_reference)

    async def amend_booking(self, carrier_reference: str, req: BookingRequest) -> BookingAck:
        """PUT /v2/bookings/{ref}: an update before confirmation, an amendment after."""
        body = self._booking_body(req, carrier_reference)  # refused before any call if invalid
        current = await self.booking_status(carrier_reference)
        await self._client.request(
            "PUT",
            f"{self.settings.paths.bookings}/{carrier_reference}",
            body=body,
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
        """Recorded in the carrier store: DCSA has no release API (see module docstring)."""

        async def units_left(kept: list[ReleaseRecord]) -> int:
            left = {a.size_type: a.units for a in net_of_releases(self._contract_allocations(), kept)}
            return left.get(release.size_type, 0)

        done, _ = await release_once(self._store, self.scac, release, self._clock(), units_left)
        return ReleaseReceipt(release_id=release.release_id, units_released=done.units_released)

    async def submit_manifest(self, manifest: Manifest) -> ManifestReceipt:
        """POST /v3/shipping-instructions with the house bills; 202 with the SI reference."""
        answer = await self._client.request(
            "POST",
            self.settings.paths.shipping_instructions,
            body=shipping_instructions(self.scac, manifest, self.settings),
            api_version=EBL_VERSION,
        )
        created = mapping.decode(self.scac, answer.body, w.SiCreateResponse)
        return ManifestReceipt(carrier_reference=created.shipping_instructions_reference, accepted=True)

    async def aclose(self) -> None:
        await self._client.aclose()


def shipping_instructions(scac: str, manifest: Manifest, settings: DcsaSettings) -> bytes:
    """The manifest as the eBL 3.0.3 shipping instructions this carrier is sent (JSON), the
    platform named by ``booking_agent`` and ``contact``; InvalidCarrierRequest if it breaks
    DCSA rules."""
    payload = mapping.manifest_to_wire(
        scac,
        manifest,
        nvocc=settings.booking_agent,
        contact=settings.contact,
        method_of_payment=settings.method_of_payment,
    )
    return w.ENCODER.encode(payload)


def build_dcsa(
    scac: str,
    settings: Mapping[str, Any],
    *,
    clock: Clock | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    store: CarrierStore | None = None,
) -> DcsaCarrier:
    """Build from plain settings; raises ValueError on bad settings."""
    parsed = parse_settings(settings, DcsaSettings)
    for lane in parsed.lanes:
        if len(lane.split("-")) != 2:
            raise ValueError(f"bad DcsaSettings: lane {lane!r} is not ORIGIN-DESTINATION")
    return DcsaCarrier(scac, parsed, clock=clock or _utc_now, transport=transport, store=store)
