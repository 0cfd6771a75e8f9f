"""Allocation sheets: what a file carrier sends us, as CSV or JSON, checked whole.

CSV: one row per sailing and size-type, header row required::

    service_code,vessel_name,vessel_imo,voyage_number,port_of_loading,port_of_discharge,
    etd,eta,status,size_type,units,rate,currency[,DCO,VCO,FCO,LCO,...]

Extra columns named after DCSA cut-off codes carry those cut-offs; any other column named like
a code (three capital letters) is an unknown cut-off code. Rows of the same sailing (same
voyage, POL, POD) must agree on everything but size_type/units/rate/currency.

JSON: ``{"carrier_scac": "ABCD", "issued_at": ..., "sailings": [{..., "cut_offs": {"DCO": ...},
"allocations": [{"size_type": "22G1", "units": 10, "rate": "1150.00", "currency": "USD"}]}]}``.

A sheet is checked whole before any of it is used: every problem (a naive datetime, negative
units or rates, a size-type given twice for one sailing, a cut-off after ETD, an unknown code,
rows that disagree) is listed with its row, and a sheet with any problem raises `SheetInvalid`
and yields nothing. Datetimes are ISO 8601 with an offset (converted to UTC).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

import msgspec

from carriers.base import ErrorDetail, MalformedCarrierAnswer, OfferedAllocation, SailingKey, SailingOffer
from carriers.codes import CUT_OFF_CODES, SIZE_TYPE, UN_LOCODE

SAILING_COLUMNS = (
    "service_code", "vessel_name", "vessel_imo", "voyage_number", "port_of_loading",
    "port_of_discharge", "etd", "eta", "status",
)  # fmt: skip
ALLOCATION_COLUMNS = ("size_type", "units", "rate", "currency")
STATUSES = ("scheduled", "cancelled")
CODE_LIKE = re.compile(r"^[A-Z]{3}$")


class SheetInvalid(MalformedCarrierAnswer):
    """An allocation sheet with problems; ``errors`` lists each with its row."""


class SheetAllocation(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    size_type: str
    units: int
    rate: Decimal
    currency: str


class SheetSailing(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    service_code: str
    vessel_name: str
    vessel_imo: str | None = None
    voyage_number: str
    port_of_loading: str
    port_of_discharge: str
    etd: datetime
    eta: datetime
    status: str = "scheduled"
    cut_offs: dict[str, datetime] = {}
    allocations: list[SheetAllocation]


class JsonSheet(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    carrier_scac: str | None = None
    issued_at: datetime | None = None
    sailings: list[SheetSailing]


class Sheet(msgspec.Struct, kw_only=True):
    """A checked sheet: its sailings and when the carrier issued it (None when it says not)."""

    offers: list[SailingOffer]
    issued_at: datetime | None = None


def decode_sheet(scac: str, content: bytes, encoding: str = "auto", fallback: str = "latin-1") -> str:
    """The sheet's text. ``auto``: a byte-order mark decides (UTF-8, UTF-16), else UTF-8, else
    ``fallback``; any other ``encoding`` is used as given. A sheet that does not decode raises
    MalformedCarrierAnswer, never UnicodeDecodeError."""
    if encoding == "auto":
        if content.startswith(codecs.BOM_UTF8):
            encoding = "utf-8-sig"
        elif content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            encoding = "utf-16"
        else:
            try:
                return content.decode("utf-8")
            except UnicodeDecodeError:
                encoding = fallback
    try:
        return content.decode(encoding)
    except (UnicodeDecodeError, LookupError) as error:
        raise MalformedCarrierAnswer(scac, f"allocation sheet is not {encoding}: {error}") from error


class _Problems:
    def __init__(self) -> None:
        self.errors: list[ErrorDetail] = []

    def add(self, where: str, message: str) -> None:
        self.errors.append(ErrorDetail(property=where, message=message))

    def raise_if_any(self, scac: str) -> None:
        if self.errors:
            listed = "; ".join(f"{e.property}: {e.message}" for e in self.errors)
            raise SheetInvalid(
                scac, f"allocation sheet has {len(self.errors)} problem(s): {listed}", errors=self.errors
            )


def _utc(problems: _Problems, where: str, value: datetime) -> datetime:
    if value.tzinfo is None:
        problems.add(where, f"{value.isoformat()} has no UTC offset")
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _check_sailing(problems: _Problems, where: str, sailing: SheetSailing) -> None:
    if sailing.status not in STATUSES:
        problems.add(f"{where} status", f"unknown sailing status {sailing.status!r}")
    for port in (sailing.port_of_loading, sailing.port_of_discharge):
        if not re.match(UN_LOCODE, port):
            problems.add(where, f"port {port!r} is not a UN/LOCODE")
    for code in sorted(set(sailing.cut_offs) - CUT_OFF_CODES):
        problems.add(f"{where} {code}", f"unknown cut-off code {code!r}")
    if sailing.eta <= sailing.etd:
        problems.add(f"{where} eta", "eta is not after etd")
    for code, moment in sorted(sailing.cut_offs.items()):
        if moment > sailing.etd:
            problems.add(f"{where} {code}", f"cut-off {moment.isoformat()} is after ETD")


def _check_allocation(problems: _Problems, where: str, allocation: SheetAllocation) -> None:
    if not re.match(SIZE_TYPE, allocation.size_type):
        problems.add(f"{where} size_type", f"unknown ISO 6346 size-type {allocation.size_type!r}")
    if allocation.units < 0:
        problems.add(f"{where} units", f"negative units {allocation.units}")
    if not allocation.rate.is_finite() or allocation.rate < 0:
        problems.add(f"{where} rate", f"negative or invalid rate {allocation.rate}")
    if not re.match(r"^[A-Z]{3}$", allocation.currency):
        problems.add(f"{where} currency", f"unknown currency {allocation.currency!r}")


def _offer(scac: str, sailing: SheetSailing) -> SailingOffer:
    return SailingOffer(
        carrier_scac=scac,
        service_code=sailing.service_code or None,
        vessel_name=sailing.vessel_name or None,
        vessel_imo=sailing.vessel_imo or None,
        voyage_number=sailing.voyage_number,
        port_of_loading=sailing.port_of_loading,
        port_of_discharge=sailing.port_of_discharge,
        etd=sailing.etd,
        eta=sailing.eta,
        cut_offs=dict(sailing.cut_offs),
        status="cancelled" if sailing.status == "cancelled" else "scheduled",
        allocations=[
            OfferedAllocation(size_type=a.size_type, units=a.units, rate=a.rate, currency=a.currency)
            for a in sailing.allocations
        ],
    )


def _in_utc(problems: _Problems, where: str, sailing: SheetSailing) -> SheetSailing:
    return msgspec.structs.replace(
        sailing,
        etd=_utc(problems, f"{where} etd", sailing.etd),
        eta=_utc(problems, f"{where} eta", sailing.eta),
        cut_offs={code: _utc(problems, f"{where} {code}", at) for code, at in sailing.cut_offs.items()},
    )


def _duplicates(problems: _Problems, rows: Iterable[tuple[str, str]]) -> None:
    """(where, size-type) of one sailing's allocations: each size-type once."""
    first: dict[str, str] = {}
    for where, size_type in rows:
        if size_type in first:
            problems.add(
                where, f"size-type {size_type} given twice for the sailing (first at {first[size_type]})"
            )
        first.setdefault(size_type, where)


