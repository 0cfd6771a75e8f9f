"""DCSA mapping over recorded payloads, the status table, and notifications."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import dcsa_spec
import pytest
from carrier_world import manifest
from msgspec.structs import replace

from carriers.base import (
    CarrierBookingStatus as S,
)
from carriers.base import (
    MalformedCarrierAnswer,
    Party,
    PermanentCarrierError,
    SailingKey,
)
from carriers.dcsa import mapping, parse_booking_notification
from carriers.dcsa import wire as w
from carriers.dcsa.states import neutral_status

FIXTURES = Path(__file__).parent / "fixtures"
KEY = SailingKey(
    carrier_scac="DCSA", voyage_number="511E", port_of_loading="CNSHA", port_of_discharge="NLRTM"
)
AGENT = Party(name="Slotpool NVOCC Ltd", address="1 Quay Street", city="Rotterdam", country_code="NL")
EMERGENCY = w.BkEmergencyContact(contact="CHEMTREC", phone="+1 703 527 3887")


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.mark.parametrize(
    ("name", "spec_file", "schema"),
    [
        ("bkg_notification_v2.json", dcsa_spec.BKG, "BookingNotification"),
        ("bkg_ntf_beta3.json", dcsa_spec.BKG_NTF, "BookingNotification"),
    ],
)
def test_recorded_fixtures_are_valid_dcsa(name: str, spec_file: str, schema: str) -> None:
    dcsa_spec.require_specs()
    assert dcsa_spec.errors(spec_file, schema, json.loads(fixture(name))) == []


def test_recorded_routes_are_valid_point_to_point() -> None:
    dcsa_spec.require_specs()
    for item in json.loads(fixture("cs_point_to_point.json")):
        assert dcsa_spec.errors(dcsa_spec.CS, "PointToPoint", item) == []


def test_direct_route_becomes_a_sailing_and_transhipment_is_skipped() -> None:
    page = mapping.routes_to_offers("DCSA", fixture("cs_point_to_point.json"))
    offers = page.offers
    assert page.skipped == []
    assert len(offers) == 1
    offer = offers[0]
    assert offer.voyage_number == "511E"  # our carrier's partner entry, not the first one
    assert offer.service_code == "TP7"
    assert offer.vessel_imo == "9321483"
    assert offer.etd == datetime(2025, 3, 14, 10, 0, tzinfo=UTC)
    assert offer.eta == datetime(2025, 3, 29, 13, 0, tzinfo=UTC)
    assert set(offer.cut_offs) == {"DCO", "LCO", "FCO", "VCO"}
    assert offer.cut_offs["LCO"] == datetime(2025, 3, 10, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize("content", [b"[{", b'{"not": "a list"}', b"42"])
def test_an_answer_that_is_not_a_list_of_routes_is_malformed(content: bytes) -> None:
    with pytest.raises(MalformedCarrierAnswer):
        mapping.routes_to_offers("DCSA", content)


def test_a_route_that_breaks_the_schema_is_skipped_and_named_the_others_kept() -> None:
    good = json.loads(fixture("cs_point_to_point.json"))
    naive = json.loads(fixture("cs_point_to_point.json"))[0]
    naive["legs"][0]["departure"]["dateTime"] = "2025-03-14T18:00:00"
    content = json.dumps([{"legs": []}, {"placeOfReceipt": 1}, *good, naive]).encode()

    page = mapping.routes_to_offers("DCSA", content)

    assert [o.voyage_number for o in page.offers] == ["511E"]
    assert len(page.skipped) == 3
    assert page.skipped[0].startswith("route 1:")
    assert "without a UTC offset" in page.skipped[2]  # a naive time is never read as local time


@pytest.mark.parametrize(
    ("vessel", "name", "imo"),
    [
        (None, None, None),
        ({"name": "CAPE ORIENT"}, "CAPE ORIENT", None),
        ({"vesselIMONumber": "9321483"}, None, "9321483"),
        ({"name": "X", "vesselIMONumber": "93214830"}, "X", None),
    ],
)
def test_a_route_without_vessel_or_with_part_of_it_is_a_sailing(
    vessel: dict[str, str] | None, name: str | None, imo: str | None
) -> None:
    routes = json.loads(fixture("cs_point_to_point.json"))
    transport = routes[0]["legs"][0]["transport"]
    if vessel is None:
        del transport["vessel"]
    else:
        transport["vessel"] = vessel
    (offer,) = mapping.routes_to_offers("DCSA", json.dumps(routes).encode()).offers
    assert (offer.vessel_name, offer.vessel_imo, offer.voyage_number) == (name, imo, "511E")


def test_manifest_is_valid_shipping_instructions_with_house_bills() -> None:
    dcsa_spec.require_specs()
    sent = manifest(KEY)
    sent = replace(
        sent, containers=[replace(c, carrier_booking_reference="ABC709951") for c in sent.containers]
    )
    payload = mapping.manifest_to_wire(
        "DCSA", sent, nvocc=AGENT, contact=w.BkContact(name="Ops", email="ops@slotpool.example")
    )
    body = json.loads(w.ENCODER.encode(payload))
    assert dcsa_spec.errors(dcsa_spec.EBL, "CreateShippingInstructions", body) == []
    assert len(body["houseBillOfLadings"]) == 3
    assert body["isCargoDeliveredInICS2Zone"] is True  # discharged in NL
    hbl = body["houseBillOfLadings"][1]
    assert hbl["documentParties"]["shipper"]["partyName"] == "Ningbo Paints; Coatings + Co"
    assert hbl["consignmentItems"][0]["cargoItems"][0]["outerPackaging"]["UNNumber"] == "1263"


def test_manifest_without_carrier_booking_reference_is_refused() -> None:
    with pytest.raises(PermanentCarrierError, match="carrier booking reference"):
        mapping.manifest_to_wire(
            "DCSA", manifest(KEY), nvocc=AGENT, contact=w.BkContact(name="Ops", email="o@x.io")
        )


@pytest.mark.parametrize(
    ("booking", "amended", "cancellation", "expected"),
    [
        ("RECEIVED", None, None, S.REQUESTED),
        ("UPDATE_RECEIVED", None, None, S.REQUESTED),
        ("PENDING_UPDATE", None, None, S.PENDING_AMENDMENT),
        ("CONFIRMED", None, None, S.ACCEPTED),
        ("PENDING_AMENDMENT", None, None, S.PENDING_AMENDMENT),
        ("REJECTED", None, None, S.REJECTED),
        ("DECLINED", None, None, S.DECLINED),
        ("CANCELLED", None, None, S.CANCELLED),
        ("COMPLETED", None, None, S.COMPLETED),
        ("CONFIRMED", "AMENDMENT_RECEIVED", None, S.PENDING_AMENDMENT),
        ("CONFIRMED", "AMENDMENT_CONFIRMED", None, S.ACCEPTED),
        ("CONFIRMED", "AMENDMENT_DECLINED", None, S.ACCEPTED),
        ("CONFIRMED", "AMENDMENT_CANCELLED", None, S.ACCEPTED),
        ("CONFIRMED", None, "CANCELLATION_RECEIVED", S.ACCEPTED),
        ("CONFIRMED", None, "CANCELLATION_DECLINED", S.ACCEPTED),
        ("CONFIRMED", None, "CANCELLATION_CONFIRMED", S.CANCELLED),
        ("CONFIRMED", "AMENDMENT_RECEIVED", "CANCELLATION_CONFIRMED", S.CANCELLED),
        ("DECLINED", "AMENDMENT_RECEIVED", None, S.DECLINED),
        ("COMPLETED", None, "CANCELLATION_RECEIVED", S.COMPLETED),
    ],
)
def test_dcsa_statuses_map_to_neutral_ones(
    booking: str, amended: str | None, cancellation: str | None, expected: S
) -> None:
    assert neutral_status(booking, amended, cancellation) is expected


@pytest.mark.parametrize("codes", [("SHIPPED", None, None), ("CONFIRMED", "AMENDED", None)])
def test_unknown_dcsa_status_is_an_error(codes: tuple[str, str | None, str | None]) -> None:
    with pytest.raises(ValueError, match="unknown DCSA booking status"):
        neutral_status(*codes)


def test_same_notification_parsed_twice_gives_the_same_event_id() -> None:
    first = parse_booking_notification("DCSA", fixture("bkg_notification_v2.json"))
    again = parse_booking_notification("DCSA", fixture("bkg_notification_v2.json"))
    assert first == again
    event_id, report = first
    assert event_id == "3cecb101-7a1a-43a4-9d62-e88a131651e2"
    assert report.carrier_reference == "cbrr-0001"
    assert report.status is S.ACCEPTED
    assert report.carrier_booking_number == "ABC709951"
    assert report.reason == "PROPERTY_VALUE_HAS_BEEN_CHANGED: Amendment declined: vessel full"


def test_beta3_notification_carries_its_reason() -> None:
    event_id, report = parse_booking_notification("DCSA", fixture("bkg_ntf_beta3.json"))
    assert event_id == "a1c3e5b7-0d2f-4e6a-8b9c-1d3e5f7a9b0c"
    assert report.status is S.REJECTED
    assert report.reason == "No space on the requested vessel"


@pytest.mark.parametrize(
    "content",
    [
        b"{",
        b'{"specversion": "1.0"}',
        json.dumps({**json.loads((FIXTURES / "bkg_ntf_beta3.json").read_text()), "type": "x"}).encode(),
    ],
)
def test_bad_notifications_are_malformed(content: bytes) -> None:
    with pytest.raises(MalformedCarrierAnswer):
        parse_booking_notification("DCSA", content)
