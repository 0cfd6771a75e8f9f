"""File carriers: sample sheets import, manifests go out as CSV and EDIFACT and read back."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from carrier_world import booking_request, manifest
from msgspec.structs import replace
from pydifact.segmentcollection import Interchange

from carriers.base import (
    CarrierBookingStatus,
    MalformedCarrierAnswer,
    Party,
    SailingKey,
    ScheduleQuery,
    UnitRelease,
)
from carriers.feed import FeedCarrier, build_feed
from carriers.feed.cuscar import read_cuscar
from carriers.feed.manifest_csv import read_manifest_csv
from carriers.feed.sheets import parse_csv_sheet, parse_json_sheet
from carriers.store import MemoryCarrierStore

SAMPLES = Path(__file__).resolve().parents[2] / "carriers" / "samples"
CSV_SAMPLE = SAMPLES / "2025-03-03T0800-allocation.csv"
JSON_SAMPLE = SAMPLES / "2025-03-04T0800-allocation.json"
VOYAGE_512 = SailingKey(
    carrier_scac="FEED", voyage_number="512E", port_of_loading="CNSHA", port_of_discharge="USLAX"
)


# The sample sheets were issued on 3 and 4 March; the carrier is asked after both.
AFTER_THE_SHEETS = datetime(2025, 3, 5, 8, 0, tzinfo=UTC)


@pytest.fixture
def feed(tmp_path: Path) -> FeedCarrier:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(CSV_SAMPLE, inbox)
    shutil.copy(JSON_SAMPLE, inbox)
    settings = {"inbox": str(inbox), "outbox": str(tmp_path / "outbox")}
    return build_feed("FEED", settings, clock=lambda: AFTER_THE_SHEETS, store=MemoryCarrierStore())


def test_sample_csv_sheet_imports_with_utc_times_and_cut_offs() -> None:
    offers = parse_csv_sheet("FEED", CSV_SAMPLE.read_text()).offers
    assert [o.voyage_number for o in offers] == ["511E", "512E"]
    first = offers[0]
    assert first.etd == datetime(2025, 3, 14, 10, 0, tzinfo=UTC)
    assert first.cut_offs["LCO"] == datetime(2025, 3, 10, 10, 0, tzinfo=UTC)
    assert set(first.cut_offs) == {"DCO", "VCO", "FCO", "LCO"}
    assert [(a.size_type, a.units, a.rate) for a in first.allocations] == [
        ("22G1", 12, Decimal("1150.00")),
        ("42G1", 20, Decimal("1980.00")),
    ]


def test_sample_json_sheet_imports() -> None:
    sheet = parse_json_sheet("FEED", JSON_SAMPLE.read_bytes())
    assert sheet.issued_at == datetime(2025, 3, 4, 8, 0, tzinfo=UTC)
    offers = sheet.offers
    assert [o.key.voyage_number for o in offers] == ["512E", "047W"]
    assert offers[1].vessel_imo is None
    assert offers[1].allocations[0].rate == Decimal("1320.5")


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b'{"sailings": [{"voyage_number": "1"}]}', "Object missing required field"),
        (b"{not json", "allocation sheet"),
        (b'{"carrier_scac": "OTHR", "sailings": []}', "sheet is for carrier OTHR"),
    ],
)
def test_bad_json_sheet_is_malformed(content: bytes, problem: str) -> None:
    with pytest.raises(MalformedCarrierAnswer, match=problem):
        parse_json_sheet("FEED", content)


def test_csv_sheet_with_naive_datetime_or_unknown_column_set_is_malformed() -> None:
    text = CSV_SAMPLE.read_text().replace("2025-03-14T18:00:00+08:00", "2025-03-14T18:00:00")
    with pytest.raises(MalformedCarrierAnswer, match=r"offset|disagrees"):
        parse_csv_sheet("FEED", text)
    with pytest.raises(MalformedCarrierAnswer, match="lacks columns"):
        parse_csv_sheet("FEED", "voyage_number,units\n1,2\n")


async def test_later_sheet_replaces_the_sailings_it_lists(feed: FeedCarrier) -> None:
    offers = {o.voyage_number: o for o in (await feed.schedules(ScheduleQuery())).offers}
    assert set(offers) == {"511E", "512E", "047W"}
    assert offers["512E"].etd == datetime(2025, 3, 21, 18, 0, tzinfo=UTC)  # moved by the JSON
    assert {a.size_type: a.units for a in offers["512E"].allocations} == {"42G1": 15, "45R1": 4}


@pytest.mark.filterwarnings("ignore::pydifact.exceptions.MissingImplementationWarning")
async def test_manifest_is_written_as_csv_and_edifact_that_read_back_the_same(
    feed: FeedCarrier,
) -> None:
    sent = manifest(VOYAGE_512)
    receipt = await feed.submit_manifest(sent)
    assert receipt.accepted

    folder = feed.outbox / "manifests"
    csv_text = (folder / f"{receipt.carrier_reference}.csv").read_text()
    edifact = (folder / f"{receipt.carrier_reference}.edi").read_bytes()
    assert read_manifest_csv(csv_text) == sent
    assert read_cuscar(edifact) == sent

    messages = list(Interchange.from_str(edifact.decode("latin-1")).get_messages())
    assert [m.type for m in messages] == ["CUSCAR"]
    tags = [s.tag for s in messages[0].segments]
    assert tags.count("CNI") == 3
    assert tags.count("EQD") == 2
    assert tags.count("DGS") == 1


async def test_long_texts_survive_the_edifact_component_limits(feed: FeedCarrier) -> None:
    sent = manifest(VOYAGE_512)
    container = sent.containers[0]
    long_bill = replace(
        container.house_bills[0],
        cargo_description="Flat-packed oak bookshelves, " * 8,
        shipper=Party(name="Zhejiang Very Long Name Furniture Manufacturing Co", city="Anji"),
    )
    long = replace(sent, containers=[replace(container, house_bills=[long_bill])])
    receipt = await feed.submit_manifest(long)
    edifact = (feed.outbox / "manifests" / f"{receipt.carrier_reference}.edi").read_bytes()
    assert read_cuscar(edifact) == long


async def test_booking_inside_the_sheet_is_accepted_and_outside_rejected(feed: FeedCarrier) -> None:
    ack = await feed.request_booking(booking_request(VOYAGE_512))
    assert ack.status is CarrierBookingStatus.ACCEPTED
    assert (feed.outbox / "bookings" / f"{ack.carrier_reference}-request.csv").exists()

    too_many = replace(booking_request(VOYAGE_512, reference="SP-B-9"), units=16)
    rejected = await feed.request_booking(too_many)
    assert rejected.status is CarrierBookingStatus.REJECTED
    report = await feed.booking_status(rejected.carrier_reference)
    assert report.reason is not None
    assert "exceeds" in report.reason


async def test_release_is_idempotent_across_a_restart(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(JSON_SAMPLE, inbox)
    settings = {"inbox": str(inbox), "outbox": str(tmp_path / "outbox")}
    store = MemoryCarrierStore()  # the app's database, in the service
    feed = build_feed("FEED", settings, clock=lambda: AFTER_THE_SHEETS, store=store)
    release = UnitRelease(release_id="rel-7", sailing=VOYAGE_512, size_type="42G1", units=5)
    assert (await feed.release_units(release)).units_released == 5
    again = build_feed("FEED", settings, clock=lambda: AFTER_THE_SHEETS, store=store)
    assert (await again.release_units(release)).units_released == 5
    status = await again.allocation(VOYAGE_512)
    assert {a.size_type: a.units for a in status.allocations}["42G1"] == 10
