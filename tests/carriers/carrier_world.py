"""Builders for the carrier tests: a frozen clock and a small booking world."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from carriers.base import (
    BookingRequest,
    DangerousGoods,
    HouseBill,
    Manifest,
    ManifestContainer,
    Party,
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


def booking_request(sailing: SailingKey, *, reference: str = "SP-B-0001") -> BookingRequest:
    return BookingRequest(
        reference=reference,
        sailing=sailing,
        size_type="42G1",
        units=2,
        cargo_description="LED table lamps",
        hs_code="940520",
        gross_weight_kg=Decimal("14200.5"),
        volume_cbm=Decimal("110.25"),
        dangerous_goods=[],
        shipper=SHIPPER,
        consignee=CONSIGNEE,
        notify=None,
    )


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
