"""Rules of DCSA Booking 2.0.4 that its JSON schema cannot express, as written in the spec's
descriptions (**Condition:** ...), checked on a request body. Only the conditions the adapter
relies on, each with the property it comes from.

Also: no property the spec marks ``deprecated`` (``HSCodes``, ``transportDocumentReference``...),
found by walking the schema beside the payload.
"""

from __future__ import annotations

from typing import Any

import dcsa_spec as spec

SHIPPER_REFERENCE_TYPES = {"CR", "AKG", "AEF"}  # ReferenceShipper.type
ROUTED_AWAY = (
    "vessel", "carrierServiceName", "carrierServiceCode", "universalServiceReference",
    "carrierExportVoyageNumber", "universalExportVoyageReference", "expectedDepartureDate",
    "expectedArrivalAtPlaceOfDeliveryStartDate", "expectedArrivalAtPlaceOfDeliveryEndDate",
)  # fmt: skip
ROUTE_LOCATIONS = {"PRE", "POL", "POD", "PDE"}


def booking_condition_errors(payload: dict[str, Any]) -> list[str]:
    """Violations of the stated conditions of a CreateBooking / UpdateBooking body."""
    problems: list[str] = []
    contract = [k for k in ("serviceContractReference", "contractQuotationReference") if k in payload]
    if len(contract) != 1:
        problems.append(f"exactly one of serviceContractReference, contractQuotationReference: {contract}")
    locations = {loc["locationTypeCode"]: loc for loc in payload.get("shipmentLocations", [])}
    if "routingReference" in payload:
        present = [k for k in ROUTED_AWAY if k in payload]
        if present:
            problems.append(f"routingReference with {present}")
        if ROUTE_LOCATIONS & locations.keys():
            problems.append(
                f"routingReference with shipment locations {sorted(ROUTE_LOCATIONS & locations.keys())}"
            )
    elif "carrierExportVoyageNumber" in payload:
        if not ({"vessel", "carrierServiceCode", "carrierServiceName"} & payload.keys()):
            problems.append("carrierExportVoyageNumber without vessel, service code or service name")
    elif "expectedDepartureDate" not in payload:
        problems.append("no voyage, routing reference or expected departure date")
    for where, location in locations.items():
        loc = location["location"]
        if set(loc) <= {"addressLines", "locationName", "facilityName"}:
            problems.append(f"shipment location {where} not identified by UN/LOCODE, address or facility")
    door_origin = "PCF" if "routingReference" in payload else "PRE"
    door_destination = "OIR" if "routingReference" in payload else "PDE"
    if payload.get("receiptTypeAtOrigin") == "SD" and "address" not in locations.get(door_origin, {}).get(
        "location", {}
    ):
        problems.append(f"store door at origin without the door's address at {door_origin}")
    if payload.get("deliveryTypeAtDestination") == "SD" and "address" not in locations.get(
        door_destination, {}
    ).get("location", {}):
        problems.append(f"store door at destination without the door's address at {door_destination}")
    for reference in payload.get("references", []):
        if reference["type"] not in SHIPPER_REFERENCE_TYPES:
            problems.append(f"reference type {reference['type']} not one the spec lists")
    for n, equipment in enumerate(payload.get("requestedEquipments", [])):
        problems += _equipment_errors(f"requestedEquipments[{n}]", payload, equipment)
    problems += deprecated_properties(spec.BKG, "CreateBooking", payload)
    return problems


