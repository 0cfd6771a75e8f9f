"""What a carrier is asked: the neutral ``BookingRequest`` of an FCL booking or of the master
booking of a consolidated container, built from the rows as they stand in the transaction that
records the request. Pure functions over plain values."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import msgspec

from carriers.base import (
    Address,
    BookingRequest,
    CargoLine,
    DangerousGoods,
    Location,
    Party,
    ReeferSettings,
    SailingKey,
)


class SailingFacts(msgspec.Struct, kw_only=True, frozen=True):
    """The sailing a request names, as the inventory knows it."""

    carrier_scac: str
    voyage_number: str
    port_of_loading: str
    port_of_discharge: str
    service_code: str | None
    vessel_name: str | None
    vessel_imo: str | None

    @property
    def key(self) -> SailingKey:
        return SailingKey(
            carrier_scac=self.carrier_scac,
            voyage_number=self.voyage_number,
            port_of_loading=self.port_of_loading,
            port_of_discharge=self.port_of_discharge,
        )


def booking_request(
    reference: str, sailing: SailingFacts, size_type: str, units: int, cargo: Mapping[str, Any],
    parties: Mapping[str, Any],
) -> BookingRequest:  # fmt: skip
    """An FCL booking's request: ``cargo`` and ``parties`` are the booking's stored JSON (the
    API's ``Cargo`` and ``Parties``)."""
    haulage = cargo.get("haulage") or {}
    reefer = cargo.get("reefer")
    return BookingRequest(
        reference=reference,
        sailing=sailing.key,
        service_code=sailing.service_code,
        vessel_name=sailing.vessel_name,
        vessel_imo=sailing.vessel_imo,
        size_type=size_type,
        units=units,
        receipt_type_at_origin=haulage.get("receipt_type_at_origin", "CY"),
        delivery_type_at_destination=haulage.get("delivery_type_at_destination", "CY"),
        place_of_receipt=_location(haulage.get("place_of_receipt")),
        place_of_delivery=_location(haulage.get("place_of_delivery")),
        pre_carriage_mode=haulage.get("pre_carriage_mode"),
        on_carriage_mode=haulage.get("on_carriage_mode"),
        reefer=None if reefer is None else reefer_settings(reefer),
        non_operating_reefer=bool(cargo.get("non_operating_reefer", False)),
        cargo=[cargo_line(cargo)],
        shipper=party(parties["shipper"]),
        consignee=party(parties["consignee"]),
        notify=party(parties["notify"]) if parties.get("notify") else None,
    )


def master_request(
    reference: str, sailing: SailingFacts, size_type: str, booking_party: Party,
    cargo: Iterable[Mapping[str, Any]], set_point_c: Decimal | None, non_operating_reefer: bool,
) -> BookingRequest:  # fmt: skip
    """The master booking of a consolidated container: one box, the platform as shipper and
    consignee (it issues the house bills), one cargo line per booking aboard."""
    return BookingRequest(
        reference=reference,
        sailing=sailing.key,
        service_code=sailing.service_code,
        vessel_name=sailing.vessel_name,
        vessel_imo=sailing.vessel_imo,
        size_type=size_type,
        units=1,
        reefer=None if set_point_c is None else ReeferSettings(temperature_setpoint=set_point_c),
        non_operating_reefer=non_operating_reefer and set_point_c is None,
        cargo=[cargo_line(line) for line in cargo],
        shipper=booking_party,
        consignee=booking_party,
    )


def cargo_line(cargo: Mapping[str, Any]) -> CargoLine:
    return CargoLine(
        description=cargo["description"],
        hs_codes=[cargo["hs_code"]],
        packages=int(cargo["packages"]),
        gross_weight_kg=Decimal(str(cargo["gross_kg"])),
        volume_cbm=Decimal(str(cargo["cbm"])),
        package_code=cargo.get("package_code"),
        imo_packaging_code=cargo.get("imo_packaging_code"),
        packaging_description=cargo.get("packaging_description"),
        dangerous_goods=[dangerous_goods(dg) for dg in cargo.get("dangerous_goods") or []],
    )


def party(given: Mapping[str, Any]) -> Party:
    return Party(
        name=given["name"],
        address=given.get("address"),
        city=given.get("city"),
        postal_code=given.get("postal_code"),
        country_code=given.get("country_code"),
        email=given.get("email"),
        phone=given.get("phone"),
        contact_name=given.get("contact_name"),
    )


def dangerous_goods(given: Mapping[str, Any]) -> DangerousGoods:
    """One stored dangerous-goods line of a cargo (the API's ``DangerousGoods``) as carriers are
    sent it."""
    flash_point = given.get("flash_point_celsius")
    return DangerousGoods(
        un_number=given["un_number"],
        imo_class=given["imo_class"],
        proper_shipping_name=given.get("proper_shipping_name"),
        technical_name=given.get("technical_name"),
        packing_group=given.get("packing_group"),
        is_marine_pollutant=bool(given.get("is_marine_pollutant", False)),
        is_limited_quantity=bool(given.get("is_limited_quantity", False)),
        ems_number=given.get("ems_number"),
        flash_point_celsius=None if flash_point is None else Decimal(str(flash_point)),
    )


def reefer_settings(given: Mapping[str, Any]) -> ReeferSettings:
    """A cargo's ``reefer`` (the API's ``Reefer``: set point, unit, humidity, pre-cooling) as
    carriers are sent it."""
    humidity = given.get("humidity_percent")
    return ReeferSettings(
        temperature_setpoint=Decimal(str(given["set_point"])),
        temperature_unit=given.get("unit", "CEL"),
        humidity_setpoint=None if humidity is None else Decimal(str(humidity)),
        is_pre_cooling_required=bool(given.get("pre_cooling", False)),
    )


def _location(given: Mapping[str, Any] | None) -> Location | None:
    if not given:
        return None
    address = given.get("address")
    return Location(
        un_location_code=given.get("un_location_code"),
        name=given.get("name"),
        address=None
        if not address
        else Address(
            street=address["street"],
            city=address["city"],
            country_code=address["country_code"],
            street_number=address.get("street_number"),
            postal_code=address.get("postal_code"),
        ),
    )


def encode(request: BookingRequest) -> dict[str, Any]:
    """The request as JSON values for the ``payload`` column."""
    encoded: dict[str, Any] = msgspec.to_builtins(request)
    return encoded


def decode(payload: Mapping[str, Any]) -> BookingRequest:
    return msgspec.convert(payload, BookingRequest)