def parse_json_sheet(scac: str, content: bytes) -> Sheet:
    """A JSON allocation sheet, checked whole; SheetInvalid (a MalformedCarrierAnswer) lists
    every problem."""
    try:
        sheet = msgspec.json.decode(content, type=JsonSheet)
    except msgspec.DecodeError as exc:
        raise SheetInvalid(scac, f"allocation sheet: {exc}", errors=[ErrorDetail(message=str(exc))]) from exc
    problems = _Problems()
    if sheet.carrier_scac not in (None, scac):
        problems.add("carrier_scac", f"sheet is for carrier {sheet.carrier_scac}")
    sailings = []
    for n, given in enumerate(sheet.sailings):
        where = f"sailings[{n}]"
        sailing = _in_utc(problems, where, given)
        _check_sailing(problems, where, sailing)
        for m, allocation in enumerate(sailing.allocations):
            _check_allocation(problems, f"{where}.allocations[{m}]", allocation)
        _duplicates(
            problems, ((f"{where}.allocations[{m}]", a.size_type) for m, a in enumerate(sailing.allocations))
        )
        sailings.append(sailing)
    problems.raise_if_any(scac)
    issued = sheet.issued_at.astimezone(UTC) if sheet.issued_at and sheet.issued_at.tzinfo else None
    return Sheet(offers=[_offer(scac, s) for s in sailings], issued_at=issued)


