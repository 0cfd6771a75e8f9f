"""Pure translations between DCSA payloads and the neutral carrier types. No I/O here.

Decoders raise `MalformedCarrierAnswer` on bad JSON or payloads that break the DCSA shape.
Encoders raise `PermanentCarrierError` when the neutral data cannot make a valid DCSA request
(e.g. a manifest container without a carrier booking reference or a seal).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import TypeVar

import msgspec

from carriers.base import (
    BookingRequest,
    BookingStatusReport,
    HouseBill,
    MalformedCarrierAnswer,
    Manifest,
    OfferedAllocation,
    Party,
    PermanentCarrierError,
    SailingOffer,
)
from carriers.codes import CUT_OFF_CODES
from carriers.dcsa import wire as w
from carriers.dcsa.states import neutral_status

T = TypeVar("T")

# Countries where ICS2 (EU import control) applies to cargo discharged there.
ICS2_COUNTRIES = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "HR",
        "CY",
        "CZ",
        "DK",
        "EE",
        "FI",
        "FR",
        "DE",
        "GR",
        "HU",
        "IE",
        "IT",
        "LV",
        "LT",
        "LU",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SK",
        "SI",
        "ES",
        "SE",
        "NO",
        "CH",
    ]
)


def decode(scac: str, content: bytes, kind: type[T]) -> T:
    """Decode a carrier's JSON answer into `kind`, or raise MalformedCarrierAnswer."""
    try:
        return msgspec.json.decode(content, type=kind)
    except msgspec.DecodeError as exc:
        raise MalformedCarrierAnswer(scac, f"{kind.__name__}: {exc}") from exc


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


# -- schedules --------------------------------------------------------------------------------


def route_to_offer(
    scac: str, route: w.CsPointToPoint, allocations: list[OfferedAllocation]
) -> SailingOffer | None:
    """A direct vessel route as a sailing; None for transhipment or non-vessel routes, which
    are not one sailing we can hold space on."""
    if len(route.legs) != 1:
        return None
    leg = route.legs[0]
    transport = leg.transport
    if transport is None or transport.mode_of_transport != "VESSEL":
        return None
    partners = transport.service_partners
    partner = next((p for p in partners if p.carrier_code == scac), partners[0] if partners else None)
    voyage = (partner.carrier_export_voyage_number if partner else None) or (
        transport.universal_export_voyage_reference
    )
    pol = leg.departure.location.un_location_code
    pod = leg.arrival.location.un_location_code
    if not voyage or not pol or not pod:
        raise MalformedCarrierAnswer(scac, "route without voyage number or UN/LOCODEs")
    cut_offs = {
        c.cut_off_date_time_code: _utc(c.cut_off_date_time)
        for c in [*route.cut_off_times, *leg.cut_off_times]
        if c.cut_off_date_time_code in CUT_OFF_CODES
    }
    vessel = transport.vessel
    return SailingOffer(
        carrier_scac=scac,
        service_code=(partner.carrier_service_code if partner else None) or "",
        vessel_name=(vessel.name if vessel else None) or "",
        vessel_imo=vessel.vessel_imo_number if vessel else None,
        voyage_number=voyage,
        port_of_loading=pol,
        port_of_discharge=pod,
        etd=_utc(leg.departure.date_time),
        eta=_utc(leg.arrival.date_time),
        cut_offs=cut_offs,
        allocations=allocations,
    )


def routes_to_offers(scac: str, content: bytes, allocations: list[OfferedAllocation]) -> list[SailingOffer]:
    """Sailings of a point-to-point answer, one per distinct sailing key."""
    routes = decode(scac, content, list[w.CsPointToPoint])
    offers: dict[object, SailingOffer] = {}
    for route in routes:
        offer = route_to_offer(scac, route, allocations)
        if offer is not None:
            offers.setdefault(offer.key, offer)
    return list(offers.values())


# -- bookings ---------------------------------------------------------------------------------


def _address(party: Party) -> w.BkAddress | None:
    if party.address and party.city and party.country_code:
        return w.BkAddress(
            street=party.address,
            city=party.city,
            country_code=party.country_code,
            post_code=party.postal_code,
        )
    return None


def _contacts(party: Party) -> list[w.BkContact] | None:
    if party.email or party.phone:
        return [w.BkContact(name=party.name[:35], email=party.email, phone=party.phone)]
    return None


def _bk_party(party: Party) -> w.BkParty:
    return w.BkParty(party_name=party.name, address=_address(party), party_contact_details=_contacts(party))


def _kg(value: Decimal) -> w.Quantity:
    return w.Quantity(value=value, unit="KGM")


def _cbm(value: Decimal) -> w.Quantity:
    return w.Quantity(value=value, unit="MTQ")


