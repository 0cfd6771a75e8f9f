"""Allocation sheets never half-apply: a sheet is checked whole, every problem listed with its
row, a sheet with any problem yields nothing; BOM, UTF-8 and Latin-1 sheets are read; a sheet
that cannot be decoded is a carrier error; a sheet is parsed once per content."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from msgspec.structs import replace

from carriers.base import MalformedCarrierAnswer, ScheduleQuery
from carriers.feed import build_feed
from carriers.feed.sheets import SheetInvalid, decode_sheet, parse_csv_sheet, parse_json_sheet
from carriers.store import MemoryCarrierStore

SAMPLES = Path(__file__).resolve().parents[2] / "carriers" / "samples"
CSV_SAMPLE = (SAMPLES / "2025-03-03T0800-allocation.csv").read_text()
JSON_SAMPLE = json.loads((SAMPLES / "2025-03-04T0800-allocation.json").read_text())
HEADER, ROW1, ROW2, ROW3, ROW4 = CSV_SAMPLE.strip().splitlines()
LATER = datetime(2025, 3, 5, tzinfo=UTC)


def csv_problems(text: str) -> list[str]:
    with pytest.raises(SheetInvalid) as caught:
        parse_csv_sheet("FEED", text)
    return [f"{e.property}: {e.message}" for e in caught.value.errors]


def edit(row: str, column: str, value: str) -> str:
    names = HEADER.split(",")
    cells = row.split(",")
    cells[names.index(column)] = value
    return ",".join(cells)


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([edit(ROW2, "units", "-3")], "line 2 units: negative units -3"),
        ([edit(ROW2, "rate", "-1980.00")], "line 2 rate: negative or invalid rate -1980.00"),
        ([ROW1, ROW1.replace(",12,", ",14,")], "line 3: size-type 22G1 given twice (first at line 2)"),
        ([edit(ROW1, "LCO", "2025-03-15T18:00:00+08:00")], "line 2 LCO: cut-off 2025-03-15T10:00:00+00:00"),
        ([edit(ROW1, "size_type", "22X")], "line 2 size_type: unknown ISO 6346 size-type '22X'"),
        ([edit(ROW1, "currency", "usd")], "line 2 currency: unknown currency 'usd'"),
        ([edit(ROW1, "status", "postponed")], "line 2 status: unknown sailing status 'postponed'"),
        ([edit(ROW1, "port_of_loading", "SHANGHAI")], "line 2: port 'SHANGHAI' is not a UN/LOCODE"),
        ([edit(ROW1, "etd", "2025-03-14T18:00:00")], "line 2 etd: 2025-03-14T18:00:00 has no UTC offset"),
        ([edit(ROW1, "units", "twelve")], "line 2: invalid literal for int() with base 10: 'twelve'"),
        ([ROW1, edit(ROW2, "vessel_name", "OTHER")], "line 3: disagrees with line 2 about the same sailing"),
    ],
)  # fmt: skip
def test_each_kind_of_csv_error_applies_nothing_and_is_listed_with_its_line(
    rows: list[str], expected: str
) -> None:
    problems = csv_problems("\n".join([HEADER, *rows, ROW3]) + "\n")
    assert any(p.startswith(expected.split(" (first")[0]) for p in problems), problems


def test_every_error_of_a_sheet_is_listed_together() -> None:
    text = "\n".join(
        [
            HEADER + ",XYZ",
            edit(ROW1, "units", "-1") + ",",
            edit(ROW2, "currency", "EURO") + ",",
            ROW3 + ",",
            ROW3.replace("42G1", "42G1") + ",",
        ]
    )

    problems = csv_problems(text)

    assert problems == [
        "header XYZ: unknown cut-off code 'XYZ'",
        "line 2 units: negative units -1",
        "line 3 currency: unknown currency 'EURO'",
        "line 5: size-type 42G1 given twice for the sailing (first at line 4)",
    ]


def json_problems(sheet: dict[str, object]) -> list[str]:
    with pytest.raises(SheetInvalid) as caught:
        parse_json_sheet("FEED", json.dumps(sheet).encode())
    return [f"{e.property}: {e.message}" for e in caught.value.errors]


def test_each_kind_of_json_error_is_listed_with_its_place() -> None:
    sailings = json.loads(json.dumps(JSON_SAMPLE["sailings"]))
    first = sailings[0]
    first["allocations"][0]["units"] = -2
    first["allocations"][1]["rate"] = "-1"
    first["allocations"].append(dict(first["allocations"][0], units=3))
    first["cut_offs"]["LCO"] = "2025-04-01T00:00:00+08:00"
    first["cut_offs"]["ZZZ"] = "2025-03-01T00:00:00Z"
    sailings[1]["etd"] = "2025-03-28T10:00:00"

    problems = json_problems({**JSON_SAMPLE, "sailings": sailings})

    assert problems == [
        "sailings[0] ZZZ: unknown cut-off code 'ZZZ'",
        "sailings[0] LCO: cut-off 2025-03-31T16:00:00+00:00 is after ETD",
        "sailings[0].allocations[0] units: negative units -2",
        "sailings[0].allocations[1] rate: negative or invalid rate -1",
        "sailings[0].allocations[2]: size-type 42G1 given twice for the sailing"
        " (first at sailings[0].allocations[0])",
        "sailings[1] etd: 2025-03-28T10:00:00 has no UTC offset",
    ]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b'{"sailings": [{"voyage_number": "1"}]}', "Object missing required field"),
        (b"{not json", "allocation sheet"),
        (json.dumps({**JSON_SAMPLE, "carrier_scac": "OTHR"}).encode(), "sheet is for carrier OTHR"),
    ],
)
def test_a_json_sheet_that_breaks_the_format_is_malformed(content: bytes, problem: str) -> None:
    with pytest.raises(MalformedCarrierAnswer, match=problem):
        parse_json_sheet("FEED", content)


@pytest.mark.parametrize(
    ("encoded", "setting"),
    [
        (b"\xef\xbb\xbf" + CSV_SAMPLE.encode(), "auto"),  # UTF-8 with a byte-order mark
        (CSV_SAMPLE.replace("CAPE ORIENT", "CAPE ÖRIENT").encode("utf-8"), "auto"),
        (CSV_SAMPLE.replace("CAPE ORIENT", "CAPE ÖRIENT").encode("latin-1"), "auto"),  # detected
        (CSV_SAMPLE.replace("CAPE ORIENT", "CAPE ÖRIENT").encode("latin-1"), "latin-1"),  # configured
        (CSV_SAMPLE.replace("CAPE ORIENT", "CAPE ÖRIENT").encode("utf-16"), "auto"),  # a BOM says UTF-16
        (CSV_SAMPLE.replace("CAPE ORIENT", "CAPE ÖRIENT").encode("cp1252"), "cp1252"),
    ],
)
def test_bom_utf8_and_latin1_sheets_are_read(encoded: bytes, setting: str) -> None:
    offers = parse_csv_sheet("FEED", decode_sheet("FEED", encoded, setting)).offers

    assert [o.voyage_number for o in offers] == ["511E", "512E"]
    assert offers[0].vessel_name in ("CAPE ORIENT", "CAPE ÖRIENT")
    assert "service_code" not in (offers[0].service_code or "")


def test_a_sheet_that_does_not_decode_is_a_carrier_error() -> None:
    with pytest.raises(MalformedCarrierAnswer, match="not ascii"):
        decode_sheet("FEED", "CAPE ÖRIENT".encode(), "ascii")


def test_an_unknown_encoding_is_bad_settings(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown encoding"):
        build_feed("FEED", {"inbox": str(tmp_path), "outbox": str(tmp_path), "encoding": "klingon-8"})


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    shutil.copy(SAMPLES / "2025-03-03T0800-allocation.csv", folder)
    return folder


async def test_a_bad_sheet_in_the_inbox_applies_nothing_and_the_answer_says_so(
    inbox: Path, tmp_path: Path
) -> None:
    feed = build_feed("FEED", {"inbox": str(inbox), "outbox": str(tmp_path / "out")}, clock=lambda: LATER)
    before = (await feed.schedules(ScheduleQuery())).offers
    # A later sheet moves 512E and cuts it, but one of its rows is wrong.
    later = CSV_SAMPLE.replace(",18,1940.00,", ",4,1940.00,").replace(",4,3450.00,", ",-4,3450.00,")
    (inbox / "2025-03-05T0800-allocation.csv").write_text(later)

    answer = await feed.schedules(ScheduleQuery())

    assert answer.offers == before  # nothing of the bad sheet, not even its good rows
    assert not answer.complete
    assert answer.problems == [
        "2025-03-05T0800-allocation.csv: allocation sheet has 1 problem(s): line 5 units: negative units -4"
    ]


async def test_a_sheet_is_parsed_once_per_content(inbox: Path, tmp_path: Path) -> None:
    feed = build_feed(
        "FEED", {"inbox": str(inbox), "outbox": str(tmp_path / "out")}, store=MemoryCarrierStore()
    )
    for _ in range(5):
        await feed.schedules(ScheduleQuery())
    assert feed.parses == 1

    sheet = inbox / "2025-03-03T0800-allocation.csv"
    sheet.write_text(sheet.read_text().replace(",12,1150.00,", ",11,1150.00,"))
    offers = (await feed.schedules(ScheduleQuery())).offers

    assert feed.parses == 2
    assert {a.size_type: a.units for a in offers[0].allocations}["22G1"] == 11


def test_a_sheets_allocations_are_dated_by_its_issue() -> None:
    sheet = parse_json_sheet("FEED", json.dumps(JSON_SAMPLE).encode())
    assert sheet.issued_at == datetime(2025, 3, 4, 8, tzinfo=UTC)
    assert replace(sheet, offers=[]).issued_at == sheet.issued_at
