"""Allocation sheets: what a file carrier sends us, as CSV or JSON.

CSV: one row per sailing and size-type, header row required::

    service_code,vessel_name,vessel_imo,voyage_number,port_of_loading,port_of_discharge,
    etd,eta,status,size_type,units,rate,currency[,DCO,VCO,FCO,LCO,...]

Extra columns named after DCSA cut-off codes carry those cut-offs. Rows of the same sailing
(same voyage, POL, POD) must agree on everything but size_type/units/rate/currency.

JSON: ``{"carrier_scac": "ABCD", "sailings": [{..., "cut_offs": {"DCO": ...},
"allocations": [{"size_type": "22G1", "units": 10, "rate": "1150.00", "currency": "USD"}]}]}``.

Datetimes are ISO 8601 with an offset (converted to UTC); a naive datetime is an error.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

import msgspec

from carriers.base import MalformedCarrierAnswer, OfferedAllocation, SailingKey, SailingOffer
from carriers.codes import CUT_OFF_CODES

SAILING_COLUMNS = (
    "service_code", "vessel_name", "vessel_imo", "voyage_number", "port_of_loading",
    "port_of_discharge", "etd", "eta", "status",
)  # fmt: skip
ALLOCATION_COLUMNS = ("size_type", "units", "rate", "currency")


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


def _utc(value: datetime, scac: str, what: str) -> datetime:
    if value.tzinfo is None:
        raise MalformedCarrierAnswer(scac, f"{what}: datetime without a UTC offset")
    return value.astimezone(UTC)


def _offer(scac: str, sailing: SheetSailing) -> SailingOffer:
    if sailing.status not in ("scheduled", "cancelled"):
        raise MalformedCarrierAnswer(scac, f"unknown sailing status {sailing.status!r}")
    unknown = set(sailing.cut_offs) - CUT_OFF_CODES
    if unknown:
        raise MalformedCarrierAnswer(scac, f"unknown cut-off codes {sorted(unknown)}")
    where = sailing.voyage_number
    return SailingOffer(
        carrier_scac=scac,
        service_code=sailing.service_code,
        vessel_name=sailing.vessel_name,
        vessel_imo=sailing.vessel_imo or None,
        voyage_number=sailing.voyage_number,
        port_of_loading=sailing.port_of_loading,
        port_of_discharge=sailing.port_of_discharge,
        etd=_utc(sailing.etd, scac, where),
        eta=_utc(sailing.eta, scac, where),
        cut_offs={code: _utc(at, scac, where) for code, at in sailing.cut_offs.items()},
        status="cancelled" if sailing.status == "cancelled" else "scheduled",
        allocations=[
            OfferedAllocation(size_type=a.size_type, units=a.units, rate=a.rate, currency=a.currency)
            for a in sailing.allocations
        ],
    )


def parse_json_sheet(scac: str, content: bytes) -> list[SailingOffer]:
    """Sailings of a JSON allocation sheet; MalformedCarrierAnswer if it breaks the format."""
    try:
        sheet = msgspec.json.decode(content, type=JsonSheet)
    except msgspec.DecodeError as exc:
        raise MalformedCarrierAnswer(scac, f"allocation sheet: {exc}") from exc
    if sheet.carrier_scac not in (None, scac):
        raise MalformedCarrierAnswer(scac, f"sheet is for carrier {sheet.carrier_scac}")
    return [_offer(scac, s) for s in sheet.sailings]


def parse_csv_sheet(scac: str, content: str) -> list[SailingOffer]:
    """Sailings of a CSV allocation sheet; MalformedCarrierAnswer if it breaks the format."""
    reader = csv.DictReader(io.StringIO(content))
    missing = set(SAILING_COLUMNS + ALLOCATION_COLUMNS) - set(reader.fieldnames or ())
    if missing:
        raise MalformedCarrierAnswer(scac, f"allocation sheet lacks columns {sorted(missing)}")
    cut_off_columns = [c for c in reader.fieldnames or () if c in CUT_OFF_CODES]
    sailings: dict[SailingKey, SheetSailing] = {}
    for line, row in enumerate(reader, start=2):
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
                size_type=row["size_type"],
                units=int(row["units"]),
                rate=Decimal(row["rate"]),
                currency=row["currency"],
            )
        except (msgspec.ValidationError, ValueError, InvalidOperation) as exc:
            raise MalformedCarrierAnswer(scac, f"allocation sheet line {line}: {exc}") from exc
        key = SailingKey(
            carrier_scac=scac,
            voyage_number=sailing.voyage_number,
            port_of_loading=sailing.port_of_loading,
            port_of_discharge=sailing.port_of_discharge,
        )
        known = sailings.setdefault(key, sailing)
        if msgspec.structs.replace(known, allocations=[]) != sailing:
            raise MalformedCarrierAnswer(scac, f"line {line} disagrees with earlier rows")
        known.allocations.append(allocation)
    return [_offer(scac, s) for s in sailings.values()]
