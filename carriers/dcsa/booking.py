"""A neutral `BookingRequest` as a DCSA Booking 2.0.4 CreateBooking / UpdateBooking. Pure.

Beyond the schema, the spec's stated conditions are met here (and checked by the contract
tests): exactly one of service contract and quotation reference; a routing reference replaces
voyage, service and vessel and the PRE/POL/POD/PDE locations (`ROU` stands in); a voyage comes
with its service code or vessel; store-door service names the door (PRE or PDE; PCF or OIR
beside a routing reference) and positions the container at it; reefer settings only on
operating reefers; dangerous goods in an outer packaging with its count and IMDG packaging (or
package) code, each with its own gross weight; `extendedHSCodes`, never the deprecated
`HSCodes`; references of a listed type (`CR`). Anything that breaks a rule raises
`InvalidCarrierRequest` listing every field; nothing is truncated.
"""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

import msgspec

from carriers.base import BookingRequest, CargoLine, DangerousGoods, Location, Party
from carriers.dcsa import fields as f
from carriers.dcsa import wire as w
from carriers.dcsa.fields import FieldCheck

CARRIAGE_MODES = frozenset(
    {"VESSEL", "RAIL", "TRUCK", "BARGE", "RAIL_TRUCK", "BARGE_TRUCK", "BARGE_RAIL", "MULTIMODAL"}
)


class Contract(msgspec.Struct, kw_only=True, frozen=True):
    """The carrier account's commercial reference: exactly one of the two is sent."""

    service_contract_reference: str | None = None
    contract_quotation_reference: str | None = None


def is_reefer(size_type: str) -> bool:
    """ISO 6346 type codes R* are refrigerated (22R1, 45R1...)."""
    return len(size_type) == 4 and size_type[2] == "R"


def kg(value: Decimal) -> w.Quantity:
    return w.Quantity(value=value, unit="KGM")


def cbm(value: Decimal) -> w.Quantity:
    return w.Quantity(value=value, unit="MTQ")


def booking_to_wire(
    scac: str,
    req: BookingRequest,
    *,
    booking_agent: Party,
    emergency_contact: w.BkEmergencyContact | None,
    contract: Contract,
    carrier_booking_request_reference: str | None = None,
) -> w.BkCreateBooking:
    """CreateBooking (or UpdateBooking, with the carrier's request reference) for `req`, or
    `InvalidCarrierRequest` naming every field that breaks a DCSA rule."""
    check = FieldCheck()
    service_contract, quotation = _contract(check, contract)
    named = _sailing(check, req)
    booking = w.BkCreateBooking(
        carrier_booking_request_reference=carrier_booking_request_reference,
        receipt_type_at_origin=req.receipt_type_at_origin,
        delivery_type_at_destination=req.delivery_type_at_destination,
        cargo_movement_type_at_origin=req.cargo_movement,
        cargo_movement_type_at_destination=req.cargo_movement,
        service_contract_reference=service_contract,
        contract_quotation_reference=quotation,
        vessel=named.vessel,
        carrier_service_code=named.service_code,
        carrier_export_voyage_number=named.voyage,
        routing_reference=named.routing_reference,
        carrier_code=scac,
        carrier_code_list_provider="NMFTA",
        is_equipment_substitution_allowed=False,
        references=[
            w.BkReference(
                type="CR", value=check.text("references[0].value", req.reference, f.REFERENCE_VALUE)
            )
        ],
        document_parties=w.BkDocumentParties(
            booking_agent=f.party(check, "documentParties.bookingAgent", booking_agent),
            shipper=f.party(check, "documentParties.shipper", req.shipper),
            consignee=f.party(check, "documentParties.consignee", req.consignee),
            other=(
                [
                    w.BkOtherParty(
                        party=f.party(check, "documentParties.other[0].party", req.notify),
                        party_function="N1",
                    )
                ]
                if req.notify is not None
                else None
            ),
        ),
        shipment_locations=_shipment_locations(check, req),
        requested_pre_carriage_mode_of_transport=_mode(
            check, "requestedPreCarriageModeOfTransport", req.pre_carriage_mode
        ),
        requested_on_carriage_mode_of_transport=_mode(
            check, "requestedOnCarriageModeOfTransport", req.on_carriage_mode
        ),
        requested_equipments=[_equipment(check, req, emergency_contact)],
    )
    check.raise_if_any(scac, f"booking {req.reference}")
    return booking


