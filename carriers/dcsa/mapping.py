"""Pure translations between DCSA payloads and the neutral carrier types. No I/O here.

Decoders raise `MalformedCarrierAnswer` on bad JSON or payloads that break the DCSA shape; a
schedule answer skips (and names) the routes it cannot read rather than losing the others.
Encoders raise `InvalidCarrierRequest` (a `PermanentCarrierError`) when the neutral data cannot
make a valid DCSA request; booking requests are built in `carriers.dcsa.booking`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, TypeVar

import msgspec

from carriers.base import (
    BookingStatusReport,
    ErrorDetail,
    HouseBill,
    MalformedCarrierAnswer,
    Manifest,
    Party,
    PermanentCarrierError,
    SailingKey,
    SailingOffer,
)
from carriers.codes import CUT_OFF_CODES
from carriers.dcsa import fields
from carriers.dcsa import wire as w
from carriers.dcsa.booking import cbm, kg
from carriers.dcsa.fields import FieldCheck
from carriers.dcsa.states import neutral_status

T = TypeVar("T")

# Countries where ICS2 (EU import control) applies to cargo discharged there.
ICS2_COUNTRIES = frozenset(
    {"AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT",
     "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "NO", "CH"}
)  # fmt: skip
# eBL 3.0.3 equipmentReference: an ISO 6346 container number.
EQUIPMENT_REFERENCE_LENGTH = 11
NOTIFICATION_TYPES = ("org.dcsa.booking.v2", "org.dcsa.booking-notification.v2")


def decode(scac: str, content: bytes | msgspec.Raw, kind: type[T]) -> T:
    """Decode a carrier's JSON answer into `kind`, or raise MalformedCarrierAnswer."""
    try:
        return msgspec.json.decode(content, type=kind)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise MalformedCarrierAnswer(scac, f"{kind.__name__}: {exc}") from exc


def _utc(scac: str, value: datetime) -> datetime:
    """UTC of a carrier's datetime; one without an offset is an error, never local time."""
    if value.tzinfo is None:
        raise MalformedCarrierAnswer(scac, f"datetime {value.isoformat()} without a UTC offset")
    return value.astimezone(UTC)


# -- schedules --------------------------------------------------------------------------------


def route_to_offer(scac: str, route: w.CsPointToPoint) -> SailingOffer | None:
    """A direct vessel route as a sailing; None for transhipment or non-vessel routes, which
    are not one sailing we can hold space on. A route we cannot read raises
    MalformedCarrierAnswer (the caller skips that route alone). The vessel, or some of its
    fields, may be missing: the sailing stands without them."""
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
        c.cut_off_date_time_code: _utc(scac, c.cut_off_date_time)
        for c in [*route.cut_off_times, *leg.cut_off_times]
        if c.cut_off_date_time_code in CUT_OFF_CODES
    }
    vessel = transport.vessel
    imo = vessel.vessel_imo_number if vessel else None
    return SailingOffer(
        carrier_scac=scac,
        service_code=partner.carrier_service_code if partner else None,
        vessel_name=vessel.name if vessel else None,
        # DCSA allows 8 digits; an IMO number proper has 7 (with its check digit).
        vessel_imo=imo if imo is not None and len(imo) == 7 else None,
        voyage_number=voyage,
        port_of_loading=pol,
        port_of_discharge=pod,
        etd=_utc(scac, leg.departure.date_time),
        eta=_utc(scac, leg.arrival.date_time),
        cut_offs=cut_offs,
    )


class RoutePage(msgspec.Struct, kw_only=True):
    """The sailings of one page of point-to-point routes and the routes skipped on it."""

    offers: list[SailingOffer]
    skipped: list[str]