def _equipment_errors(path: str, payload: dict[str, Any], equipment: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    reefer = equipment["ISOEquipmentCode"][2:3] == "R"
    if equipment.get("isNonOperatingReefer") is not None and not reefer:
        problems.append(f"{path}: isNonOperatingReefer on a non-reefer")
    if "activeReeferSettings" in equipment and (not reefer or equipment.get("isNonOperatingReefer")):
        problems.append(f"{path}: activeReeferSettings on a non-reefer or a non-operating reefer")
    if "containerPositionings" in equipment and payload.get("receiptTypeAtOrigin") != "SD":
        problems.append(f"{path}: containerPositionings without store door at origin")
    commodities = equipment.get("commodities", [])
    if "cargoGrossWeight" not in equipment and any("cargoGrossWeight" not in c for c in commodities):
        problems.append(f"{path}: cargo gross weight on neither the equipment nor every commodity")
    for m, commodity in enumerate(commodities):
        packaging = commodity.get("outerPackaging", {})
        if packaging.get("dangerousGoods"):
            where = f"{path}.commodities[{m}].outerPackaging"
            if "numberOfPackages" not in packaging:
                problems.append(f"{where}: dangerous goods without numberOfPackages")
            if "imoPackagingCode" not in packaging and "packageCode" not in packaging:
                problems.append(f"{where}: dangerous goods without IMO packaging code or package code")
    return problems


def deprecated_properties(spec_name: str, schema: str, payload: Any) -> list[str]:
    """Properties of ``payload`` the spec marks deprecated, by path."""
    components = spec.load(spec_name)["components"]["schemas"]
    found: list[str] = []

    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            node = components[node["$ref"].rsplit("/", 1)[1]]
        return node

    def properties(node: dict[str, Any]) -> dict[str, Any]:
        node = resolve(node)
        merged = dict(node.get("properties", {}))
        for key in ("allOf", "oneOf", "anyOf"):
            for branch in node.get(key, []):
                merged.update(properties(branch))
        return merged

    def walk(node: dict[str, Any], value: Any, path: str) -> None:
        node = resolve(node)
        if isinstance(value, list) and "items" in node:
            for n, item in enumerate(value):
                walk(node["items"], item, f"{path}[{n}]")
        elif isinstance(value, dict):
            declared = properties(node)
            for name, item in value.items():
                if name not in declared:
                    continue
                if resolve(declared[name]).get("deprecated") or declared[name].get("deprecated"):
                    found.append(f"deprecated property {path}.{name}")
                walk(declared[name], item, f"{path}.{name}")

    walk({"$ref": f"#/components/schemas/{schema}"}, payload, "$")
    return found


def shipping_instructions_condition_errors(payload: dict[str, Any]) -> list[str]:
    """What eBL 3.0.3 CreateShippingInstructions' descriptions require beyond the schema, for
    consolidated shipping instructions with house bills."""
    problems: list[str] = []
    house_bills = payload.get("houseBillOfLadings") or []
    if payload.get("isHouseBillOfLadingsIssued") and not house_bills:
        problems.append("isHouseBillOfLadingsIssued without houseBillOfLadings")
    if house_bills and payload.get("isHouseBillOfLadingsIssued") is not True:
        problems.append("houseBillOfLadings given but isHouseBillOfLadingsIssued is not true")
    parties = payload.get("documentParties", {})
    if not payload.get("isToOrder") and "consignee" not in parties:
        problems.append("documentParties.consignee: mandatory for a straight B/L (isToOrder=false)")
    for role in ("shipper", "consignee"):
        party = parties.get(role)
        if party and not (party.get("address") or party.get("addressLines") or party.get("identifyingCodes")):
            problems.append(f"documentParties.{role}: an address, addressLines or identifyingCodes")
    equipment = {e.get("equipmentReference") for e in payload.get("utilizedTransportEquipments", [])}
    references = [hbl["houseBillOfLadingReference"] for hbl in house_bills]
    if len(set(references)) != len(references):
        problems.append(f"houseBillOfLadingReference repeated: {references}")
    for i, item in enumerate(payload.get("consignmentItems", [])):
        for j, cargo in enumerate(item.get("cargoItems", [])):
            where = f"consignmentItems[{i}].cargoItems[{j}]"
            if cargo.get("equipmentReference") not in equipment:
                problems.append(f"{where}.equipmentReference is not among utilizedTransportEquipments")
            hbl = cargo.get("houseBillOfLadingReference")
            if house_bills and hbl not in references:
                problems.append(f"{where}.houseBillOfLadingReference {hbl!r} names no house bill")
            if "outerPackaging" not in cargo:
                problems.append(f"{where}.outerPackaging: mandatory for non-dangerous goods cargo")
    for hbl in house_bills:
        where = f"houseBillOfLadings[{hbl['houseBillOfLadingReference']}]"
        parties = hbl.get("documentParties", {})
        if hbl.get("isToOrder") and "notifyParty" not in parties:
            problems.append(f"{where}.documentParties.notifyParty: mandatory for a to-order house bill")
        if not hbl.get("isToOrder") and "consignee" not in parties:
            problems.append(f"{where}.documentParties.consignee: mandatory for a straight house bill")
        countries = hbl.get("routingOfConsignmentCountries")
        if countries:
            acceptance = hbl.get("placeOfAcceptance", {})
            delivery = hbl.get("placeOfFinalDelivery", {})
            first = acceptance.get("countryCode") or acceptance.get("UNLocationCode", "")[:2]
            last = delivery.get("countryCode") or delivery.get("UNLocationCode", "")[:2]
            if countries[0] != first or countries[-1] != last:
                problems.append(f"{where}.routingOfConsignmentCountries must run from {first} to {last}")
        for place in ("placeOfAcceptance", "placeOfFinalDelivery"):
            given = hbl.get(place)
            if (
                given
                and not given.get("UNLocationCode")
                and not (given.get("locationName") and given.get("countryCode"))
            ):
                problems.append(f"{where}.{place}: a UN location code, or a name with a country code")
        for k, item in enumerate(hbl.get("consignmentItems", [])):
            for cargo in item.get("cargoItems", []):
                if cargo.get("equipmentReference") not in equipment:
                    problems.append(
                        f"{where}.consignmentItems[{k}] names equipment the instructions do not list"
                    )
    return problems