def _contract(check: FieldCheck, contract: Contract) -> tuple[str | None, str | None]:
    service, quotation = contract.service_contract_reference, contract.contract_quotation_reference
    if (service is None) == (quotation is None):
        check.fail(
            "serviceContractReference",
            "the carrier account needs exactly one of service_contract_reference and "
            "contract_quotation_reference",
        )
    return (
        check.optional("serviceContractReference", service, f.SERVICE_CONTRACT_REFERENCE),
        check.optional("contractQuotationReference", quotation, f.CONTRACT_QUOTATION_REFERENCE),
    )


class NamedSailing(NamedTuple):
    voyage: str | None = None
    service_code: str | None = None
    vessel: w.BkVessel | None = None
    routing_reference: str | None = None


def _sailing(check: FieldCheck, req: BookingRequest) -> NamedSailing:
    """The routing reference alone, or the voyage with its service code and/or vessel."""
    if req.routing_reference is not None:
        return NamedSailing(
            routing_reference=check.text("routingReference", req.routing_reference, f.ROUTING_REFERENCE)
        )
    vessel = None
    if req.vessel_name is not None:
        vessel = w.BkVessel(
            name=check.text("vessel.name", req.vessel_name, f.VESSEL_NAME),
            vessel_imo_number=check.optional("vessel.vesselIMONumber", req.vessel_imo, f.VESSEL_IMO),
        )
    if req.service_code is None and vessel is None:
        check.fail(
            "carrierServiceCode", "a voyage needs its service code or its vessel (or a routing reference)"
        )
    return NamedSailing(
        voyage=check.text("carrierExportVoyageNumber", req.sailing.voyage_number, f.VOYAGE_NUMBER),
        service_code=check.optional("carrierServiceCode", req.service_code, f.SERVICE_CODE),
        vessel=vessel,
    )


def _location(check: FieldCheck, path: str, place: Location) -> w.BkLocation:
    address = None
    if place.address is not None:
        given = place.address
        address = w.BkAddress(
            street=check.text(f"{path}.address.street", given.street, f.STREET),
            street_number=check.optional(
                f"{path}.address.streetNumber", given.street_number, f.STREET_NUMBER
            ),
            post_code=check.optional(f"{path}.address.postCode", given.postal_code, f.POST_CODE),
            city=check.text(f"{path}.address.city", given.city, f.CITY),
            country_code=check.text(f"{path}.address.countryCode", given.country_code, f.COUNTRY_CODE),
        )
    if address is None and place.un_location_code is None:
        check.fail(path, "a location needs a UN/LOCODE or an address")
    return w.BkLocation(
        location_name=check.optional(f"{path}.locationName", place.name, f.LOCATION_NAME),
        address=address,
        un_location_code=check.optional(f"{path}.UNLocationCode", place.un_location_code, f.UN_LOCATION_CODE),
    )


def _door(check: FieldCheck, path: str, place: Location | None, end: str) -> Location | None:
    if place is None or place.address is None:
        check.fail(path, f"store-door service at {end} needs the door's address")
        return None
    return place


