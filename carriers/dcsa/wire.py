"""msgspec Structs for the parts of the DCSA payloads this adapter reads and writes.

Field names follow the specs (camelCase, with DCSA's own spellings such as `UNLocationCode`,
`ISOEquipmentCode`, `extendedHSCodes`). Response Structs list only what we read; unknown fields are
ignored. Request Structs are encoded with `omit_defaults`, so None means "not sent".
Specs: CS_v1.0.3 (schedules), BKG_v2.0.4 (bookings), EBL_v3.0.3 (shipping instructions).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import msgspec


class Wire(msgspec.Struct, kw_only=True, rename="camel", omit_defaults=True):
    """Base of the wire Structs. Only None and empty-list defaults exist, so `omit_defaults`
    drops exactly the optional fields we leave out; required fields are always set."""


# -- Commercial Schedules 1.0: GET /v1/point-to-point-routes --------------------------------


class CsLocation(Wire, kw_only=True):
    location_name: str | None = None
    un_location_code: str | None = msgspec.field(default=None, name="UNLocationCode")


class CsPlace(Wire, kw_only=True):
    facility_type_code: str | None = None
    location: CsLocation
    date_time: datetime


class CsCutOff(Wire, kw_only=True):
    cut_off_date_time_code: str
    cut_off_date_time: datetime


class CsVessel(Wire, kw_only=True):
    vessel_imo_number: str | None = msgspec.field(default=None, name="vesselIMONumber")
    name: str | None = None


class CsServicePartner(Wire, kw_only=True):
    carrier_code: str | None = None
    carrier_service_code: str | None = None
    carrier_export_voyage_number: str | None = None


class CsTransport(Wire, kw_only=True):
    mode_of_transport: str
    vessel: CsVessel | None = None
    service_partners: list[CsServicePartner] = []
    universal_export_voyage_reference: str | None = None


class CsLeg(Wire, kw_only=True):
    sequence_number: int | None = None
    transport: CsTransport | None = None
    departure: CsPlace
    arrival: CsPlace
    cut_off_times: list[CsCutOff] = []


class CsPointToPoint(Wire, kw_only=True):
    place_of_receipt: CsPlace
    place_of_delivery: CsPlace
    receipt_type_at_origin: str | None = None
    cut_off_times: list[CsCutOff] = []
    solution_number: int | None = None
    routing_reference: str | None = None
    legs: list[CsLeg]


# -- Booking 2.0.4 ---------------------------------------------------------------------------


class BkAddress(Wire, kw_only=True):
    street: str
    street_number: str | None = None
    post_code: str | None = None
    city: str
    country_code: str


class BkContact(Wire, kw_only=True):
    name: str
    email: str | None = None
    phone: str | None = None


class BkParty(Wire, kw_only=True):
    party_name: str
    address: BkAddress | None = None
    party_contact_details: list[BkContact] | None = None


class BkOtherParty(Wire, kw_only=True):
    party: BkParty
    party_function: str


class BkDocumentParties(Wire, kw_only=True):
    booking_agent: BkParty
    shipper: BkParty | None = None
    consignee: BkParty | None = None
    other: list[BkOtherParty] | None = None


class BkLocation(Wire, kw_only=True):
    location_name: str | None = None
    address: BkAddress | None = None
    un_location_code: str | None = msgspec.field(default=None, name="UNLocationCode")


class BkShipmentLocation(Wire, kw_only=True):
    location: BkLocation
    location_type_code: str


class BkContainerPositioning(Wire, kw_only=True):
    date_time: datetime | None = None
    location: BkLocation


class Quantity(Wire, kw_only=True):
    value: Decimal
    unit: str


class BkEmergencyContact(Wire, kw_only=True):
    contact: str
    phone: str
    provider: str | None = None
    reference_number: str | None = None


class BkLimits(Wire, kw_only=True):
    temperature_unit: str
    flash_point: Decimal | None = None


class BkDangerousGoods(Wire, kw_only=True):
    un_number: str = msgspec.field(name="UNNumber")
    proper_shipping_name: str
    technical_name: str | None = None
    imo_class: str
    packing_group: int | None = None
    ems_number: str | None = msgspec.field(default=None, name="EMSNumber")
    is_marine_pollutant: bool
    is_limited_quantity: bool
    is_excepted_quantity: bool
    is_salvage_packings: bool
    is_empty_uncleaned_residue: bool
    is_waste: bool
    is_hot: bool
    is_competent_authority_approval_required: bool
    is_reportable_quantity: bool
    emergency_contact_details: BkEmergencyContact
    gross_weight: Quantity
    limits: BkLimits | None = None


class BkOuterPackaging(Wire, kw_only=True):
    package_code: str | None = None
    imo_packaging_code: str | None = None
    number_of_packages: int | None = None
    description: str | None = None
    dangerous_goods: list[BkDangerousGoods] | None = None


class BkCommodity(Wire, kw_only=True):
    commodity_type: str
    extended_hs_codes: list[str] = msgspec.field(name="extendedHSCodes")
    cargo_gross_weight: Quantity
    cargo_gross_volume: Quantity
    outer_packaging: BkOuterPackaging | None = None


class BkActiveReeferSettings(Wire, kw_only=True):
    temperature_setpoint: Decimal
    temperature_unit: str
    humidity_setpoint: Decimal | None = None
    is_pre_cooling_required: bool | None = None


class BkRequestedEquipment(Wire, kw_only=True):
    iso_equipment_code: str = msgspec.field(name="ISOEquipmentCode")
    units: int
    container_positionings: list[BkContainerPositioning] | None = None
    is_shipper_owned: bool
    is_non_operating_reefer: bool | None = None
    active_reefer_settings: BkActiveReeferSettings | None = None
    commodities: list[BkCommodity]


class BkReference(Wire, kw_only=True):
    type: str
    value: str


class BkVessel(Wire, kw_only=True):
    name: str
    vessel_imo_number: str | None = msgspec.field(default=None, name="vesselIMONumber")


class BkCreateBooking(Wire, kw_only=True):
    """CreateBooking; with `carrier_booking_request_reference` set it is an UpdateBooking."""

    carrier_booking_request_reference: str | None = None
    receipt_type_at_origin: str
    delivery_type_at_destination: str
    cargo_movement_type_at_origin: str
    cargo_movement_type_at_destination: str
    service_contract_reference: str | None = None
    contract_quotation_reference: str | None = None
    vessel: BkVessel | None = None
    carrier_service_code: str | None = None
    carrier_export_voyage_number: str | None = None
    routing_reference: str | None = None
    carrier_code: str
    carrier_code_list_provider: str
    is_equipment_substitution_allowed: bool
    references: list[BkReference]
    document_parties: BkDocumentParties
    shipment_locations: list[BkShipmentLocation]
    requested_pre_carriage_mode_of_transport: str | None = None
    requested_on_carriage_mode_of_transport: str | None = None
    requested_equipments: list[BkRequestedEquipment]


class BkCreateBookingResponse(Wire, kw_only=True):
    carrier_booking_request_reference: str


class BkFeedback(Wire, kw_only=True):
    severity: str
    code: str
    message: str


class BkBookingState(Wire, kw_only=True):
    """The status part of a Booking (GET /v2/bookings/{ref}) or a notification's data."""

    carrier_booking_request_reference: str | None = None
    carrier_booking_reference: str | None = None
    booking_status: str
    amended_booking_status: str | None = None
    booking_cancellation_status: str | None = None
    feedbacks: list[BkFeedback] = []
    reason: str | None = None  # BKG_NTF 2.0.0-Beta-3 only
    # Not in the standard's notification data, but sent by some carriers: preferred over the
    # event's time to order notifications when present.
    updated_date_time: datetime | None = None