def routes_to_offers(scac: str, content: bytes) -> RoutePage:
    """Sailings of a point-to-point answer, one per distinct sailing key. A route that breaks
    the schema is skipped and named in ``skipped``; only an answer that is not a JSON array
    at all raises MalformedCarrierAnswer."""
    raws = decode(scac, content, list[msgspec.Raw])
    offers: dict[SailingKey, SailingOffer] = {}
    skipped: list[str] = []
    for number, raw in enumerate(raws, start=1):
        try:
            offer = route_to_offer(scac, decode(scac, raw, w.CsPointToPoint))
        except MalformedCarrierAnswer as error:
            skipped.append(f"route {number}: {error.message}")
            continue
        if offer is not None:
            offers.setdefault(offer.key, offer)
    return RoutePage(offers=list(offers.values()), skipped=skipped)


# -- booking statuses and notifications ------------------------------------------------------


def booking_state_to_report(
    scac: str,
    state: w.BkBookingState,
    fallback_reference: str | None = None,
    reported_at: datetime | None = None,
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
        reported_at=reported_at,
    )


def cloud_event_errors(event: Any) -> list[ErrorDetail]:
    """What makes ``event`` (parsed JSON) not a CloudEvent 1.0 carrying a DCSA booking
    notification: one entry per attribute at fault."""
    if not isinstance(event, dict):
        return [ErrorDetail(message="a CloudEvent is a JSON object")]
    errors: list[ErrorDetail] = []

    def fail(attribute: str, message: str) -> None:
        errors.append(ErrorDetail(property=attribute, message=message))

    required = ("specversion", "id", "source", "type", "time", "datacontenttype", "subscriptionReference")
    for attribute in (*required, "data"):
        if event.get(attribute) in (None, ""):
            fail(attribute, "required")
    if "specversion" in event and event["specversion"] != "1.0":
        fail("specversion", f"{event['specversion']!r}: only CloudEvents 1.0 is understood")
    for attribute, limit in (("id", 100), ("source", 4096), ("subscriptionReference", 100)):
        value = event.get(attribute)
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            fail(attribute, f"a string of at most {limit} characters")
    if event.get("type") not in (None, *NOTIFICATION_TYPES):
        fail("type", f"{event['type']!r} is not one of {', '.join(NOTIFICATION_TYPES)}")
    if event.get("datacontenttype") not in (None, "application/json"):
        fail("datacontenttype", f"{event['datacontenttype']!r}: only application/json is understood")
    if event.get("time") is not None and not _is_offset_datetime(event["time"]):
        fail("time", "an RFC 3339 date-time with an offset")
    if event.get("data") is not None and not isinstance(event["data"], dict):
        fail("data", "a JSON object")
    return errors


