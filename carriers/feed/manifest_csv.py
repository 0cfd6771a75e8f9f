"""The consolidated manifest as CSV: one row per house bill, its container repeated.

Columns: the sailing (carrier_scac, voyage_number, port_of_loading, port_of_discharge), the
container (container_ref, size_type, load, seal_number), the house bill and both parties
(shipper_* and consignee_*: name, address, city, postal_code, country_code, email, phone), and
dangerous_goods as a JSON list of {"un_number", "imo_class", "proper_shipping_name",
"packing_group"}. Weights in kg and volumes in CBM, as plain decimals.
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
    SailingKey,
)

PARTY_FIELDS = ("name", "address", "city", "postal_code", "country_code", "email", "phone")
SAILING_FIELDS = ("carrier_scac", "voyage_number", "port_of_loading", "port_of_discharge")
CONTAINER_FIELDS = ("container_ref", "size_type", "load", "seal_number")
HOUSE_BILL_FIELDS = (
    "booking_reference", "cargo_description", "hs_code", "packages", "gross_weight_kg",
    "volume_cbm",
)  # fmt: skip
COLUMNS = (
    SAILING_FIELDS
    + CONTAINER_FIELDS
    + HOUSE_BILL_FIELDS
    + tuple(f"shipper_{f}" for f in PARTY_FIELDS)
    + tuple(f"consignee_{f}" for f in PARTY_FIELDS)
    + ("dangerous_goods",)
)


def _party_columns(prefix: str, party: Party) -> dict[str, str]:
    return {f"{prefix}_{f}": getattr(party, f) or "" for f in PARTY_FIELDS}


def _party(prefix: str, row: dict[str, str]) -> Party:
    values = {f: row[f"{prefix}_{f}"] or None for f in PARTY_FIELDS}
    return Party(**values)  # type: ignore[arg-type]


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
                    "booking_reference": bill.booking_reference,
                    "cargo_description": bill.cargo_description,
                    "hs_code": bill.hs_code,
                    "packages": bill.packages,
                    "gross_weight_kg": bill.gross_weight_kg,
                    "volume_cbm": bill.volume_cbm,
                    **_party_columns("shipper", bill.shipper),
                    **_party_columns("consignee", bill.consignee),
                    "dangerous_goods": msgspec.json.encode(bill.dangerous_goods).decode(),
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
                house_bills=[],
            )
        containers[ref].house_bills.append(
            HouseBill(
                booking_reference=row["booking_reference"],
                shipper=_party("shipper", row),
                consignee=_party("consignee", row),
                cargo_description=row["cargo_description"],
                hs_code=row["hs_code"],
                packages=int(row["packages"]),
                gross_weight_kg=Decimal(row["gross_weight_kg"]),
                volume_cbm=Decimal(row["volume_cbm"]),
                dangerous_goods=msgspec.json.decode(row["dangerous_goods"], type=list[DangerousGoods]),
            )
        )
    return Manifest(sailing=sailing, containers=list(containers.values()))
