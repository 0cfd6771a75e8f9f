"""The consolidated manifest as CSV: one row per house bill, its container repeated.

Columns: the sailing (carrier_scac, voyage_number, port_of_loading, port_of_discharge), the
container (container_ref, size_type, load, seal_number), the house bill and both parties
(shipper_*, consignee_* and notify_*: name, address, city, postal_code, country_code, email,
phone, contact_name; the notify columns empty when there is none), dangerous_goods as a JSON
list of {"un_number", "imo_class", "proper_shipping_name", "packing_group"}, and the reefer
settings (the container's, the house bill's) as a JSON object or empty. Weights in kg and
volumes in CBM, as plain decimals.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Literal

import msgspec

from carriers.base import (
    DangerousGoods,
    HouseBill,
    Manifest,
    ManifestContainer,
    Party,
    ReeferSettings,
    SailingKey,
)

PARTY_FIELDS = ("name", "address", "city", "postal_code", "country_code", "email", "phone", "contact_name")
SAILING_FIELDS = ("carrier_scac", "voyage_number", "port_of_loading", "port_of_discharge")
CONTAINER_FIELDS = (
    "container_ref", "size_type", "load", "seal_number", "master_reference", "carrier_booking_reference",
    "container_reefer",
)  # fmt: skip
HOUSE_BILL_FIELDS = (
    "booking_reference", "house_bill_number", "cargo_description", "hs_code", "packages",
    "gross_weight_kg", "volume_cbm",
)  # fmt: skip
COLUMNS = (
    SAILING_FIELDS
    + CONTAINER_FIELDS
    + HOUSE_BILL_FIELDS
    + tuple(f"shipper_{f}" for f in PARTY_FIELDS)
    + tuple(f"consignee_{f}" for f in PARTY_FIELDS)
    + tuple(f"notify_{f}" for f in PARTY_FIELDS)
    + ("dangerous_goods", "reefer")
)


def _party_columns(prefix: str, party: Party | None) -> dict[str, str]:
    return {f"{prefix}_{f}": (getattr(party, f) if party else None) or "" for f in PARTY_FIELDS}


def _party(prefix: str, row: dict[str, str]) -> Party:
    values = {f: row[f"{prefix}_{f}"] or None for f in PARTY_FIELDS}
    return Party(**values)  # type: ignore[arg-type]


def _reefer_column(reefer: ReeferSettings | None) -> str:
    return msgspec.json.encode(reefer).decode() if reefer else ""


def _reefer(value: str) -> ReeferSettings | None:
    return msgspec.json.decode(value, type=ReeferSettings) if value else None


def write_manifest_csv(manifest: Manifest) -> str:
    """The manifest as CSV text (header plus one row per house bill)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    sailing = msgspec.structs.asdict(manifest.sailing)
    for container in manifest.containers:
        for bill in container.house_bills:
            writer.writerow(
                {
                    **sailing,
                    "container_ref": container.container_ref,
                    "size_type": container.size_type,
                    "load": container.load,
                    "seal_number": container.seal_number or "",
                    "master_reference": container.master_reference or "",
                    "carrier_booking_reference": container.carrier_booking_reference or "",
                    "container_reefer": _reefer_column(container.reefer),
                    "booking_reference": bill.booking_reference,
                    "house_bill_number": bill.house_bill_number or "",
                    "cargo_description": bill.cargo_description,
                    "hs_code": bill.hs_code,
                    "packages": bill.packages,
                    "gross_weight_kg": bill.gross_weight_kg,
                    "volume_cbm": bill.volume_cbm,
                    **_party_columns("shipper", bill.shipper),
                    **_party_columns("consignee", bill.consignee),
                    **_party_columns("notify", bill.notify),
                    "dangerous_goods": msgspec.json.encode(bill.dangerous_goods).decode(),
                    "reefer": _reefer_column(bill.reefer),
                }
            )
    return out.getvalue()


def read_manifest_csv(content: str) -> Manifest:
    """Parse text written by `write_manifest_csv` back into a Manifest."""
    rows = list(csv.DictReader(io.StringIO(content)))
    if not rows:
        raise ValueError("manifest CSV has no house bills")
    sailing = SailingKey(**{f: rows[0][f] for f in SAILING_FIELDS})
    containers: dict[str, ManifestContainer] = {}
    for row in rows:
        ref = row["container_ref"]
        if ref not in containers:
            load: Literal["FCL", "LCL"] = "FCL" if row["load"] == "FCL" else "LCL"
            containers[ref] = ManifestContainer(
                container_ref=ref,
                size_type=row["size_type"],
                load=load,
                seal_number=row["seal_number"] or None,
                master_reference=row["master_reference"] or None,
                carrier_booking_reference=row["carrier_booking_reference"] or None,
                reefer=_reefer(row["container_reefer"]),
                house_bills=[],
            )
        containers[ref].house_bills.append(
            HouseBill(
                booking_reference=row["booking_reference"],
                house_bill_number=row["house_bill_number"] or None,
                shipper=_party("shipper", row),
                consignee=_party("consignee", row),
                notify=_party("notify", row) if row["notify_name"] else None,
                reefer=_reefer(row["reefer"]),
                cargo_description=row["cargo_description"],
                hs_code=row["hs_code"],
                packages=int(row["packages"]),
                gross_weight_kg=Decimal(row["gross_weight_kg"]),
                volume_cbm=Decimal(row["volume_cbm"]),
                dangerous_goods=msgspec.json.decode(row["dangerous_goods"], type=list[DangerousGoods]),
            )
        )
    return Manifest(sailing=sailing, containers=list(containers.values()))
