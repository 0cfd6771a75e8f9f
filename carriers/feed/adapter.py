"""A carrier that exchanges files: allocation sheets in, bookings, releases and manifests out.

Settings: ``inbox`` (folder the carrier's sheets arrive in, ``*.csv`` and ``*.json``),
``outbox`` (folder we write to), ``sender_id`` (our EDIFACT party id, default "SLOTPOOL"),
``encoding`` of the sheets (``auto``: a byte-order mark, else UTF-8, else ``fallback_encoding``,
Latin-1 by default; or a codec name), ``edifact_charset`` (``UNOC``, Latin-1 with anything else
transliterated, or ``UNOW``, UTF-8, where the carrier accepts it).

- Sheets are read in file-name order; a later sheet replaces the sailings it lists, so name
  them with a sortable timestamp (``2025-03-03T0800-allocation.csv``). A sheet is parsed once
  per content (cached by checksum), checked whole, and skipped whole when anything in it is
  wrong: the answer then lists its problems and says it is incomplete.
- A sheet's allocations are dated by its ``issued_at`` (JSON), else the timestamp its file name
  starts with, else the file's modification time: releases made after that come off them.
- A file carrier commits space by sheet, so a booking inside the sheet's allocation is accepted
  here at once (no carrier booking number); we also drop a booking file in the outbox for the
  carrier's records. A booking outside the allocation is rejected.
- Releases and bookings are kept in the `CarrierStore` (every replica sees them, a restart keeps
  them): a release id already kept is not released twice.
- Manifests go to ``outbox/manifests/`` as CSV, as JSON and as a CUSCAR EDIFACT interchange whose
  control reference is the next number of the store's ``interchange`` counter: unique across
  every interchange the service writes to this carrier.
"""

from __future__ import annotations

import asyncio
import codecs
import csv
import hashlib
import io
import os
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

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
    PermanentCarrierError,
    ReleaseReceipt,
    RetryableCarrierError,
    SailingKey,
    SailingOffer,
    ScheduleAnswer,
    ScheduleQuery,
    UnitRelease,
)
from carriers.feed.cuscar import Charset, write_cuscar
from carriers.feed.manifest_csv import write_manifest_csv
from carriers.feed.sheets import Sheet, decode_sheet, parse_csv_sheet, parse_json_sheet
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
NAME_STAMP = re.compile(r"^(\d{4}-\d{2}-\d{2})T(\d{2})(\d{2})")