class BkCancelBooking(Wire, kw_only=True):
    booking_status: str | None = None
    booking_cancellation_status: str | None = None
    reason: str | None = None


class BkNotification(Wire, kw_only=True):
    """A CloudEvent carrying a booking notification (BKG 2.0 or BKG_NTF 2.0.0-Beta-3)."""

    specversion: str
    id: str
    source: str
    type: str
    time: datetime
    datacontenttype: str
    subscription_reference: str | None = None
    data: BkBookingState


# -- eBL 3.0: POST /v3/shipping-instructions ------------------------------------------------


class SiSeal(Wire, kw_only=True):
    number: str


class SiEquipment(Wire, kw_only=True):
    equipment_reference: str
    is_shipper_owned: bool
    seals: list[SiSeal]


class SiOuterPackaging(Wire, kw_only=True):
    number_of_packages: int
    description: str


class SiCargoItem(Wire, kw_only=True):
    equipment_reference: str
    cargo_gross_weight: Quantity
    cargo_gross_volume: Quantity
    outer_packaging: SiOuterPackaging
    house_bill_of_lading_reference: str | None = None


class SiConsignmentItem(Wire, kw_only=True):
    carrier_booking_reference: str
    description_of_goods: list[str]
    hs_codes: list[str] = msgspec.field(name="HSCodes")
    cargo_items: list[SiCargoItem]


