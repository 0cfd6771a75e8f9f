"""A carrier that exchanges files: allocation sheets in, bookings, releases and manifests out.

Settings: ``inbox`` (folder the carrier's sheets arrive in, ``*.csv`` and ``*.json``),
``outbox`` (folder we write to), ``sender_id`` (our EDIFACT party id, default "SLOTPOOL").

- Sheets are read in file-name order; a later sheet replaces the sailings it lists, so name
  them with a sortable date (``2025-03-03T0800-allocation.csv``).
- A file carrier commits space by sheet, so a booking inside the sheet's allocation is accepted
  here at once (no carrier booking number); we also drop a booking file in the outbox for the
  carrier's records. A booking outside the allocation is rejected.
- Releases and bookings are kept in ``outbox/ledger.json``: a release id already there is not
  released twice, even after a restart. The allocation we report is the latest sheet's units
  minus releases recorded against that same sheet.
- Manifests go to ``outbox/manifests/`` as CSV and as a CUSCAR-like EDIFACT interchange.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from carriers.base import (
    AllocationStatus,
    BookingAck,
    BookingRequest,
    BookingStatusReport,
    CarrierBookingStatus,
    Manifest,
    ManifestReceipt,
    PermanentCarrierError,
    ReleaseReceipt,
    RetryableCarrierError,
    SailingKey,
    SailingOffer,
    ScheduleQuery,
    UnitRelease,
)
from carriers.feed.cuscar import write_cuscar
from carriers.feed.manifest_csv import write_manifest_csv
from carriers.feed.sheets import parse_csv_sheet, parse_json_sheet
from carriers.settings import parse_settings

Clock = Callable[[], datetime]


class FeedSettings(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    inbox: str
    outbox: str
    sender_id: str = "SLOTPOOL"


class LedgerRelease(msgspec.Struct, kw_only=True):
    sailing: SailingKey
    size_type: str
    units_released: int
    sheet: str


class Ledger(msgspec.Struct, kw_only=True):
    bookings: dict[str, BookingStatusReport] = {}
    releases: dict[str, LedgerRelease] = {}


def _utc_now() -> datetime:
    return datetime.now(UTC)


class FeedCarrier:
    """A `CarrierAdapter` over an inbox and an outbox folder."""

    kind = "feed"

    def __init__(self, scac: str, settings: FeedSettings, *, clock: Clock = _utc_now) -> None:
        self.scac = scac
        self.inbox = Path(settings.inbox)
        self.outbox = Path(settings.outbox)
        self.sender_id = settings.sender_id
        self._clock = clock
        self._lock = asyncio.Lock()  # one ledger writer at a time in this process

    # -- reading sheets ---------------------------------------------------------------------

    def _read_sheets(self) -> tuple[dict[SailingKey, SailingOffer], dict[SailingKey, str]]:
        offers: dict[SailingKey, SailingOffer] = {}
        source: dict[SailingKey, str] = {}
        try:
            paths = sorted(p for p in self.inbox.iterdir() if p.suffix in (".csv", ".json"))
        except OSError as exc:
            raise RetryableCarrierError(self.scac, f"inbox unreadable: {exc}") from exc
        for path in paths:
            if path.suffix == ".json":
                sheet = parse_json_sheet(self.scac, path.read_bytes())
            else:
                sheet = parse_csv_sheet(self.scac, path.read_text(encoding="utf-8"))
            for offer in sheet:
                offers[offer.key] = offer
                source[offer.key] = path.name
        return offers, source

    def _net(self, offer: SailingOffer, sheet: str, ledger: Ledger) -> SailingOffer:
        released: dict[str, int] = {}
        for release in ledger.releases.values():
            if release.sailing == offer.key and release.sheet == sheet:
                released[release.size_type] = released.get(release.size_type, 0) + release.units_released
        if not released:
            return offer
        return msgspec.structs.replace(
            offer,
            allocations=[
                msgspec.structs.replace(a, units=a.units - released.get(a.size_type, 0))
                for a in offer.allocations
            ],
        )

    def _current(self) -> tuple[dict[SailingKey, SailingOffer], dict[SailingKey, str], Ledger]:
        offers, source = self._read_sheets()
        ledger = self._load_ledger()
        net = {k: self._net(o, source[k], ledger) for k, o in offers.items()}
        return net, source, ledger

    async def schedules(self, query: ScheduleQuery) -> list[SailingOffer]:
        offers, _, _ = await asyncio.to_thread(self._current)
        return sorted(
            (o for o in offers.values() if query.matches(o)),
            key=lambda o: (o.etd, o.voyage_number),
        )

    async def allocation(self, key: SailingKey) -> AllocationStatus:
        offers, _, _ = await asyncio.to_thread(self._current)
        offer = offers.get(key)
        if offer is None:
            raise PermanentCarrierError(self.scac, f"no sheet lists sailing {key.voyage_number}")
        return AllocationStatus(key=key, allocations=offer.allocations, as_of=self._clock())

    # -- ledger -------------------------------------------------------------------------------

    @property
    def _ledger_path(self) -> Path:
        return self.outbox / "ledger.json"

    def _load_ledger(self) -> Ledger:
        try:
            return msgspec.json.decode(self._ledger_path.read_bytes(), type=Ledger)
        except FileNotFoundError:
            return Ledger()

    def _write(self, path: Path, content: bytes) -> None:
        """Write atomically, so the carrier never picks up half a file."""
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.partial")
        partial.write_bytes(content)
        os.replace(partial, path)

    def _save_ledger(self, ledger: Ledger) -> None:
        self._write(self._ledger_path, msgspec.json.format(msgspec.json.encode(ledger)))

    # -- bookings -----------------------------------------------------------------------------

    def _booking_file(self, req: BookingRequest, action: str) -> bytes:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(
            ["action", "reference", "voyage_number", "port_of_loading", "port_of_discharge",
             "size_type", "units", "cargo_description", "hs_code", "gross_weight_kg",
             "volume_cbm", "un_numbers", "shipper", "consignee"]
        )  # fmt: skip
        writer.writerow(
            [action, req.reference, req.sailing.voyage_number, req.sailing.port_of_loading,
             req.sailing.port_of_discharge, req.size_type, req.units, req.cargo_description,
             req.hs_code, req.gross_weight_kg, req.volume_cbm,
             " ".join(dg.un_number for dg in req.dangerous_goods), req.shipper.name,
             req.consignee.name]
        )  # fmt: skip
        return out.getvalue().encode()

    def _decide(self, req: BookingRequest, carrier_reference: str, action: str) -> BookingAck:
        offers, _, ledger = self._current()
        offer = offers.get(req.sailing)
        units = {a.size_type: a.units for a in offer.allocations} if offer else {}
        reason = None
        if offer is None or offer.status == "cancelled":
            reason = "sailing not on the carrier's sheet or cancelled"
        elif req.units > units.get(req.size_type, 0):
            reason = f"{req.units} x {req.size_type} exceeds the sheet's allocation"
        status = CarrierBookingStatus.REJECTED if reason else CarrierBookingStatus.ACCEPTED
        ledger.bookings[carrier_reference] = BookingStatusReport(
            carrier_reference=carrier_reference, status=status, reason=reason
        )
        if status is CarrierBookingStatus.ACCEPTED:
            path = self.outbox / "bookings" / f"{carrier_reference}-{action}.csv"
            self._write(path, self._booking_file(req, action))
        self._save_ledger(ledger)
        return BookingAck(carrier_reference=carrier_reference, status=status)

    async def request_booking(self, req: BookingRequest) -> BookingAck:
        async with self._lock:
            reference = f"{self.scac}-{req.reference}"
            return await asyncio.to_thread(self._decide, req, reference, "request")

    async def booking_status(self, carrier_reference: str) -> BookingStatusReport:
        ledger = await asyncio.to_thread(self._load_ledger)
        report = ledger.bookings.get(carrier_reference)
        if report is None:
            raise PermanentCarrierError(self.scac, f"unknown booking {carrier_reference}")
        return report

    async def amend_booking(self, carrier_reference: str, req: BookingRequest) -> BookingAck:
        await self.booking_status(carrier_reference)
        async with self._lock:
            return await asyncio.to_thread(self._decide, req, carrier_reference, "amend")

    def _cancel(self, carrier_reference: str) -> BookingAck:
        ledger = self._load_ledger()
        report = ledger.bookings.get(carrier_reference)
        if report is None:
            raise PermanentCarrierError(self.scac, f"unknown booking {carrier_reference}")
        status = CarrierBookingStatus.CANCELLED
        ledger.bookings[carrier_reference] = msgspec.structs.replace(report, status=status)
        self._write(
            self.outbox / "bookings" / f"{carrier_reference}-cancel.csv",
            f"action,carrier_reference\ncancel,{carrier_reference}\n".encode(),
        )
        self._save_ledger(ledger)
        return BookingAck(carrier_reference=carrier_reference, status=status)

    async def cancel_booking(self, carrier_reference: str) -> BookingAck:
        async with self._lock:
            return await asyncio.to_thread(self._cancel, carrier_reference)

    # -- releases and manifests ---------------------------------------------------------------

    def _release(self, release: UnitRelease) -> ReleaseReceipt:
        offers, source, ledger = self._current()
        done = ledger.releases.get(release.release_id)
        if done is not None:
            return ReleaseReceipt(release_id=release.release_id, units_released=done.units_released)
        offer = offers.get(release.sailing)
        if offer is None:
            raise PermanentCarrierError(self.scac, f"unknown sailing {release.sailing}")
        held = {a.size_type: a.units for a in offer.allocations}.get(release.size_type, 0)
        units = max(0, min(held, release.units))
        ledger.releases[release.release_id] = LedgerRelease(
            sailing=release.sailing,
            size_type=release.size_type,
            units_released=units,
            sheet=source[release.sailing],
        )
        self._write(
            self.outbox / "releases" / f"{release.release_id}.csv",
            (
                "release_id,voyage_number,port_of_loading,port_of_discharge,size_type,units\n"
                f"{release.release_id},{release.sailing.voyage_number},"
                f"{release.sailing.port_of_loading},{release.sailing.port_of_discharge},"
                f"{release.size_type},{units}\n"
            ).encode(),
        )
        self._save_ledger(ledger)
        return ReleaseReceipt(release_id=release.release_id, units_released=units)

    async def release_units(self, release: UnitRelease) -> ReleaseReceipt:
        async with self._lock:
            return await asyncio.to_thread(self._release, release)

    def manifest_stem(self, key: SailingKey) -> str:
        """File name (without suffix) of a sailing's manifest in `outbox/manifests/`."""
        return f"{key.carrier_scac}-{key.voyage_number}-{key.port_of_loading}-{key.port_of_discharge}"

    def _submit(self, manifest: Manifest) -> ManifestReceipt:
        stem = self.manifest_stem(manifest.sailing)
        now = self._clock()
        folder = self.outbox / "manifests"
        self._write(folder / f"{stem}.csv", write_manifest_csv(manifest).encode())
        edifact = write_cuscar(
            manifest,
            sender=self.sender_id,
            control_reference=f"{now:%y%m%d%H%M%S}",
            prepared_at=now,
        )
        self._write(folder / f"{stem}.edi", edifact.encode())
        # Delivered to the outbox; the carrier's acceptance comes back out of band.
        return ManifestReceipt(carrier_reference=stem, accepted=True)

    async def submit_manifest(self, manifest: Manifest) -> ManifestReceipt:
        return await asyncio.to_thread(self._submit, manifest)

    async def aclose(self) -> None:
        return None


def build_feed(scac: str, settings: Mapping[str, Any], *, clock: Clock | None = None) -> FeedCarrier:
    """Build from plain settings; raises ValueError on bad settings."""
    parsed = parse_settings(settings, FeedSettings)
    if not parsed.inbox or not parsed.outbox:
        raise ValueError("bad FeedSettings: inbox and outbox are required folders")
    return FeedCarrier(scac, parsed, clock=clock or _utc_now)


__all__ = ["FeedCarrier", "FeedSettings", "build_feed"]