def _shipment_locations(check: FieldCheck, req: BookingRequest) -> list[w.BkShipmentLocation]:
    def at(code: str, place: Location) -> w.BkShipmentLocation:
        path = f"shipmentLocations[{code}].location"
        return w.BkShipmentLocation(location=_location(check, path, place), location_type_code=code)

    sailing = req.sailing
    routed = req.routing_reference is not None
    receipt, delivery = req.place_of_receipt, req.place_of_delivery
    if req.receipt_type_at_origin == "SD":
        receipt = _door(check, "shipmentLocations[PRE]", receipt, "origin")
    if req.delivery_type_at_destination == "SD":
        delivery = _door(check, "shipmentLocations[PDE]", delivery, "destination")
    if routed:
        # The route names receipt, loading, discharge and delivery; doors go as pre-carriage
        # from (PCF) and onward inland routing (OIR).
        located = [at("ROU", Location(un_location_code=sailing.port_of_loading))]
        located += [at("PCF", receipt)] if receipt is not None else []
        located += [at("OIR", delivery)] if delivery is not None else []
        return located
    located = [at("PRE", receipt)] if receipt is not None else []
    located += [
        at("POL", Location(un_location_code=sailing.port_of_loading)),
        at("POD", Location(un_location_code=sailing.port_of_discharge)),
    ]
    located += [at("PDE", delivery)] if delivery is not None else []
    return located


def _mode(check: FieldCheck, path: str, mode: str | None) -> str | None:
    if mode is not None and mode not in CARRIAGE_MODES:
        check.fail(path, f"{mode!r} is not one of {', '.join(sorted(CARRIAGE_MODES))}")
    return mode


def _equipment(
    check: FieldCheck, req: BookingRequest, emergency: w.BkEmergencyContact | None
) -> w.BkRequestedEquipment:
    path = "requestedEquipments[0]"
    reefer = is_reefer(req.size_type)
    settings = None
    if req.reefer is not None and req.non_operating_reefer:
        check.fail(f"{path}.activeReeferSettings", "a non-operating reefer has no reefer settings")
    elif req.reefer is not None and not reefer:
        check.fail(f"{path}.activeReeferSettings", f"{req.size_type} is not a reefer size-type")
    elif req.non_operating_reefer and not reefer:
        check.fail(f"{path}.isNonOperatingReefer", f"{req.size_type} is not a reefer size-type")
    elif reefer and req.reefer is None and not req.non_operating_reefer:
        check.fail(f"{path}.activeReeferSettings", "a reefer needs its set point, or non_operating_reefer")
    elif req.reefer is not None:
        settings = w.BkActiveReeferSettings(
            temperature_setpoint=req.reefer.temperature_setpoint,
            temperature_unit=req.reefer.temperature_unit,
            humidity_setpoint=req.reefer.humidity_setpoint,
            is_pre_cooling_required=req.reefer.is_pre_cooling_required or None,
        )
    positionings = None
    if req.receipt_type_at_origin == "SD" and req.place_of_receipt is not None:
        door = _location(check, f"{path}.containerPositionings[0].location", req.place_of_receipt)
        positionings = [w.BkContainerPositioning(date_time=req.container_positioning_at, location=door)]
    elif req.container_positioning_at is not None:
        check.fail(
            f"{path}.containerPositionings", "container positioning is for store-door service at origin"
        )
    if not req.cargo:
        check.fail(f"{path}.commodities", "a booking needs at least one cargo line")
    return w.BkRequestedEquipment(
        iso_equipment_code=req.size_type,
        units=req.units,
        container_positionings=positionings,
        is_shipper_owned=False,
        is_non_operating_reefer=True if req.non_operating_reefer else (False if reefer else None),
        active_reefer_settings=settings,
        commodities=[
            _commodity(check, f"{path}.commodities[{n}]", line, emergency) for n, line in enumerate(req.cargo)
        ],
    )


