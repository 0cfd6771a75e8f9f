"""A deterministic carrier for demos and tests.

Same seed and same clock, same sailings and the same sequence of answers. Knobs: `latency`
(seconds per call), `error_rate` (retryable failures), `malformed_rate` (garbage answers), and
a `script` of changes applied at a given sync, where a sync is one `schedules()` call:

    {"at_sync": 2, "voyage": "48A0W", "cut_to": 3}                  # allocation cut to 3 units
    {"at_sync": 3, "voyage": "48A0W", "cut_to": 0, "size_type": "22G1"}
    {"at_sync": 2, "voyage": "48A0W", "move_etd_hours": 24}         # ETD, ETA, cut-offs +24 h
    {"at_sync": 4, "voyage": "48A0W", "cancel": true}
    {"at_sync": 5, "voyage": "48A0W", "allocate": 12}               # a new allocation, dated now

The allocation reported is the scripted figure less the units released to the carrier since
that allocation was made (a generated allocation predates every release).

Sailings lie on a fixed grid from `EPOCH`, one per lane every 7 / `weekly_sailings` days, and
each is a pure function of the seed, the lane and its place on the grid: an adapter built at any
time (after a restart, on another replica) offers the same voyages. Every `schedules()` call
offers the sailings of the next `weeks` weeks after the clock's "now". Cut-offs are derived from
the ETD: DCO -5 d, LCO -4 d, FCO -3 d, VCO -2 d.
"""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import msgspec

from carriers.base import (
    AllocationStatus,
    BookingAck,
    BookingRequest,
    BookingStatusReport,
    CarrierBookingStatus,
    MalformedCarrierAnswer,
    Manifest,
    ManifestReceipt,
    OfferedAllocation,
    PermanentCarrierError,
    ReleaseReceipt,
    RetryableCarrierError,
    SailingKey,
    SailingOffer,
    ScheduleAnswer,
    ScheduleQuery,
    UnitRelease,
)
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

CUT_OFF_LEADS = {"DCO": 5, "LCO": 4, "FCO": 3, "VCO": 2}  # days before ETD
VESSEL_NAMES = (
    "NORTHERN JADE", "AURORA BAY", "CAPE ORIENT", "SEASPAN HARMONY", "MARE LIGURE",
    "KOTA SENTOSA", "HANSA VICTORIA", "PACIFIC LINK", "ATLANTIC CREST", "EVER STEADFAST",
)  # fmt: skip
BASE_RATE = {"22G1": Decimal(1100), "42G1": Decimal(1900), "45G1": Decimal(2100),
             "45R1": Decimal(3400)}  # fmt: skip