def _is_offset_datetime(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        return False


def parse_booking_notification(scac: str, content: bytes) -> tuple[str, BookingStatusReport]:
    """(CloudEvent id, report) of a DCSA booking notification. The id is the carrier's
    event id, so the same event delivered twice yields the same id and can be deduplicated.
    The report's ``reported_at`` orders notifications: the data's ``updatedDateTime`` where a
    carrier sends one, else the event's ``time``. Every violation of the envelope is listed in
    the MalformedCarrierAnswer's ``errors``."""
    raw: Any = decode(scac, content, object)
    errors = cloud_event_errors(raw)
    if errors:
        listed = "; ".join(f"{e.property}: {e.message}" if e.property else e.message for e in errors)
        raise MalformedCarrierAnswer(scac, f"not a DCSA booking notification: {listed}", errors=errors)
    event = decode(scac, content, w.BkNotification)
    moment = event.data.updated_date_time or event.time
    return event.id, booking_state_to_report(scac, event.data, reported_at=_utc(scac, moment))


# -- consolidated manifest as eBL 3.0 shipping instructions -----------------------------------


def _si_party(check: FieldCheck, path: str, party: Party) -> w.SiParty:
    # A house bill's party may be known by name and country alone: it goes without an address.
    given = fields.party(check, path, party, partial="omit")
    return w.SiParty(
        party_name=given.party_name,
        type_of_person="LEGAL_PERSON",
        address=given.address,
        party_contact_details=given.party_contact_details,
    )


def _notify_party(check: FieldCheck, path: str, notify: Party | None) -> w.SiParty | None:
    # eBL 3.0.3 NotifyPartyHBL requires contact details; the notify party is optional on a
    # straight (not to order) house bill, so one we cannot reach is left off, never invented.
    if notify is None or not (notify.email or notify.phone):
        return None
    return _si_party(check, path, notify)


def _hbl(check: FieldCheck, manifest: Manifest, container_ref: str, size_type: str, seal: str,
         bill: HouseBill, method_of_payment: str) -> w.HouseBillOfLading:  # fmt: skip
    path = f"houseBillOfLadings[{bill.bill_reference}].documentParties"
    pol, pod = manifest.sailing.port_of_loading, manifest.sailing.port_of_discharge
    return w.HouseBillOfLading(
        house_bill_of_lading_reference=bill.bill_reference,
        is_to_order=False,
        place_of_acceptance=w.HblPlace(un_location_code=pol),
        place_of_final_delivery=w.HblPlace(un_location_code=pod),
        method_of_payment=method_of_payment,
        document_parties=w.SiDocumentParties(
            shipper=_si_party(check, f"{path}.shipper", bill.shipper),
            consignee=_si_party(check, f"{path}.consignee", bill.consignee),
            notify_party=_notify_party(check, f"{path}.notifyParty", bill.notify),
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
                        cargo_gross_weight=kg(bill.gross_weight_kg),
                        cargo_gross_volume=cbm(bill.volume_cbm),
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
    check = FieldCheck()
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
        if len(container.container_ref) > EQUIPMENT_REFERENCE_LENGTH:
            check.fail(
                f"utilizedTransportEquipments[{container.container_ref}].equipmentReference",
                f"at most {EQUIPMENT_REFERENCE_LENGTH} characters (an ISO 6346 container number)",
            )
        for bill in container.house_bills:
            if len(bill.bill_reference) > 20:
                raise PermanentCarrierError(scac, f"house bill {bill.bill_reference} > 20 chars")
            items.append(
                w.SiConsignmentItem(
                    carrier_booking_reference=container.carrier_booking_reference,
                    description_of_goods=[bill.cargo_description],
                    hs_codes=[bill.hs_code],
                    cargo_items=[
                        w.SiCargoItem(
                            equipment_reference=container.container_ref,
                            cargo_gross_weight=kg(bill.gross_weight_kg),
                            cargo_gross_volume=cbm(bill.volume_cbm),
                            outer_packaging=w.SiOuterPackaging(
                                number_of_packages=bill.packages, description="packages"
                            ),
                            house_bill_of_lading_reference=bill.bill_reference,
                        )
                    ],
                )
            )
            house_bills.append(
                _hbl(
                    check,
                    manifest,
                    container.container_ref,
                    container.size_type,
                    container.seal_number,
                    bill,
                    method_of_payment,
                )
            )
    # The master bill is straight (not to order), so it names a consignee: the platform, whose
    # house bills consign the cargo onwards. Both need an address (eBL 3.0.3 ShipperShipper and
    # ConsigneeShipper: an address or an identifying code).
    shipper = _si_party(check, "documentParties.shipper", nvocc)
    consignee = _si_party(check, "documentParties.consignee", nvocc)
    if shipper.address is None:
        check.fail(
            "documentParties.shipper.address", "the platform's address is required (street, city, country)"
        )
    check.raise_if_any(scac, f"shipping instructions of {manifest.sailing.voyage_number}")
    return w.SiCreateShippingInstructions(
        transport_document_type_code="BOL",
        is_shipped_on_board_type=True,
        freight_payment_term_code="PRE",
        is_electronic=True,
        is_to_order=False,
        carrier_code=scac,
        carrier_code_list_provider="NMFTA",
        party_contact_details=[contact],
        document_parties=w.SiDocumentParties(shipper=shipper, consignee=consignee),
        is_cargo_delivered_in_ics2_zone=manifest.sailing.port_of_discharge[:2] in ICS2_COUNTRIES,
        consignment_items=items,
        utilized_transport_equipments=equipments,
        is_house_bill_of_ladings_issued=True,
        house_bill_of_ladings=house_bills,
    )
