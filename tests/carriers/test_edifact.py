"""EDIFACT a carrier's parser accepts: the interchange declares a character set that carries its
text (UNOW for UTF-8, else UNOC with anything beyond Latin-1 transliterated, the original kept in
the CSV and JSON copies), every value fits its data element or the manifest is refused with each
value named, and no two interchanges share a control reference."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from carrier_world import manifest
from msgspec.structs import replace
from pydifact.segmentcollection import Interchange

from carriers.base import InvalidCarrierRequest, Manifest, Party, SailingKey
from carriers.feed import FeedCarrier, build_feed
from carriers.feed.cuscar import read_cuscar, write_cuscar
from carriers.feed.manifest_csv import read_manifest_csv
from carriers.store import MemoryCarrierStore

SAMPLES = Path(__file__).resolve().parents[2] / "carriers" / "samples"
KEY = SailingKey(
    carrier_scac="FEED", voyage_number="512E", port_of_loading="CNSHA", port_of_discharge="USLAX"
)
SAME_SECOND = datetime(2025, 3, 5, 8, 0, 0, tzinfo=UTC)
CHINESE_SHIPPER = Party(name="安徽灯具有限公司", address="华园路88号", city="合肥", country_code="CN")


def chinese(sent: Manifest) -> Manifest:
    container = sent.containers[0]
    bill = replace(
        container.house_bills[0], shipper=CHINESE_SHIPPER, cargo_description="LED 台灯 (table lamps)"
    )
    return replace(sent, containers=[replace(container, house_bills=[bill, *container.house_bills[1:]]),
                                     *sent.containers[1:]])  # fmt: skip


def feed(tmp_path: Path, **settings: str) -> FeedCarrier:
    inbox = tmp_path / "inbox"
    inbox.mkdir(exist_ok=True)
    shutil.copy(SAMPLES / "2025-03-04T0800-allocation.json", inbox)
    base = {"inbox": str(inbox), "outbox": str(tmp_path / "outbox"), **settings}
    return build_feed("FEED", base, clock=lambda: SAME_SECOND, store=MemoryCarrierStore())


@pytest.mark.filterwarnings("ignore::pydifact.exceptions.MissingImplementationWarning")
async def test_chinese_names_go_as_unoc_transliterated_and_the_copies_keep_them(tmp_path: Path) -> None:
    carrier = feed(tmp_path)
    sent = chinese(manifest(KEY))

    receipt = await carrier.submit_manifest(sent)

    folder = carrier.outbox / "manifests"
    raw = (folder / f"{receipt.carrier_reference}.edi").read_bytes()
    text = raw.decode("latin-1")
    assert "UNB+UNOC:3+" in text
    raw.decode("ascii")  # nothing beyond what UNOC carries: here even plain ASCII
    back = read_cuscar(raw)
    shipper = back.containers[0].house_bills[0].shipper
    assert shipper.name == "An Hui Deng Ju You Xian Gong Si"
    assert shipper.city == "He Fei"
    assert back.containers[0].house_bills[0].cargo_description == "LED Tai Deng (table lamps)"
    # The CSV and JSON copies carry the original text.
    assert read_manifest_csv((folder / f"{receipt.carrier_reference}.csv").read_text()) == sent
    copy = json.loads((folder / f"{receipt.carrier_reference}.json").read_text())
    assert copy["containers"][0]["house_bills"][0]["shipper"]["name"] == "安徽灯具有限公司"


@pytest.mark.filterwarnings("ignore::pydifact.exceptions.MissingImplementationWarning")
async def test_a_partner_that_takes_utf8_gets_unow_with_the_names_as_they_are(tmp_path: Path) -> None:
    carrier = feed(tmp_path, edifact_charset="UNOW")
    sent = chinese(manifest(KEY))

    receipt = await carrier.submit_manifest(sent)

    raw = (carrier.outbox / "manifests" / f"{receipt.carrier_reference}.edi").read_bytes()
    text = raw.decode("utf-8")
    assert "UNB+UNOW:4+" in text
    assert "+20250305:0800+" in text  # syntax version 4 dates have the century
    assert read_cuscar(raw) == sent
    (message,) = Interchange.from_str(text).get_messages()
    assert message.type == "CUSCAR"


def test_latin1_text_stays_as_it_is_in_unoc() -> None:
    sent = manifest(KEY)
    bill = replace(
        sent.containers[0].house_bills[0], shipper=Party(name="Müller Möbel GmbH", country_code="DE")
    )
    sent = replace(sent, containers=[replace(sent.containers[0], house_bills=[bill])])

    raw = write_cuscar(sent, sender="SLOTPOOL", control_reference="1", prepared_at=SAME_SECOND)

    assert "Müller Möbel GmbH".encode("latin-1") in raw


@pytest.mark.parametrize("charset", ["UNOC", "UNOW"])
async def test_a_190_character_name_is_a_clear_validation_error_and_nothing_is_written(
    tmp_path: Path, charset: str
) -> None:
    carrier = feed(tmp_path, edifact_charset=charset)
    sent = manifest(KEY)
    bill = replace(sent.containers[0].house_bills[0], consignee=Party(name="N" * 190, city="C" * 40))
    long_voyage = replace(sent, sailing=replace(KEY, voyage_number="V" * 18),
                          containers=[replace(sent.containers[0], house_bills=[bill])])  # fmt: skip

    with pytest.raises(InvalidCarrierRequest) as caught:
        await carrier.submit_manifest(long_voyage)

    errors = {e.property: e.message for e in caught.value.errors}
    assert errors == {
        "sailing (8028 conveyance reference number)": "18 characters, at most 17",
        "house bill SP-B-0101 consignee (3036 party name)": "190 characters, at most 175 (5 x 35)",
        "house bill SP-B-0101 consignee (3164 city name)": "40 characters, at most 35",
    }
    assert not (carrier.outbox / "manifests").exists()


def test_a_name_of_up_to_five_components_is_split_and_read_back_whole() -> None:
    sent = manifest(KEY)
    bill = replace(sent.containers[0].house_bills[0], shipper=Party(name="N" * 175, country_code="CN"))
    sent = replace(sent, containers=[replace(sent.containers[0], house_bills=[bill])])

    raw = write_cuscar(sent, sender="SLOTPOOL", control_reference="1", prepared_at=SAME_SECOND)

    assert read_cuscar(raw).containers[0].house_bills[0].shipper.name == "N" * 175


async def test_two_manifests_in_the_same_second_get_different_control_references(tmp_path: Path) -> None:
    carrier = feed(tmp_path)
    first = await carrier.submit_manifest(manifest(KEY))
    second_sailing = replace(KEY, voyage_number="047W", port_of_loading="CNNGB", port_of_discharge="DEHAM")
    second = await carrier.submit_manifest(replace(manifest(KEY), sailing=second_sailing))

    references = []
    for receipt in (first, second):
        text = (
            (carrier.outbox / "manifests" / f"{receipt.carrier_reference}.edi").read_bytes().decode("latin-1")
        )
        unb = next(line for line in text.splitlines() if line.startswith("UNB"))
        unz = next(line for line in text.splitlines() if line.startswith("UNZ"))
        reference = unb.rstrip("'").split("+")[5]
        assert unz.rstrip("'").split("+")[2] == reference
        references.append(reference)
    assert references == ["000000001", "000000002"]