class ScriptStep(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """One scripted change, applied when the sync counter reaches `at_sync`."""

    at_sync: int
    voyage: str
    cut_to: int | None = None
    size_type: str | None = None
    move_etd_hours: float | None = None
    allocate: int | None = None
    cancel: bool = False

    def __post_init__(self) -> None:
        if self.cut_to is not None and self.allocate is not None:
            raise ValueError("a step cuts or allocates, not both")
        if min(self.cut_to or 0, self.allocate or 0) < 0 or self.at_sync < 1:
            raise ValueError("at_sync >= 1; cut_to and allocate >= 0")


class SimulatedSettings(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """Settings of a simulated carrier, as stored in its carrier row."""

    seed: int = 0
    lanes: list[str] = msgspec.field(default_factory=lambda: ["CNSHA-USLAX"])
    weekly_sailings: int = 1
    weeks: int = 6
    size_types: list[str] = msgspec.field(default_factory=lambda: ["22G1", "42G1", "45G1"])
    currency: str = "USD"
    latency: float = 0.0
    error_rate: float = 0.0
    malformed_rate: float = 0.0
    script: list[ScriptStep] = []
    # Sailings offered beside the generated grid, as given (a demo's sailing whose LCL cut-off
    # is minutes away).
    extra_sailings: list[SailingOffer] = []

    def __post_init__(self) -> None:
        for lane in self.lanes:
            origin, sep, destination = lane.partition("-")
            if not sep or len(origin) != 5 or len(destination) != 5:
                raise ValueError(f"lane {lane!r} is not ORIGIN-DESTINATION UN/LOCODEs")
        if not (0 <= self.error_rate <= 1 and 0 <= self.malformed_rate <= 1):
            raise ValueError("error_rate and malformed_rate are probabilities in [0, 1]")
        if self.weekly_sailings < 1 or self.weeks < 1 or self.latency < 0:
            raise ValueError("weekly_sailings and weeks must be >= 1, latency >= 0")


def imo_number(rng: random.Random) -> str:
    """A 7-digit IMO number with a valid check digit."""
    digits = [rng.randint(1 if i == 0 else 0, 9) for i in range(6)]
    check = sum(d * (7 - i) for i, d in enumerate(digits)) % 10
    return "".join(map(str, digits)) + str(check)


def _utc_now() -> datetime:
    return datetime.now(UTC)


# Monday 6 January 2020, 00:00 UTC: the origin of every simulated carrier's sailing grid.
EPOCH = datetime(2020, 1, 6, tzinfo=UTC)


def generate_sailings(
    scac: str, settings: SimulatedSettings, after: datetime
) -> dict[SailingKey, SailingOffer]:
    """The sailings of the ``weeks`` weeks following ``after``: a pure function of SCAC,
    settings and the grid, so that the same sailing always has the same voyage and figures."""
    sailings: dict[SailingKey, SailingOffer] = {}
    interval = timedelta(days=7) / settings.weekly_sailings
    for lane_no, lane in enumerate(settings.lanes):
        origin, _, destination = lane.partition("-")
        lane_rng = random.Random(f"{settings.seed}:{scac}:{lane}")
        vessels = [(lane_rng.choice(VESSEL_NAMES), imo_number(lane_rng)) for _ in range(4)]
        service = f"{origin[:2]}{destination[:2]}{lane_no + 1}"
        first = EPOCH + timedelta(days=1, hours=lane_rng.randint(0, 47))
        direction = "E" if destination[:2] in {"US", "CA", "MX"} else "W"
        start = max(0, math.floor((after - first) / interval) + 1)
        for n in range(start, start + settings.weeks * settings.weekly_sailings):
            rng = random.Random(f"{settings.seed}:{scac}:{lane}:{n}")
            etd = first + n * interval
            vessel_name, imo = vessels[n % len(vessels)]
            voyage = f"{etd.isocalendar().week:02d}{chr(65 + lane_no)}{n}{direction}"
            offer = SailingOffer(
                carrier_scac=scac,
                service_code=service,
                vessel_name=vessel_name,
                vessel_imo=imo,
                voyage_number=voyage,
                port_of_loading=origin,
                port_of_discharge=destination,
                etd=etd,
                eta=etd + timedelta(days=rng.randint(12, 34)),
                cut_offs={code: etd - timedelta(days=d) for code, d in CUT_OFF_LEADS.items()},
                allocations=[
                    OfferedAllocation(
                        size_type=size_type,
                        units=rng.randint(5, 40),
                        rate=(BASE_RATE.get(size_type, Decimal(2000)) * rng.randint(90, 130)) / 100,
                        currency=settings.currency,
                    )
                    for size_type in settings.size_types
                ],
            )
            sailings[offer.key] = offer
    return sailings


def _apply(offer: SailingOffer, step: ScriptStep, applied_at: datetime | None) -> SailingOffer:
    if step.cancel:
        return msgspec.structs.replace(offer, status="cancelled")
    if step.move_etd_hours is not None:
        shift = timedelta(hours=step.move_etd_hours)
        offer = msgspec.structs.replace(
            offer,
            etd=offer.etd + shift,
            eta=offer.eta + shift,
            cut_offs={code: at + shift for code, at in offer.cut_offs.items()},
        )
    if step.cut_to is None and step.allocate is None:
        return offer
    allocations = []
    for a in offer.allocations:
        if step.size_type in (None, a.size_type):
            if step.cut_to is not None:
                a = msgspec.structs.replace(a, units=min(a.units, step.cut_to))
            else:
                a = msgspec.structs.replace(a, units=step.allocate, allocated_at=applied_at)
        allocations.append(a)
    return msgspec.structs.replace(offer, allocations=allocations)


def _sync_key(number: int) -> str:
    return f"sync:{number}"


class SimulatedCarrier:
    """A `CarrierAdapter` that invents a plausible carrier from a seed.

    Its state beyond the seed lives in the `CarrierStore`: how many syncs it has answered
    (the scripted steps' clock), when each allocating step took effect, the units released to
    it and its bookings. A restarted process or another replica with the same store answers
    the same.
    """

    kind = "simulated"
    # A booking request is keyed on our reference: the same reference again (a retry after a
    # timeout) answers with the booking it made the first time.
    deduplicates_booking_requests = True

    def __init__(
        self,
        scac: str,
        settings: SimulatedSettings,
        *,
        clock: Clock = _utc_now,
        store: CarrierStore | None = None,
    ):
        self.scac = scac
        self.settings = settings
        self._clock = clock
        self._store = store or MemoryCarrierStore()
        self._grid = generate_sailings(scac, settings, clock())
        self._grid.update((offer.key, offer) for offer in settings.extra_sailings)
        self._faults = random.Random(f"{settings.seed}:{scac}:faults")
        self._manifests: dict[SailingKey, Manifest] = {}

    async def syncs(self) -> int:
        """How many `schedules()` calls have completed: the scripted steps' clock."""
        return await self._store.last_number(self.scac, "syncs")

    async def _answer(self) -> None:
        """Wait the configured latency, then maybe fail, deterministically from the seed."""
        if self.settings.latency:
            await asyncio.sleep(self.settings.latency)
        draw = self._faults.random()
        if draw < self.settings.error_rate:
            raise RetryableCarrierError(self.scac, "simulated 503 Service Unavailable", status=503)
        if draw < self.settings.error_rate + self.settings.malformed_rate:
            raise MalformedCarrierAnswer(self.scac, "simulated malformed JSON")

    async def _sailings(self, syncs: int) -> dict[SailingKey, SailingOffer]:
        """Every sailing as of the ``syncs``-th sync: generated, scripted, less releases."""
        steps = [step for step in self.settings.script if step.at_sync <= syncs]
        applied: dict[int, datetime | None] = {}
        for step in steps:
            if step.allocate is not None and step.at_sync not in applied:
                when = await self._store.load(self.scac, _sync_key(step.at_sync))
                applied[step.at_sync] = datetime.fromisoformat(when.decode()) if when else None
        released = await releases_by_sailing(self._store, self.scac)
        sailings = {}
        for key, offer in self._grid.items():
            for step in steps:
                if step.voyage == key.voyage_number:
                    offer = _apply(offer, step, applied.get(step.at_sync))
            allocations = net_of_releases(offer.allocations, released[key])
            sailings[key] = msgspec.structs.replace(offer, allocations=allocations)
        return sailings

    async def _sailing(self, key: SailingKey) -> SailingOffer:
        offer = (await self._sailings(await self.syncs())).get(key)
        if offer is None:
            raise PermanentCarrierError(self.scac, f"unknown sailing {key.voyage_number}")
        return offer

    async def schedules(self, query: ScheduleQuery) -> ScheduleAnswer:
        await self._answer()
        now = self._clock()
        syncs = await self._store.next_number(self.scac, "syncs")
        if any(step.at_sync == syncs and step.allocate is not None for step in self.settings.script):
            await self._store.save(self.scac, _sync_key(syncs), now.isoformat().encode())
        # The window moves with time; sailings already known stay known.
        for key, offer in generate_sailings(self.scac, self.settings, now).items():
            self._grid.setdefault(key, offer)
        offers = sorted(
            (o for o in (await self._sailings(syncs)).values() if o.etd > now and query.matches(o)),
            key=lambda o: (o.etd, o.voyage_number),
        )
        return ScheduleAnswer(offers=offers)

    async def allocation(self, key: SailingKey) -> AllocationStatus:
        await self._answer()
        offer = await self._sailing(key)
        return AllocationStatus(key=key, allocations=offer.allocations, as_of=self._clock())

    async def _save_booking(self, report: BookingStatusReport) -> None:
        await self._store.save(self.scac, f"booking:{report.carrier_reference}", msgspec.json.encode(report))

    async def _booking(self, carrier_reference: str) -> BookingStatusReport:
        kept = await self._store.load(self.scac, f"booking:{carrier_reference}")
        if kept is None:
            raise PermanentCarrierError(self.scac, f"unknown booking {carrier_reference}")
        return msgspec.json.decode(kept, type=BookingStatusReport)

    async def request_booking(self, req: BookingRequest) -> BookingAck:
        await self._answer()
        placed = await self._store.load(self.scac, f"request:{req.reference}")
        if placed is not None:
            first = await self._booking(placed.decode())
            return BookingAck(carrier_reference=first.carrier_reference, status=first.status)
        offer = await self._sailing(req.sailing)
        reference = f"{self.scac}{await self._store.next_number(self.scac, 'bookings'):07d}"
        reason = None
        if offer.status == "cancelled":
            reason = "sailing cancelled"
        elif req.size_type not in {a.size_type for a in offer.allocations}:
            reason = f"no {req.size_type} allocation on this sailing"
        status = CarrierBookingStatus.REJECTED if reason else CarrierBookingStatus.REQUESTED
        await self._save_booking(
            BookingStatusReport(carrier_reference=reference, status=status, reason=reason)
        )
        await self._store.save(self.scac, f"request:{req.reference}", reference.encode())
        return BookingAck(carrier_reference=reference, status=status)

    async def booking_status(self, carrier_reference: str) -> BookingStatusReport:
        await self._answer()
        report = await self._booking(carrier_reference)
        # The carrier decides on the first poll: requested/amended bookings are accepted.
        if report.status in _UNDECIDED:
            report = msgspec.structs.replace(
                report,
                status=CarrierBookingStatus.ACCEPTED,
                carrier_booking_number=f"{self.scac}BN{carrier_reference[-7:]}",
            )
            await self._save_booking(report)
        return report

    async def amend_booking(self, carrier_reference: str, req: BookingRequest) -> BookingAck:
        await self._answer()
        report = await self._booking(carrier_reference)
        if report.status in _FINAL:
            raise PermanentCarrierError(self.scac, f"booking is {report.status.value}")
        status = CarrierBookingStatus.PENDING_AMENDMENT
        await self._save_booking(msgspec.structs.replace(report, status=status))
        return BookingAck(carrier_reference=carrier_reference, status=status)

    async def cancel_booking(self, carrier_reference: str) -> BookingAck:
        await self._answer()
        report = await self._booking(carrier_reference)
        if report.status in _FINAL and report.status != CarrierBookingStatus.CANCELLED:
            raise PermanentCarrierError(self.scac, f"booking is {report.status.value}")
        status = CarrierBookingStatus.CANCELLED
        await self._save_booking(msgspec.structs.replace(report, status=status))
        return BookingAck(carrier_reference=carrier_reference, status=status)

    async def release_units(self, release: UnitRelease) -> ReleaseReceipt:
        await self._answer()

        async def units_left(_: list[ReleaseRecord]) -> int:
            offer = await self._sailing(release.sailing)  # net of the earlier releases already
            return {a.size_type: a.units for a in offer.allocations}.get(release.size_type, 0)

        done, _ = await release_once(self._store, self.scac, release, self._clock(), units_left)
        return ReleaseReceipt(release_id=release.release_id, units_released=done.units_released)

    async def submit_manifest(self, manifest: Manifest) -> ManifestReceipt:
        await self._answer()
        offer = await self._sailing(manifest.sailing)
        self._manifests[offer.key] = manifest
        return ManifestReceipt(
            carrier_reference=f"{self.scac}-SI-{offer.voyage_number}",
            accepted=offer.status != "cancelled",
        )

    def submitted_manifest(self, key: SailingKey) -> Manifest | None:
        """The last manifest this process sent for a sailing (for tests and demos)."""
        return self._manifests.get(key)

    async def aclose(self) -> None:
        return None


_UNDECIDED = frozenset({CarrierBookingStatus.REQUESTED, CarrierBookingStatus.PENDING_AMENDMENT})
_FINAL = frozenset(
    {
        CarrierBookingStatus.REJECTED,
        CarrierBookingStatus.DECLINED,
        CarrierBookingStatus.CANCELLED,
        CarrierBookingStatus.COMPLETED,
    }
)


def build_simulated(
    scac: str, settings: Mapping[str, Any], *, clock: Clock | None = None, store: CarrierStore | None = None
) -> SimulatedCarrier:
    """Build from plain settings; raises ValueError on bad settings."""
    parsed = parse_settings(settings, SimulatedSettings)
    return SimulatedCarrier(scac, parsed, clock=clock or _utc_now, store=store)