class SiParty(Wire, kw_only=True):
    party_name: str
    type_of_person: str | None = None
    address: BkAddress | None = None
    party_contact_details: list[BkContact] | None = None


class SiDocumentParties(Wire, kw_only=True):
    shipper: SiParty
    consignee: SiParty | None = None
    notify_party: SiParty | None = None


class HblOuterPackaging(Wire, kw_only=True):
    package_code: str
    number_of_packages: int
    un_number: str | None = msgspec.field(default=None, name="UNNumber")


class HblCargoItem(Wire, kw_only=True):
    equipment_reference: str
    cargo_gross_weight: Quantity
    cargo_gross_volume: Quantity
    outer_packaging: HblOuterPackaging


class HblNationalCommodityCode(Wire, kw_only=True):
    type: str
    values: list[str]


class HblConsignmentItem(Wire, kw_only=True):
    description_of_goods: str
    national_commodity_code: HblNationalCommodityCode
    cargo_items: list[HblCargoItem]


class HblEquipment(Wire, kw_only=True):
    equipment_reference: str
    iso_equipment_code: str = msgspec.field(name="ISOEquipmentCode")
    is_shipper_owned: bool
    empty_indicator_code: str
    seals: list[SiSeal] | None = None


class HblPlace(Wire, kw_only=True):
    un_location_code: str = msgspec.field(name="UNLocationCode")


class HouseBillOfLading(Wire, kw_only=True):
    house_bill_of_lading_reference: str
    is_to_order: bool
    place_of_acceptance: HblPlace
    place_of_final_delivery: HblPlace
    method_of_payment: str
    document_parties: SiDocumentParties
    is_cargo_delivered_in_ics2_zone: bool = msgspec.field(name="isCargoDeliveredInICS2Zone")
    routing_of_consignment_countries: list[str]
    consignment_items: list[HblConsignmentItem]
    utilized_transport_equipments: list[HblEquipment]


class SiCreateShippingInstructions(Wire, kw_only=True):
    transport_document_type_code: str
    is_shipped_on_board_type: bool
    freight_payment_term_code: str
    is_electronic: bool
    is_to_order: bool
    carrier_code: str
    carrier_code_list_provider: str
    party_contact_details: list[BkContact]
    document_parties: SiDocumentParties
    is_cargo_delivered_in_ics2_zone: bool = msgspec.field(name="isCargoDeliveredInICS2Zone")
    consignment_items: list[SiConsignmentItem]
    utilized_transport_equipments: list[SiEquipment]
    is_house_bill_of_ladings_issued: bool
    house_bill_of_ladings: list[HouseBillOfLading]


class SiCreateResponse(Wire, kw_only=True):
    shipping_instructions_reference: str


# Decimal amounts go out as JSON numbers, as the specs type them.
ENCODER = msgspec.json.Encoder(decimal_format="number")
