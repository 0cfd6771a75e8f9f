"""Builders for the carrier tests: a frozen clock and a small booking world."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from msgspec.structs import replace

from carriers.base import (
    Address,
    BookingRequest,
    CargoLine,
    DangerousGoods,
    HouseBill,
    Location,
    Manifest,
    ManifestContainer,
    Party,
    ReeferSettings,
    SailingKey,
)

NOW = datetime(2025, 3, 3, 8, 0, tzinfo=UTC)


class FakeMonotonic:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def frozen_now() -> datetime:
    return NOW


SHIPPER = Party(
    name="Anhui Lamps Co Ltd",
    address="88 Huayuan Road",
    city="Hefei",
    postal_code="230000",
    country_code="CN",
    email="export@anhui-lamps.example",
)
CONSIGNEE = Party(
    name="Bright Homes LLC",
    address="1200 Harbor Blvd",
    city="Long Beach",
    postal_code="90802",
    country_code="US",
    phone="+1 562 555 0101",
)


LAMPS = CargoLine(
    description="LED table lamps",
    hs_codes=["940520"],
    packages=640,
    package_code="CT",
    gross_weight_kg=Decimal("14200.5"),
    volume_cbm=Decimal("110.25"),
)


def booking_request(sailing: SailingKey, *, reference: str = "SP-B-0001") -> BookingRequest:
    """An FCL booking of two 40' dry containers on a sailing named by voyage and service."""
    return BookingRequest(
        reference=reference,
        sailing=sailing,
        service_code="TP7",
        size_type="42G1",
        units=2,
        cargo=[LAMPS],
        shipper=SHIPPER,
        consignee=CONSIGNEE,
        notify=None,
    )


FROZEN_SHRIMP = CargoLine(
    description="Frozen shrimp, peeled",
    hs_codes=["030617"],
    packages=1800,
    package_code="CT",
    gross_weight_kg=Decimal("24800"),
    volume_cbm=Decimal("54.5"),
)
PAINT = CargoLine(
    description="Paint, flammable",
    hs_codes=["320890"],
    packages=80,
    imo_packaging_code="1A1",
    packaging_description="Drum, steel, non-removable head",
    gross_weight_kg=Decimal("16400"),
    volume_cbm=Decimal("21.6"),
    dangerous_goods=[
        DangerousGoods(
            un_number="1263",
            imo_class="3",
            proper_shipping_name="PAINT",
            packing_group=3,
            ems_number="F-E S-E",
            flash_point_celsius=Decimal("23"),
        )
    ],
)
SHIPPER_DOOR = Location(
    name="Anhui Lamps warehouse 3",
    address=Address(street="88 Huayuan Road", city="Hefei", postal_code="230000", country_code="CN"),
)
CONSIGNEE_DOOR = Location(
    name="Bright Homes DC",
    address=Address(street="1200 Harbor Blvd", city="Long Beach", postal_code="90802", country_code="US"),
)


def booking_kinds(sailing: SailingKey) -> dict[str, BookingRequest]:
    """A booking of every kind the platform places: FCL, reefer, non-operating reefer,
    dangerous goods, store door at origin, store door at destination, by routing reference."""
    fcl = booking_request(sailing)
    return {
        "fcl": fcl,
        "reefer": replace(
            fcl,
            size_type="45R1",
            units=1,
            reefer=ReeferSettings(temperature_setpoint=Decimal("-18"), humidity_setpoint=Decimal("85")),
            cargo=[FROZEN_SHRIMP],
        ),
        "non_operating_reefer": replace(fcl, size_type="45R1", units=1, non_operating_reefer=True),
        "dangerous_goods": replace(fcl, size_type="22G1", units=1, cargo=[PAINT]),
        "store_door_origin": replace(
            fcl,
            receipt_type_at_origin="SD",
            place_of_receipt=SHIPPER_DOOR,
            pre_carriage_mode="TRUCK",
            container_positioning_at=NOW.replace(day=10),
        ),
        "store_door_destination": replace(
            fcl,
            delivery_type_at_destination="SD",
            place_of_delivery=CONSIGNEE_DOOR,
            on_carriage_mode="RAIL_TRUCK",
        ),
        "routing_reference": replace(
            fcl,
            service_code=None,
            routing_reference="ROUTE-CNSHA-USLAX-1",
            receipt_type_at_origin="SD",
            place_of_receipt=SHIPPER_DOOR,
        ),
    }


def manifest(sailing: SailingKey) -> Manifest:
    return Manifest(
        sailing=sailing,
        containers=[
            ManifestContainer(
                container_ref="SPLU1234565",
                size_type="22G1",
                load="LCL",
                seal_number="SL884201",
                house_bills=[
                    HouseBill(
                        booking_reference="SP-B-0101",
                        shipper=SHIPPER,
                        consignee=CONSIGNEE,
                        cargo_description="LED table lamps",
                        hs_code="940520",
                        packages=40,
                        gross_weight_kg=Decimal("1850.25"),
                        volume_cbm=Decimal("9.8"),
                    ),
                    HouseBill(
                        booking_reference="SP-B-0102",
                        shipper=Party(name="Ningbo Paints; Coatings + Co", country_code="CN"),
                        consignee=Party(name="O'Brien Hardware", country_code="US"),
                        cargo_description="Paint, flammable: 20 drums",
                        hs_code="320890",
                        packages=20,
                        gross_weight_kg=Decimal("4200"),
                        volume_cbm=Decimal("6.5"),
                        dangerous_goods=[
                            DangerousGoods(
                                un_number="1263",
                                imo_class="3",
                                proper_shipping_name="PAINT",
                                packing_group=3,
                            )
                        ],
                    ),
                ],
            ),
            ManifestContainer(
                container_ref="SPLU7654323",
                size_type="42G1",
                load="FCL",
                seal_number="SL884202",
                house_bills=[
                    HouseBill(
                        booking_reference="SP-B-0103",
                        shipper=SHIPPER,
                        consignee=CONSIGNEE,
                        cargo_description="Steel office chairs",
                        hs_code="940171",
                        packages=300,
                        gross_weight_kg=Decimal("9800"),
                        volume_cbm=Decimal("62.4"),
                    )
                ],
            ),
        ],
    )