def booking_to_wire(
    scac: str,
    req: BookingRequest,
    *,
    booking_agent: Party,
    emergency_contact: w.BkEmergencyContact | None,
    carrier_booking_request_reference: str | None = None,
) -> w.BkCreateBooking:
    """CreateBooking (or UpdateBooking, with the carrier's request reference) for `req`.

    DCSA requires each dangerous-goods line's gross weight; we only know the commodity's,
    so each line carries that. Dangerous goods need an emergency contact from the settings.
    """
    dangerous = None
    if req.dangerous_goods:
        if emergency_contact is None:
            raise PermanentCarrierError(scac, "dangerous goods need dg_emergency_contact settings")
        dangerous = [
            w.BkDangerousGoods(
                un_number=dg.un_number,
                proper_shipping_name=dg.proper_shipping_name or req.cargo_description[:250],
                imo_class=dg.imo_class,
                packing_group=dg.packing_group,
                is_marine_pollutant=False,
                is_limited_quantity=False,
                is_excepted_quantity=False,
                is_salvage_packings=False,
                is_empty_uncleaned_residue=False,
                is_waste=False,
                is_hot=False,
                is_competent_authority_approval_required=False,
                is_reportable_quantity=False,
                emergency_contact_details=emergency_contact,
                gross_weight=_kg(req.gross_weight_kg),
            )
            for dg in req.dangerous_goods
        ]
    other = None
    if req.notify is not None:
        other = [w.BkOtherParty(party=_bk_party(req.notify), party_function="N1")]
    return w.BkCreateBooking(
        carrier_booking_request_reference=carrier_booking_request_reference,
        receipt_type_at_origin="CY",
        delivery_type_at_destination="CY",
        cargo_movement_type_at_origin="FCL",
        cargo_movement_type_at_destination="FCL",
        carrier_code=scac,
        carrier_code_list_provider="NMFTA",
        carrier_export_voyage_number=req.sailing.voyage_number,
        is_equipment_substitution_allowed=False,
        references=[w.BkReference(type="FF", value=req.reference)],
        document_parties=w.BkDocumentParties(
            booking_agent=_bk_party(booking_agent),
            shipper=_bk_party(req.shipper),
            consignee=_bk_party(req.consignee),
            other=other,
        ),
        shipment_locations=[
            w.BkShipmentLocation(
                location=w.CsLocation(un_location_code=req.sailing.port_of_loading),
                location_type_code="POL",
            ),
            w.BkShipmentLocation(
                location=w.CsLocation(un_location_code=req.sailing.port_of_discharge),
                location_type_code="POD",
            ),
        ],
        requested_equipments=[
            w.BkRequestedEquipment(
                iso_equipment_code=req.size_type,
                units=req.units,
                is_shipper_owned=False,
                commodities=[
                    w.BkCommodity(
                        commodity_type=req.cargo_description[:550],
                        hs_codes=[req.hs_code],
                        cargo_gross_weight=_kg(req.gross_weight_kg),
                        cargo_gross_volume=_cbm(req.volume_cbm),
                        outer_packaging=(
                            w.BkOuterPackaging(dangerous_goods=dangerous) if dangerous else None
                        ),
                    )
                ],
            )
        ],
    )


def booking_state_to_report(
    scac: str, state: w.BkBookingState, fallback_reference: str | None = None
) -> BookingStatusReport:
    """The neutral report of a DCSA booking's statuses."""
    reference = state.carrier_booking_request_reference or fallback_reference
    if reference is None:
        reference = state.carrier_booking_reference
    if reference is None:
        raise MalformedCarrierAnswer(scac, "booking without any reference")
    try:
        status = neutral_status(
            state.booking_status, state.amended_booking_status, state.booking_cancellation_status
        )
    except ValueError as exc:
        raise MalformedCarrierAnswer(scac, str(exc)) from exc
    reasons = [state.reason] if state.reason else []
    reasons += [f"{f.code}: {f.message}" for f in state.feedbacks if f.severity != "INFO"]
    return BookingStatusReport(
        carrier_reference=reference,
        status=status,
        carrier_booking_number=state.carrier_booking_reference,
        reason="; ".join(reasons) or None,
    )


def parse_booking_notification(scac: str, content: bytes) -> tuple[str, BookingStatusReport]:
    """(CloudEvent id, report) of a DCSA booking notification. The id is the carrier's
    event id, so the same event delivered twice yields the same id and can be deduplicated."""
    event = decode(scac, content, w.BkNotification)
    if event.type not in ("org.dcsa.booking.v2", "org.dcsa.booking-notification.v2"):
        raise MalformedCarrierAnswer(scac, f"not a booking notification: {event.type}")
    return event.id, booking_state_to_report(scac, event.data)


# -- consolidated manifest as eBL 3.0 shipping instructions -----------------------------------