def parse_csv_sheet(scac: str, content: str) -> Sheet:
    """A CSV allocation sheet, checked whole; SheetInvalid (a MalformedCarrierAnswer) lists
    every problem with its line number."""
    reader = csv.DictReader(io.StringIO(content))
    columns = list(reader.fieldnames or ())
    missing = set(SAILING_COLUMNS + ALLOCATION_COLUMNS) - set(columns)
    if missing:
        error = f"allocation sheet lacks columns {sorted(missing)}"
        raise SheetInvalid(scac, error, errors=[ErrorDetail(property="header", message=error)])
    problems = _Problems()
    known = set(SAILING_COLUMNS + ALLOCATION_COLUMNS)
    for column in columns:
        if column not in known and CODE_LIKE.match(column) and column not in CUT_OFF_CODES:
            problems.add(f"header {column}", f"unknown cut-off code {column!r}")
    cut_off_columns = [c for c in columns if c in CUT_OFF_CODES]
    sailings: dict[SailingKey, SheetSailing] = {}
    first_line: dict[SailingKey, int] = {}
    size_types: dict[SailingKey, list[tuple[str, str]]] = {}
    for line, row in enumerate(reader, start=2):
        where = f"line {line}"
        try:
            sailing = msgspec.convert(
                {
                    **{c: row[c] for c in SAILING_COLUMNS},
                    "cut_offs": {c: row[c] for c in cut_off_columns if row[c]},
                    "allocations": [],
                },
                SheetSailing,
                strict=False,
            )
            allocation = SheetAllocation(
                size_type=row["size_type"] or "",
                units=int(row["units"] or ""),
                rate=Decimal(row["rate"] or ""),
                currency=row["currency"] or "",
            )
        except (msgspec.ValidationError, ValueError, InvalidOperation, TypeError) as exc:
            problems.add(where, str(exc) or type(exc).__name__)
            continue
        sailing = _in_utc(problems, where, sailing)
        _check_allocation(problems, where, allocation)
        key = SailingKey(
            carrier_scac=scac,
            voyage_number=sailing.voyage_number,
            port_of_loading=sailing.port_of_loading,
            port_of_discharge=sailing.port_of_discharge,
        )
        if key not in sailings:
            _check_sailing(problems, where, sailing)
            sailings[key], first_line[key] = sailing, line
        elif msgspec.structs.replace(sailings[key], allocations=[]) != sailing:
            problems.add(where, f"disagrees with line {first_line[key]} about the same sailing")
        sailings[key].allocations.append(allocation)
        size_types.setdefault(key, []).append((where, allocation.size_type))
    for rows in size_types.values():
        _duplicates(problems, rows)
    problems.raise_if_any(scac)
    return Sheet(offers=[_offer(scac, s) for s in sailings.values()])