def _commodity(
    check: FieldCheck, path: str, line: CargoLine, emergency: w.BkEmergencyContact | None
) -> w.BkCommodity:
    if not line.hs_codes:
        check.fail(f"{path}.extendedHSCodes", "at least one HS code")
    packaging = None
    if line.dangerous_goods:
        if line.imo_packaging_code is None and line.package_code is None:
            check.fail(
                f"{path}.outerPackaging", "dangerous goods need their IMDG packaging code or a package code"
            )
        if emergency is None:
            check.fail(
                f"{path}.outerPackaging.dangerousGoods", "the carrier account has no dg_emergency_contact"
            )
    if line.dangerous_goods or line.package_code or line.imo_packaging_code:
        packaging = w.BkOuterPackaging(
            package_code=check.optional(
                f"{path}.outerPackaging.packageCode", line.package_code, f.PACKAGE_CODE
            ),
            imo_packaging_code=check.optional(
                f"{path}.outerPackaging.imoPackagingCode", line.imo_packaging_code, f.IMO_PACKAGING_CODE
            ),
            number_of_packages=line.packages,
            description=check.optional(
                f"{path}.outerPackaging.description", line.packaging_description, f.PACKAGING_DESCRIPTION
            ),
            dangerous_goods=[
                _dangerous(check, f"{path}.outerPackaging.dangerousGoods[{n}]", line, dg, emergency)
                for n, dg in enumerate(line.dangerous_goods)
            ]
            or None,
        )
    if not 1 <= line.packages <= 99_999_999:
        check.fail(f"{path}.outerPackaging.numberOfPackages", f"{line.packages} is not 1 to 99,999,999")
    return w.BkCommodity(
        commodity_type=check.text(f"{path}.commodityType", line.description, f.COMMODITY_TYPE),
        extended_hs_codes=[
            check.text(f"{path}.extendedHSCodes[{n}]", code, f.HS_CODE)
            for n, code in enumerate(line.hs_codes)
        ],
        cargo_gross_weight=kg(line.gross_weight_kg),
        cargo_gross_volume=cbm(line.volume_cbm),
        outer_packaging=packaging,
    )


def _dangerous(
    check: FieldCheck, path: str, line: CargoLine, dg: DangerousGoods, emergency: w.BkEmergencyContact | None
) -> w.BkDangerousGoods:
    weight = dg.gross_weight_kg
    if weight is None and len(line.dangerous_goods) == 1:
        weight = line.gross_weight_kg  # the only entry of its line weighs what the line weighs
    if weight is None:
        check.fail(
            f"{path}.grossWeight", "each of several dangerous goods on a line needs its own gross weight"
        )
    if dg.proper_shipping_name is None:
        check.fail(f"{path}.properShippingName", "dangerous goods need their proper shipping name")
    if dg.packing_group is not None and not 1 <= dg.packing_group <= 3:
        check.fail(f"{path}.packingGroup", f"{dg.packing_group} is not 1, 2 or 3")
    return w.BkDangerousGoods(
        un_number=check.text(f"{path}.UNNumber", dg.un_number, f.UN_NUMBER),
        proper_shipping_name=check.text(
            f"{path}.properShippingName", dg.proper_shipping_name or "-", f.PROPER_SHIPPING_NAME
        ),
        technical_name=check.optional(f"{path}.technicalName", dg.technical_name, f.TECHNICAL_NAME),
        imo_class=check.text(f"{path}.imoClass", dg.imo_class, f.IMO_CLASS),
        packing_group=dg.packing_group,
        ems_number=check.optional(f"{path}.EMSNumber", dg.ems_number, f.EMS_NUMBER),
        is_marine_pollutant=dg.is_marine_pollutant,
        is_limited_quantity=dg.is_limited_quantity,
        is_excepted_quantity=False,
        is_salvage_packings=False,
        is_empty_uncleaned_residue=False,
        is_waste=False,
        is_hot=False,
        is_competent_authority_approval_required=False,
        is_reportable_quantity=False,
        emergency_contact_details=emergency or w.BkEmergencyContact(contact="-", phone="-"),
        gross_weight=kg(weight or line.gross_weight_kg),
        limits=(
            w.BkLimits(temperature_unit="CEL", flash_point=dg.flash_point_celsius)
            if dg.flash_point_celsius is not None
            else None
        ),
    )