def _si_party(party: Party) -> w.SiParty:
    return w.SiParty(
        party_name=party.name,
        type_of_person="LEGAL_PERSON",
        address=_address(party),
        party_contact_details=_contacts(party),
    )


def _hbl(manifest: Manifest, container_ref: str, size_type: str, seal: str, bill: HouseBill,
         method_of_payment: str) -> w.HouseBillOfLading:  # fmt: skip
    pol, pod = manifest.sailing.port_of_loading, manifest.sailing.port_of_discharge
    return w.HouseBillOfLading(
        house_bill_of_lading_reference=bill.booking_reference,
        is_to_order=False,
        place_of_acceptance=w.HblPlace(un_location_code=pol),
        place_of_final_delivery=w.HblPlace(un_location_code=pod),
        method_of_payment=method_of_payment,
        document_parties=w.SiDocumentParties(
            shipper=_si_party(bill.shipper), consignee=_si_party(bill.consignee)
        ),
        is_cargo_delivered_in_ics2_zone=pod[:2] in ICS2_COUNTRIES,
        routing_of_consignment_countries=list(dict.fromkeys([pol[:2], pod[:2]])),
        consignment_items=[
            w.HblConsignmentItem(
                description_of_goods=bill.cargo_description[:512],
                # We hold the 6-digit HS code, not a national tariff code.
                national_commodity_code=w.HblNationalCommodityCode(type="HS", values=[bill.hs_code]),
                cargo_items=[
                    w.HblCargoItem(
                        equipment_reference=container_ref,
                        cargo_gross_weight=_kg(bill.gross_weight_kg),
                        cargo_gross_volume=_cbm(bill.volume_cbm),
                        outer_packaging=w.HblOuterPackaging(
                            package_code="PK",
                            number_of_packages=bill.packages,
                            un_number=(bill.dangerous_goods[0].un_number if bill.dangerous_goods else None),
                        ),
                    )
                ],
            )
        ],
        utilized_transport_equipments=[
            w.HblEquipment(
                equipment_reference=container_ref,
                iso_equipment_code=size_type,
                is_shipper_owned=False,
                empty_indicator_code="LADEN",
                seals=[w.SiSeal(number=seal)],
            )
        ],
    )


def manifest_to_wire(
    scac: str,
    manifest: Manifest,
    *,
    nvocc: Party,
    contact: w.BkContact,
    method_of_payment: str = "Y",
) -> w.SiCreateShippingInstructions:
    """Shipping instructions for the consolidated manifest: the platform (NVOCC) is the
    shipper of the master bill; each house bill carries the real shipper and consignee."""
    items: list[w.SiConsignmentItem] = []
    equipments: list[w.SiEquipment] = []
    house_bills: list[w.HouseBillOfLading] = []
    for container in manifest.containers:
        if not container.carrier_booking_reference or not container.seal_number:
            raise PermanentCarrierError(
                scac, f"{container.container_ref}: carrier booking reference and seal required"
            )
        equipments.append(
            w.SiEquipment(
                equipment_reference=container.container_ref,
                is_shipper_owned=False,
                seals=[w.SiSeal(number=container.seal_number)],
            )
        )
        for bill in container.house_bills:
            if len(bill.booking_reference) > 20:
                raise PermanentCarrierError(scac, f"house bill {bill.booking_reference} > 20 chars")
            items.append(
                w.SiConsignmentItem(
                    carrier_booking_reference=container.carrier_booking_reference,
                    description_of_goods=[bill.cargo_description],
                    hs_codes=[bill.hs_code],
                    cargo_items=[
                        w.SiCargoItem(
                            equipment_reference=container.container_ref,
                            cargo_gross_weight=_kg(bill.gross_weight_kg),
                            cargo_gross_volume=_cbm(bill.volume_cbm),
                            outer_packaging=w.SiOuterPackaging(
                                number_of_packages=bill.packages, description="packages"
                            ),
                            house_bill_of_lading_reference=bill.booking_reference,
                        )
                    ],
                )
            )
            house_bills.append(
                _hbl(
                    manifest,
                    container.container_ref,
                    container.size_type,
                    container.seal_number,
                    bill,
                    method_of_payment,
                )
            )
    return w.SiCreateShippingInstructions(
        transport_document_type_code="BOL",
        is_shipped_on_board_type=True,
        freight_payment_term_code="PRE",
        is_electronic=True,
        is_to_order=False,
        carrier_code=scac,
        carrier_code_list_provider="NMFTA",
        party_contact_details=[contact],
        document_parties=w.SiDocumentParties(shipper=_si_party(nvocc)),
        is_cargo_delivered_in_ics2_zone=manifest.sailing.port_of_discharge[:2] in ICS2_COUNTRIES,
        consignment_items=items,
        utilized_transport_equipments=equipments,
        is_house_bill_of_ladings_issued=True,
        house_bill_of_ladings=house_bills,
    )
