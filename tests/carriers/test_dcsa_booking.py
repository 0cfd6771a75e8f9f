"""Booking requests a DCSA carrier accepts: every kind of booking validates against BKG 2.0.4
and the conditions its descriptions state; what cannot be sent as given is refused with every
field named, never cut; the carrier's ErrorResponse comes back in the typed error."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import dcsa_conditions
import dcsa_spec
import msgspec
import pytest
from carrier_world import CONSIGNEE, PAINT, SHIPPER, booking_kinds, booking_request
from dcsa_world import LANE, dcsa_adapter
from fake_dcsa import FakeDcsaState
from msgspec.structs import replace

from carriers.base import (
    BookingRequest,
    CargoLine,
    DangerousGoods,
    InvalidCarrierRequest,
    Location,
    Party,
    PermanentCarrierError,
    ReeferSettings,
    SailingKey,
)
from carriers.dcsa import wire as w
from carriers.dcsa.booking import Contract, booking_to_wire

KEY = SailingKey(
    carrier_scac="DCSA", voyage_number="511E", port_of_loading="CNSHA", port_of_discharge="USLAX"
)
AGENT = Party(
    name="Slotpool NVOCC Ltd",
    address="1 Quay Street",
    city="Rotterdam",
    country_code="NL",
    email="ops@slotpool.example",
)
EMERGENCY = w.BkEmergencyContact(contact="CHEMTREC", phone="+1 703 527 3887")
CONTRACT = Contract(service_contract_reference="SC-SLOTPOOL-2025")
KINDS = booking_kinds(KEY)


def body(req: BookingRequest, contract: Contract = CONTRACT, **options: Any) -> dict[str, Any]:
    payload = booking_to_wire(
        "DCSA",
        req,
        booking_agent=AGENT,
        emergency_contact=options.get("emergency", EMERGENCY),
        contract=contract,
    )
    decoded: dict[str, Any] = json.loads(w.ENCODER.encode(payload))
    return decoded


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_of_booking_meets_the_schema_and_the_stated_conditions(kind: str) -> None:
    dcsa_spec.require_specs()
    payload = body(KINDS[kind])

    assert dcsa_spec.errors(dcsa_spec.BKG, "CreateBooking", payload) == []
    assert dcsa_conditions.booking_condition_errors(payload) == []
    update = {**payload, "carrierBookingRequestReference": "cbrr-0001"}
    assert dcsa_spec.errors(dcsa_spec.BKG, "UpdateBooking", update) == []


def test_what_each_kind_carries() -> None:
    fcl, reefer, nor = body(KINDS["fcl"]), body(KINDS["reefer"]), body(KINDS["non_operating_reefer"])
    dg, door_in, door_out = (
        body(KINDS["dangerous_goods"]),
        body(KINDS["store_door_origin"]),
        body(KINDS["store_door_destination"]),
    )
    routed = body(KINDS["routing_reference"])

    assert fcl["serviceContractReference"] == "SC-SLOTPOOL-2025"
    assert (fcl["carrierExportVoyageNumber"], fcl["carrierServiceCode"]) == ("511E", "TP7")
    assert fcl["references"] == [{"type": "CR", "value": "SP-B-0001"}]
    commodity = fcl["requestedEquipments"][0]["commodities"][0]
    assert commodity["extendedHSCodes"] == ["940520"]
    assert "HSCodes" not in commodity
    assert commodity["cargoGrossWeight"] == {"value": 14200.5, "unit": "KGM"}

    equipment = reefer["requestedEquipments"][0]
    assert equipment["isNonOperatingReefer"] is False
    assert equipment["activeReeferSettings"] == {
        "temperatureSetpoint": -18,
        "temperatureUnit": "CEL",
        "humiditySetpoint": 85,
    }
    assert nor["requestedEquipments"][0]["isNonOperatingReefer"] is True
    assert "activeReeferSettings" not in nor["requestedEquipments"][0]

    packaging = dg["requestedEquipments"][0]["commodities"][0]["outerPackaging"]
    assert (packaging["imoPackagingCode"], packaging["numberOfPackages"]) == ("1A1", 80)
    (goods,) = packaging["dangerousGoods"]
    assert (goods["UNNumber"], goods["imoClass"], goods["properShippingName"]) == ("1263", "3", "PAINT")
    assert goods["grossWeight"] == {"value": 16400, "unit": "KGM"}
    assert goods["limits"] == {"temperatureUnit": "CEL", "flashPoint": 23}
    assert goods["emergencyContactDetails"] == {"contact": "CHEMTREC", "phone": "+1 703 527 3887"}

    locations = {loc["locationTypeCode"]: loc["location"] for loc in door_in["shipmentLocations"]}
    assert list(locations) == ["PRE", "POL", "POD"]
    assert locations["PRE"]["address"]["city"] == "Hefei"
    assert door_in["receiptTypeAtOrigin"] == "SD"
    assert door_in["requestedPreCarriageModeOfTransport"] == "TRUCK"
    positioning = door_in["requestedEquipments"][0]["containerPositionings"][0]
    assert positioning["location"]["address"]["street"] == "88 Huayuan Road"
    assert positioning["dateTime"].startswith("2025-03-10")
    assert [loc["locationTypeCode"] for loc in door_out["shipmentLocations"]] == ["POL", "POD", "PDE"]

    assert routed["routingReference"] == "ROUTE-CNSHA-USLAX-1"
    assert not {"carrierExportVoyageNumber", "carrierServiceCode", "vessel"} & routed.keys()
    assert [loc["locationTypeCode"] for loc in routed["shipmentLocations"]] == ["ROU", "PCF"]


def refused(req: BookingRequest, contract: Contract = CONTRACT, **options: Any) -> dict[str, str]:
    with pytest.raises(InvalidCarrierRequest) as caught:
        body(req, contract, **options)
    return {e.property or "": e.message for e in caught.value.errors}


FCL = booking_request(KEY)
SHIPPER_AT = "documentParties.shipper"
COMMODITY_AT = "requestedEquipments[0].commodities[0]"
DG_AT = f"{COMMODITY_AT}.outerPackaging.dangerousGoods[0]"
LONG_CONSIGNEE = "Bright Homes Furniture Import And Export LLC"
UNNAMED_DG = DangerousGoods(un_number="1263", imo_class="3")


def shipper(**changes: Any) -> BookingRequest:
    return replace(FCL, shipper=replace(SHIPPER, **changes))


def cargo(**changes: Any) -> BookingRequest:
    return replace(FCL, cargo=[replace(PAINT, **changes)])


@pytest.mark.parametrize(
    ("req", "field", "message"),
    [
        (shipper(name="N" * 71), f"{SHIPPER_AT}.partyName", "71 characters"),
        (shipper(name="Anhui Lamps "), f"{SHIPPER_AT}.partyName", "match"),
        (
            replace(FCL, consignee=replace(CONSIGNEE, name=LONG_CONSIGNEE)),
            "documentParties.consignee.partyContactDetails[0].name",
            "give contact_name",
        ),
        (shipper(city=None), f"{SHIPPER_AT}.address", "together"),
        (shipper(postal_code="230000-00000"), f"{SHIPPER_AT}.address.postCode", "at most 10"),
        (shipper(email="not-an-address"), f"{SHIPPER_AT}.partyContactDetails[0].email", "match"),
        (
            replace(FCL, reefer=ReeferSettings(temperature_setpoint=Decimal(5))),
            "requestedEquipments[0].activeReeferSettings",
            "not a reefer",
        ),
        (
            replace(FCL, non_operating_reefer=True),
            "requestedEquipments[0].isNonOperatingReefer",
            "not a reefer",
        ),
        (replace(FCL, size_type="45R1"), "requestedEquipments[0].activeReeferSettings", "set point"),
        (cargo(imo_packaging_code=None), f"{COMMODITY_AT}.outerPackaging", "packaging code"),
        (cargo(dangerous_goods=[UNNAMED_DG]), f"{DG_AT}.properShippingName", "proper shipping name"),
        (cargo(dangerous_goods=PAINT.dangerous_goods * 2), f"{DG_AT}.grossWeight", "own gross weight"),
        (replace(FCL, receipt_type_at_origin="SD"), "shipmentLocations[PRE]", "door's address"),
        (
            replace(
                FCL, delivery_type_at_destination="SD", place_of_delivery=Location(un_location_code="USLAX")
            ),
            "shipmentLocations[PDE]",
            "door's address",
        ),
        (replace(FCL, service_code=None), "carrierServiceCode", "service code or its vessel"),
        (
            replace(FCL, cargo=[replace(FCL.cargo[0], hs_codes=["94052"])]),
            f"{COMMODITY_AT}.extendedHSCodes[0]",
            "match",
        ),
        (replace(FCL, reference="SP-" + "B" * 40), "references[0].value", "at most 35"),
        (replace(FCL, pre_carriage_mode="HORSE"), "requestedPreCarriageModeOfTransport", "not one of"),
        (replace(FCL, cargo=[]), "requestedEquipments[0].commodities", "at least one cargo line"),
    ],
)
def test_a_request_that_breaks_a_rule_is_refused_with_the_field_named(
    req: BookingRequest, field: str, message: str
) -> None:
    errors = refused(req)
    assert field in errors, errors
    assert message in errors[field]


def test_the_commercial_reference_is_needed_once() -> None:
    assert "serviceContractReference" in refused(FCL, Contract())
    both = Contract(service_contract_reference="SC-1", contract_quotation_reference="Q-1")
    assert "serviceContractReference" in refused(FCL, both)
    quotation = body(FCL, Contract(contract_quotation_reference="Q-2025-0042"))
    assert quotation["contractQuotationReference"] == "Q-2025-0042"
    assert "serviceContractReference" not in quotation


def test_dangerous_goods_without_an_emergency_contact_are_refused() -> None:
    errors = refused(KINDS["dangerous_goods"], emergency=None)
    assert (
        "dg_emergency_contact"
        in errors["requestedEquipments[0].commodities[0].outerPackaging.dangerousGoods"]
    )


def test_every_problem_is_listed_at_once() -> None:
    req = replace(
        FCL,
        shipper=replace(SHIPPER, name="N" * 80),
        consignee=replace(CONSIGNEE, city=None),
        size_type="45R1",
    )
    assert sorted(refused(req)) == [
        "documentParties.consignee.address",
        "documentParties.shipper.partyContactDetails[0].name",
        "documentParties.shipper.partyName",
        "requestedEquipments[0].activeReeferSettings",
    ]


def test_the_condition_checker_catches_what_it_must() -> None:
    """The checker the fake carrier runs on every booking can fail: a deprecated field, an
    unlisted reference type, a routing reference beside a voyage, reefer settings on a dry box."""
    dcsa_spec.require_specs()
    payload = body(FCL)
    payload["references"] = [{"type": "FF", "value": "SP-B-0001"}]
    payload["routingReference"] = "R1"
    commodity = payload["requestedEquipments"][0]["commodities"][0]
    commodity["HSCodes"] = commodity.pop("extendedHSCodes")
    payload["requestedEquipments"][0]["activeReeferSettings"] = {
        "temperatureSetpoint": 5,
        "temperatureUnit": "CEL",
    }

    problems = dcsa_conditions.booking_condition_errors(payload)

    assert any("reference type FF" in p for p in problems)
    assert any("routingReference with" in p for p in problems)
    assert any("deprecated property $.requestedEquipments[0].commodities[0].HSCodes" in p for p in problems)
    assert any("activeReeferSettings on a non-reefer" in p for p in problems)


@pytest.mark.parametrize("kind", sorted(KINDS))
async def test_the_adapter_books_and_amends_every_kind_with_a_carrier_that_checks_it(
    fake_dcsa_state: FakeDcsaState, kind: str
) -> None:
    adapter = dcsa_adapter(fake_dcsa_state)
    sailing = (await adapter.schedules(LANE)).offers[0]
    req = replace(KINDS[kind], sailing=sailing.key)

    ack = await adapter.request_booking(req)
    await adapter.amend_booking(ack.carrier_reference, replace(req, units=1))

    assert fake_dcsa_state.violations == []
    assert set(fake_dcsa_state.api_versions) == {"1", "2"}  # the major version alone
    await adapter.aclose()


async def test_an_invalid_request_is_refused_before_any_call(fake_dcsa_state: FakeDcsaState) -> None:
    adapter = dcsa_adapter(fake_dcsa_state)
    with pytest.raises(InvalidCarrierRequest):
        await adapter.request_booking(replace(FCL, size_type="45R1"))
    assert fake_dcsa_state.calls == 0
    await adapter.aclose()


async def test_the_carriers_error_response_comes_back_in_the_error(fake_dcsa_state: FakeDcsaState) -> None:
    fake_dcsa_state.refuse_bookings = [
        {
            "property": "requestedEquipments[0].ISOEquipmentCode",
            "errorCodeText": "invalidData",
            "errorCodeMessage": "45R1 is not offered on this service",
        },
        {
            "jsonPath": "$.shipmentLocations[1]",
            "errorCodeText": "invalidData",
            "errorCodeMessage": "unknown POD",
        },
    ]
    adapter = dcsa_adapter(fake_dcsa_state)

    with pytest.raises(PermanentCarrierError) as caught:
        await adapter.request_booking(KINDS["reefer"])

    error = caught.value
    assert error.status == 400
    assert "Bad Request: The carrier answered 400" in error.message
    assert [(e.property, e.message) for e in error.errors] == [
        ("requestedEquipments[0].ISOEquipmentCode", "invalidData: 45R1 is not offered on this service"),
        ("$.shipmentLocations[1]", "invalidData: unknown POD"),
    ]
    await adapter.aclose()


def test_cargo_lines_carry_every_hs_code_given() -> None:
    line = CargoLine(description="Lamps and shades", hs_codes=["940520", "94059100"], packages=10,
                     gross_weight_kg=Decimal(100), volume_cbm=Decimal(1))  # fmt: skip
    payload = body(replace(FCL, cargo=[line]))
    assert payload["requestedEquipments"][0]["commodities"][0]["extendedHSCodes"] == ["940520", "94059100"]


def test_a_booking_request_round_trips_as_plain_data() -> None:
    """The dispatcher stores requests as JSON: every kind survives the trip."""
    for req in KINDS.values():
        assert msgspec.json.decode(msgspec.json.encode(req), type=BookingRequest) == req
