"""The consolidated manifest built from rows: the same bookings always give the same content and
checksum, whatever order the database returns them in; only live bookings' containers appear;
cargo fields added later are read where present and never required."""

from __future__ import annotations

import uuid
from decimal import Decimal

from app.manifests.build import BillRow, ContainerRow, build_manifest, canonical, checksum
from carriers.base import ReeferSettings, SailingKey

KEY = SailingKey(
    carrier_scac="MAEU", voyage_number="421E", port_of_loading="CNSHA", port_of_discharge="USLAX"
)
BOX_A, BOX_B = uuid.uuid4(), uuid.uuid4()


def box(container_id: uuid.UUID, number: int, **extra: object) -> ContainerRow:
    values: dict[str, object] = {
        "id": container_id,
        "number": number,
        "size_type": "42G1",
        "set_point_c": None,
        "master_reference": f"SPM-{number}",
        "master_carrier_booking_number": None,
        "equipment_reference": None,
        "seal_number": None,
        **extra,
    }
    return ContainerRow(**values)  # type: ignore[arg-type]


def bill(reference: str, number: str, container_id: uuid.UUID, **cargo: object) -> BillRow:
    return BillRow(
        reference=reference,
        house_bill_number=number,
        container_id=container_id,
        cargo={
            "description": "Tiles",
            "hs_code": "690721",
            "packages": 4,
            "gross_kg": "900",
            "cbm": "2.5",
            **cargo,
        },
        parties={"shipper": {"name": "Exporter Ltd"}, "consignee": {"name": "Importer Inc"}},
    )


def test_the_same_rows_in_any_order_give_the_same_checksum() -> None:
    boxes = [box(BOX_A, 1), box(BOX_B, 2)]
    bills = [bill("SP-1", "SPHB-2612-000001-17", BOX_A), bill("SP-2", "SPHB-2612-000002-84", BOX_B)]

    one = build_manifest(KEY, boxes, bills)
    other = build_manifest(KEY, list(reversed(boxes)), list(reversed(bills)))

    assert checksum(canonical(one)) == checksum(canonical(other))
    assert [c.master_reference for c in one.containers] == ["SPM-1", "SPM-2"]


def test_a_container_whose_bookings_all_left_is_not_on_the_manifest() -> None:
    manifest = build_manifest(
        KEY, [box(BOX_A, 1), box(BOX_B, 2)], [bill("SP-1", "SPHB-2612-000001-17", BOX_A)]
    )

    assert [c.container_ref for c in manifest.containers] == ["SPM-1"]


def test_a_box_is_named_by_its_container_number_once_known_and_carries_its_set_point() -> None:
    sealed = box(BOX_A, 1, equipment_reference="MSKU1234565", seal_number="SL1", set_point_c=Decimal("-18.0"))

    (container,) = build_manifest(KEY, [sealed], [bill("SP-1", "SPHB-2612-000001-17", BOX_A)]).containers

    assert (container.container_ref, container.seal_number) == ("MSKU1234565", "SL1")
    assert container.reefer == ReeferSettings(temperature_setpoint=Decimal("-18.0"))


def test_cargo_fields_added_later_are_read_where_present_and_unknown_ones_ignored() -> None:
    rows = [
        bill(
            "SP-1",
            "SPHB-2612-000001-17",
            BOX_A,
            reefer={"set_point": "-18", "unit": "CEL"},
            dangerous_goods=[
                {"un_number": "1263", "imo_class": "3", "packaging_code": "1A1", "packing_group": 2}
            ],
            stowage="dry",
        ),
        bill("SP-2", "SPHB-2612-000002-84", BOX_A, non_operating_reefer=True),
    ]

    first, second = build_manifest(KEY, [box(BOX_A, 1)], rows).containers[0].house_bills

    assert first.reefer == ReeferSettings(temperature_setpoint=Decimal("-18"))
    assert (first.dangerous_goods[0].un_number, first.dangerous_goods[0].packing_group) == ("1263", 2)
    assert second.reefer is None
    assert second.dangerous_goods == []
