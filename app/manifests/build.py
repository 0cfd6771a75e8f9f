"""The consolidated manifest of one sailing, built from its rows: pure, no I/O.

Containers come in the order of their pools' size-types and their numbers, house bills in the
order of their numbers, so the same bookings always make the same content and the same checksum:
a new version is stored only when something a carrier would see has changed.
"""

from __future__ import annotations

import hashlib
import uuid
from decimal import Decimal
from typing import Any

import msgspec

from app.carrier_requests.payload import dangerous_goods, reefer_settings
from carriers.base import (
    HouseBill,
    Manifest,
    ManifestContainer,
    Party,
    ReeferSettings,
    SailingKey,
)

_PARTY_FIELDS = tuple(f.name for f in msgspec.structs.fields(Party))


class ContainerRow(msgspec.Struct, kw_only=True, frozen=True):
    """A consolidated container of a closed pool, with its master booking."""

    id: uuid.UUID
    number: int
    size_type: str
    set_point_c: Decimal | None
    master_reference: str
    master_carrier_booking_number: str | None
    equipment_reference: str | None
    seal_number: str | None


class BillRow(msgspec.Struct, kw_only=True, frozen=True):
    """A live LCL booking aboard a container: its cargo and parties as the booking holds them."""

    reference: str
    house_bill_number: str | None
    container_id: uuid.UUID
    cargo: dict[str, Any]
    parties: dict[str, Any]


def build_manifest(sailing: SailingKey, containers: list[ContainerRow], bills: list[BillRow]) -> Manifest:
    """Every container holding live bookings, each with the house bills of those bookings.
    A container whose bookings were all cancelled or rolled is no longer on the manifest."""
    aboard: dict[uuid.UUID, list[HouseBill]] = {}
    for bill in sorted(bills, key=lambda b: (b.house_bill_number or "", b.reference)):
        aboard.setdefault(bill.container_id, []).append(house_bill(bill))
    return Manifest(
        sailing=sailing,
        containers=[
            ManifestContainer(
                # The box's ISO 6346 number once it is known; until then our master booking's
                # reference names it.
                container_ref=container.equipment_reference or container.master_reference,
                size_type=container.size_type,
                load="LCL",
                house_bills=aboard[container.id],
                seal_number=container.seal_number,
                carrier_booking_reference=container.master_carrier_booking_number,
                master_reference=container.master_reference,
                reefer=(
                    None
                    if container.set_point_c is None
                    else ReeferSettings(temperature_setpoint=container.set_point_c)
                ),
            )
            for container in sorted(containers, key=lambda c: (c.size_type, c.number))
            if container.id in aboard
        ],
    )


def house_bill(row: BillRow) -> HouseBill:
    """A booking's house bill. Cargo is read defensively: fields added to it later (reefer,
    packaging) are used where present and never required."""
    cargo, parties = row.cargo, row.parties
    notify = parties.get("notify")
    return HouseBill(
        booking_reference=row.reference,
        house_bill_number=row.house_bill_number,
        shipper=_party(parties["shipper"]),
        consignee=_party(parties["consignee"]),
        notify=_party(notify) if notify else None,
        cargo_description=str(cargo["description"]),
        hs_code=str(cargo["hs_code"]),
        packages=int(cargo["packages"]),
        gross_weight_kg=Decimal(str(cargo["gross_kg"])),
        volume_cbm=Decimal(str(cargo["cbm"])),
        dangerous_goods=[dangerous_goods(entry) for entry in cargo.get("dangerous_goods") or []],
        reefer=_reefer(cargo.get("reefer")),
    )


def _party(given: dict[str, Any]) -> Party:
    return msgspec.convert(
        {name: given[name] for name in _PARTY_FIELDS if given.get(name) is not None}, Party
    )


def _reefer(given: Any) -> ReeferSettings | None:
    """Reefer settings of a booking's cargo (the API's ``Reefer``); None for cargo that needs
    none (a non-operating reefer is the container's, not the cargo's)."""
    return reefer_settings(given) if isinstance(given, dict) and "set_point" in given else None


def canonical(manifest: Manifest) -> bytes:
    """The manifest's canonical JSON: what a version stores and its checksum covers."""
    return msgspec.json.encode(manifest)


def checksum(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def house_bill_count(manifest: Manifest) -> int:
    return sum(len(container.house_bills) for container in manifest.containers)