class FeedSettings(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    inbox: str
    outbox: str
    sender_id: str = "SLOTPOOL"
    encoding: str = "auto"
    fallback_encoding: str = "latin-1"
    edifact_charset: Literal["UNOC", "UNOW"] = "UNOC"

    def __post_init__(self) -> None:
        for name in (self.fallback_encoding, *([] if self.encoding == "auto" else [self.encoding])):
            try:
                codecs.lookup(name)
            except LookupError:
                raise ValueError(f"unknown encoding {name!r}") from None


class _Read(msgspec.Struct, kw_only=True):
    """One sheet file as last parsed: its checksum and its sailings, or why it was refused."""

    digest: str
    sheet: Sheet | None
    problem: MalformedCarrierAnswer | None


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _dated(offers: list[SailingOffer], at: datetime) -> list[SailingOffer]:
    return [
        msgspec.structs.replace(
            offer, allocations=[msgspec.structs.replace(a, allocated_at=at) for a in offer.allocations]
        )
        for offer in offers
    ]


class FeedCarrier:
    """A `CarrierAdapter` over an inbox and an outbox folder."""

    kind = "feed"
    # The carrier's reference is made from ours: a booking request sent again is the same file
    # for the same booking.
    deduplicates_booking_requests = True

    def __init__(
        self,
        scac: str,
        settings: FeedSettings,
        *,
        clock: Clock = _utc_now,
        store: CarrierStore | None = None,
    ) -> None:
        self.scac = scac
        self.settings = settings
        self.inbox = Path(settings.inbox)
        self.outbox = Path(settings.outbox)
        self.sender_id = settings.sender_id
        self._clock = clock
        self._store = store or MemoryCarrierStore()
        self._read: dict[str, _Read] = {}
        self.parses = 0  # sheets parsed (not served from the cache), for tests and benchmarks

    # -- reading sheets ---------------------------------------------------------------------

    def _parse(self, path: Path, content: bytes) -> Sheet:
        self.parses += 1
        if path.suffix == ".json":
            sheet = parse_json_sheet(self.scac, content)
        else:
            text = decode_sheet(self.scac, content, self.settings.encoding, self.settings.fallback_encoding)
            sheet = parse_csv_sheet(self.scac, text)
        if sheet.issued_at is None:
            stamp = NAME_STAMP.match(path.name)
            issued = (
                datetime.fromisoformat(f"{stamp[1]}T{stamp[2]}:{stamp[3]}+00:00")
                if stamp
                else datetime.fromtimestamp(path.stat().st_mtime, UTC)
            )
            sheet = msgspec.structs.replace(sheet, issued_at=issued)
        assert sheet.issued_at is not None
        return msgspec.structs.replace(sheet, offers=_dated(sheet.offers, sheet.issued_at))

    def _read_sheets(self) -> tuple[dict[SailingKey, SailingOffer], list[str]]:
        """Sailings of every good sheet (later ones replacing earlier), and the problems of
        the sheets refused whole."""
        offers: dict[SailingKey, SailingOffer] = {}
        problems: list[str] = []
        try:
            paths = sorted(p for p in self.inbox.iterdir() if p.suffix in (".csv", ".json"))
        except OSError as exc:
            raise RetryableCarrierError(self.scac, f"inbox unreadable: {exc}") from exc
        for path in paths:
            try:
                content = path.read_bytes()
            except OSError as exc:  # taken away or unreadable between listing and reading
                raise RetryableCarrierError(self.scac, f"sheet {path.name} unreadable: {exc}") from exc
            digest = hashlib.sha256(content).hexdigest()
            read = self._read.get(path.name)
            if read is None or read.digest != digest:
                try:
                    read = _Read(digest=digest, sheet=self._parse(path, content), problem=None)
                except MalformedCarrierAnswer as error:
                    read = _Read(digest=digest, sheet=None, problem=error)
                self._read[path.name] = read
            if read.problem is not None:
                problems.append(f"{path.name}: {read.problem.message}")
                continue
            assert read.sheet is not None
            for offer in read.sheet.offers:
                offers[offer.key] = offer
        for gone in set(self._read) - {p.name for p in paths}:
            del self._read[gone]
        return offers, problems

    async def _current(self) -> tuple[dict[SailingKey, SailingOffer], list[str]]:
        offers, problems = await asyncio.to_thread(self._read_sheets)
        released = await releases_by_sailing(self._store, self.scac)
        net = {
            key: msgspec.structs.replace(offer, allocations=net_of_releases(offer.allocations, released[key]))
            for key, offer in offers.items()
        }
        return net, problems

    async def schedules(self, query: ScheduleQuery) -> ScheduleAnswer:
        offers, problems = await self._current()
        chosen = sorted(
            (o for o in offers.values() if query.matches(o)), key=lambda o: (o.etd, o.voyage_number)
        )
        return ScheduleAnswer(offers=chosen, complete=not problems, problems=problems)

    async def allocation(self, key: SailingKey) -> AllocationStatus:
        offers, _ = await self._current()
        offer = offers.get(key)
        if offer is None:
            raise PermanentCarrierError(self.scac, f"no sheet lists sailing {key.voyage_number}")
        return AllocationStatus(key=key, allocations=offer.allocations, as_of=self._clock())

    # -- files --------------------------------------------------------------------------------

    def _write(self, path: Path, content: bytes) -> None:
        """Write atomically, so the carrier never picks up half a file."""
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.partial")
        partial.write_bytes(content)
        os.replace(partial, path)

    async def _write_file(self, path: Path, content: bytes) -> None:
        await asyncio.to_thread(self._write, path, content)

    # -- bookings -----------------------------------------------------------------------------

    def _booking_file(self, req: BookingRequest, action: str) -> bytes:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(
            ["action", "reference", "voyage_number", "port_of_loading", "port_of_discharge",
             "size_type", "units", "cargo_description", "hs_codes", "packages", "gross_weight_kg",
             "volume_cbm", "un_numbers", "shipper", "consignee"]
        )  # fmt: skip
        for line in req.cargo:
            writer.writerow(
                [action, req.reference, req.sailing.voyage_number, req.sailing.port_of_loading,
                 req.sailing.port_of_discharge, req.size_type, req.units, line.description,
                 " ".join(line.hs_codes), line.packages, line.gross_weight_kg, line.volume_cbm,
                 " ".join(dg.un_number for dg in line.dangerous_goods), req.shipper.name,
                 req.consignee.name]
            )  # fmt: skip
        return out.getvalue().encode()

    async def _save_booking(self, report: BookingStatusReport) -> None:
        await self._store.save(self.scac, f"booking:{report.carrier_reference}", msgspec.json.encode(report))

    async def _decide(self, req: BookingRequest, carrier_reference: str, action: str) -> BookingAck:
        offers, _ = await self._current()
        offer = offers.get(req.sailing)
        units = {a.size_type: a.units for a in offer.allocations} if offer else {}
        reason = None
        if offer is None or offer.status == "cancelled":
            reason = "sailing not on the carrier's sheet or cancelled"
        elif req.units > units.get(req.size_type, 0):
            reason = f"{req.units} x {req.size_type} exceeds the sheet's allocation"
        status = CarrierBookingStatus.REJECTED if reason else CarrierBookingStatus.ACCEPTED
        if status is CarrierBookingStatus.ACCEPTED:
            path = self.outbox / "bookings" / f"{carrier_reference}-{action}.csv"
            await self._write_file(path, self._booking_file(req, action))
        await self._save_booking(BookingStatusReport(carrier_reference=carrier_reference, status=status,
                                                     reason=reason))  # fmt: skip
        return BookingAck(carrier_reference=carrier_reference, status=status)

    async def request_booking(self, req: BookingRequest) -> BookingAck:
        return await self._decide(req, f"{self.scac}-{req.reference}", "request")

    async def booking_status(self, carrier_reference: str) -> BookingStatusReport:
        kept = await self._store.load(self.scac, f"booking:{carrier_reference}")
        if kept is None:
            raise PermanentCarrierError(self.scac, f"unknown booking {carrier_reference}")
        return msgspec.json.decode(kept, type=BookingStatusReport)

    async def amend_booking(self, carrier_reference: str, req: BookingRequest) -> BookingAck:
        await self.booking_status(carrier_reference)
        return await self._decide(req, carrier_reference, "amend")

    async def cancel_booking(self, carrier_reference: str) -> BookingAck:
        report = await self.booking_status(carrier_reference)
        status = CarrierBookingStatus.CANCELLED
        await self._write_file(
            self.outbox / "bookings" / f"{carrier_reference}-cancel.csv",
            f"action,carrier_reference\ncancel,{carrier_reference}\n".encode(),
        )
        await self._save_booking(msgspec.structs.replace(report, status=status))
        return BookingAck(carrier_reference=carrier_reference, status=status)

    # -- releases and manifests ---------------------------------------------------------------

    async def release_units(self, release: UnitRelease) -> ReleaseReceipt:
        async def units_left(_: list[ReleaseRecord]) -> int:
            offers, _problems = await self._current()
            offer = offers.get(release.sailing)
            if offer is None:
                raise PermanentCarrierError(self.scac, f"unknown sailing {release.sailing}")
            return {a.size_type: a.units for a in offer.allocations}.get(release.size_type, 0)

        done, new = await release_once(self._store, self.scac, release, self._clock(), units_left)
        if new:
            await self._write_file(
                self.outbox / "releases" / f"{release.release_id}.csv",
                (
                    "release_id,voyage_number,port_of_loading,port_of_discharge,size_type,units\n"
                    f"{release.release_id},{release.sailing.voyage_number},"
                    f"{release.sailing.port_of_loading},{release.sailing.port_of_discharge},"
                    f"{release.size_type},{done.units_released}\n"
                ).encode(),
            )
        return ReleaseReceipt(release_id=release.release_id, units_released=done.units_released)

    def manifest_stem(self, key: SailingKey) -> str:
        """File name (without suffix) of a sailing's manifest in `outbox/manifests/`."""
        return f"{key.carrier_scac}-{key.voyage_number}-{key.port_of_loading}-{key.port_of_discharge}"

    async def submit_manifest(self, manifest: Manifest) -> ManifestReceipt:
        """CSV, JSON and EDIFACT files in the outbox; an EDIFACT that breaks its limits raises
        InvalidCarrierRequest before any file is written."""
        stem = self.manifest_stem(manifest.sailing)
        now = self._clock()
        charset: Charset = self.settings.edifact_charset
        number = await self._store.next_number(self.scac, "interchange")
        edifact = write_cuscar(
            manifest,
            sender=self.sender_id,
            control_reference=f"{number:09d}",
            prepared_at=now,
            charset=charset,
        )
        folder = self.outbox / "manifests"
        await self._write_file(folder / f"{stem}.csv", write_manifest_csv(manifest).encode())
        await self._write_file(folder / f"{stem}.json", msgspec.json.format(msgspec.json.encode(manifest)))
        await self._write_file(folder / f"{stem}.edi", edifact)
        # Delivered to the outbox; the carrier's acceptance comes back out of band.
        return ManifestReceipt(carrier_reference=stem, accepted=True)

    async def aclose(self) -> None:
        return None


def build_feed(
    scac: str, settings: Mapping[str, Any], *, clock: Clock | None = None, store: CarrierStore | None = None
) -> FeedCarrier:
    """Build from plain settings; raises ValueError on bad settings."""
    parsed = parse_settings(settings, FeedSettings)
    if not parsed.inbox or not parsed.outbox:
        raise ValueError("bad FeedSettings: inbox and outbox are required folders")
    return FeedCarrier(scac, parsed, clock=clock or _utc_now, store=store)


__all__ = ["FeedCarrier", "FeedSettings", "build_feed"]
