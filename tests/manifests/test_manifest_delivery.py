"""Consolidated manifests reach carriers: through the DCSA adapter as eBL 3.0.3 shipping
instructions that validate against the spec and its conditions, through the feed adapter as
files that parse back; a change after submission is a new version sent again, no change is
nothing; a carrier failure is retried later, a rejection is recorded with its event."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import dcsa_conditions
import dcsa_spec
import httpx
import msgspec
import pytest
from dcsa_world import fake_sailings
from fake_dcsa import FakeDcsaState

from app.manifests.service import run_manifests
from app.runtime import Runtime
from carriers.base import Manifest, ManifestReceipt, PermanentCarrierError
from carriers.feed.cuscar import read_cuscar
from carriers.feed.manifest_csv import read_manifest_csv
from carriers.simulated import SimulatedCarrier, SimulatedSettings
from tests.manifests.manifest_world import (
    NOTIFY,
    cancel_directly,
    closed_sailing,
    events_of,
    manifest_versions,
)
from tests.sync.dcsa_sync_world import dcsa_carrier
from tests.sync.sync_world import add_carrier, fast_registry


@pytest.fixture
def fake_dcsa() -> FakeDcsaState:
    dcsa_spec.require_specs()
    return FakeDcsaState(fake_sailings("DCSA"))


async def test_dcsa_manifest_is_valid_shipping_instructions_with_house_bills(
    runtime: Runtime, client: httpx.AsyncClient, fake_dcsa: FakeDcsaState
) -> None:
    registry = fast_registry()
    await dcsa_carrier(runtime, fake_dcsa, registry)
    world = await closed_sailing(runtime, client, scac="DCSA")

    report = await run_manifests(runtime, registry)

    assert (report.versions_stored, report.submitted, report.accepted) == (1, 1, 1)
    (sent,) = fake_dcsa.shipping_instructions.values()
    assert fake_dcsa.violations == []
    assert dcsa_spec.errors(dcsa_spec.EBL, "CreateShippingInstructions", sent) == []
    assert dcsa_conditions.shipping_instructions_condition_errors(sent) == []
    assert sent["isHouseBillOfLadingsIssued"] is True
    (version,) = await manifest_versions(runtime, world.sailing_id)
    content = msgspec.json.decode(version.content, type=Manifest)
    (container,) = content.containers
    numbers = [bill.house_bill_number for bill in container.house_bills]
    assert [hbl["houseBillOfLadingReference"] for hbl in sent["houseBillOfLadings"]] == numbers
    assert sorted(bill.booking_reference for bill in container.house_bills) == sorted(world.references)
    with_notify = [hbl for hbl in sent["houseBillOfLadings"] if "notifyParty" in hbl["documentParties"]]
    assert [hbl["documentParties"]["notifyParty"]["partyName"] for hbl in with_notify] == [NOTIFY["name"]]
    packaging = [
        hbl["consignmentItems"][0]["cargoItems"][0]["outerPackaging"] for hbl in sent["houseBillOfLadings"]
    ]
    assert [p.get("UNNumber") for p in packaging].count("1263") == 1
    # What was stored is what was sent, and the version says how it went.
    assert msgspec.json.decode(version.document_dcsa or "") == sent
    assert (version.delivery_state, version.decision, version.receipt_reference) == (
        "submitted",
        "accepted",
        "SI000001",
    )
    (submitted,) = await events_of(runtime, "manifest.submitted")
    (accepted,) = await events_of(runtime, "manifest.accepted")
    assert submitted["receipt_reference"] == accepted["receipt_reference"] == "SI000001"
    assert (accepted["house_bills"], accepted["version"]) == (3, 1)


async def test_feed_manifest_files_parse_back_as_the_stored_version(
    runtime: Runtime, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    settings = {"inbox": str(tmp_path / "in"), "outbox": str(tmp_path / "out")}
    (tmp_path / "in").mkdir()
    await add_carrier(runtime, "FEED", "feed", **settings)
    registry = fast_registry()
    world = await closed_sailing(runtime, client, scac="FEED")

    report = await run_manifests(runtime, registry)

    assert report.submitted == 1
    (version,) = await manifest_versions(runtime, world.sailing_id)
    stored = msgspec.json.decode(version.content, type=Manifest)
    folder = tmp_path / "out" / "manifests"
    (csv_file,) = folder.glob("*.csv")
    (edi_file,) = folder.glob("*.edi")
    assert read_manifest_csv(csv_file.read_text()) == stored
    assert read_cuscar(edi_file.read_bytes()) == stored
    # The version's own documents parse back the same.
    assert read_manifest_csv(version.document_csv or "") == stored
    assert read_cuscar(version.document_edifact or b"") == stored
    bill = next(b for b in stored.containers[0].house_bills if b.notify is not None)
    assert bill.notify is not None
    assert bill.notify.email == NOTIFY["email"]
    assert bill.dangerous_goods[0].un_number == "1263"


async def test_a_change_after_submission_is_version_2_sent_again_and_no_change_is_nothing(
    runtime: Runtime, client: httpx.AsyncClient, fake_dcsa: FakeDcsaState
) -> None:
    registry = fast_registry()
    await dcsa_carrier(runtime, fake_dcsa, registry)
    world = await closed_sailing(runtime, client, scac="DCSA")
    await run_manifests(runtime, registry)

    unchanged = await run_manifests(runtime, registry)

    assert (unchanged.versions_stored, unchanged.submitted) == (0, 0)
    assert len(fake_dcsa.shipping_instructions) == 1

    await cancel_directly(runtime, world.references[0])
    changed = await run_manifests(runtime, registry)

    assert (changed.versions_stored, changed.submitted) == (1, 1)
    first, second = await manifest_versions(runtime, world.sailing_id)
    assert (first.number, second.number) == (1, 2)
    assert first.checksum != second.checksum
    assert (first.delivery_state, first.house_bills) == ("submitted", 3)
    assert (second.delivery_state, second.house_bills) == ("submitted", 2)
    assert len(fake_dcsa.shipping_instructions) == 2
    resent = fake_dcsa.shipping_instructions["SI000002"]
    assert len(resent["houseBillOfLadings"]) == 2
    assert fake_dcsa.violations == []
    assert [e["version"] for e in await events_of(runtime, "manifest.submitted")] == [1, 2]


async def test_a_carrier_failure_is_retried_by_a_later_run_after_its_backoff(
    runtime: Runtime, client: httpx.AsyncClient, fake_dcsa: FakeDcsaState
) -> None:
    registry = fast_registry()
    await dcsa_carrier(runtime, fake_dcsa, registry)
    world = await closed_sailing(runtime, client, scac="DCSA")
    fake_dcsa.fault = "503"

    failed = await run_manifests(runtime, registry)

    assert (failed.retrying, failed.submitted) == (1, 0)
    (version,) = await manifest_versions(runtime, world.sailing_id)
    assert (version.delivery_state, version.attempts) == ("pending", 1)
    assert "503" in (version.last_error or "")
    calls = fake_dcsa.calls
    assert (await run_manifests(runtime, registry)).retrying == 0  # not due yet: nothing sent
    assert fake_dcsa.calls == calls

    fake_dcsa.fault = None
    runtime.clock.advance(3600)
    retried = await run_manifests(runtime, registry)

    assert retried.submitted == 1
    (version,) = await manifest_versions(runtime, world.sailing_id)
    assert (version.delivery_state, version.attempts, version.decision) == ("submitted", 2, "accepted")
    assert len(fake_dcsa.shipping_instructions) == 1


class RefusingCarrier(SimulatedCarrier):
    """A carrier that refuses every manifest, as a 400 with its reason."""

    async def submit_manifest(self, manifest: Manifest) -> ManifestReceipt:
        raise PermanentCarrierError(self.scac, "house bill SPHB-1: consignee address missing", status=400)


async def test_a_rejection_is_recorded_with_its_event(runtime: Runtime, client: httpx.AsyncClient) -> None:
    registry = fast_registry()
    world = await closed_sailing(runtime, client, scac="RFSE")
    settings = SimulatedSettings(seed=1, lanes=["CNSHA-USLAX"], weeks=1)
    registry.install("RFSE", "simulated", {}, RefusingCarrier("RFSE", settings))

    report = await run_manifests(runtime, registry)

    assert report.rejected == 1
    (version,) = await manifest_versions(runtime, world.sailing_id)
    assert (version.delivery_state, version.decision) == ("failed", "rejected")
    assert "consignee address missing" in (version.decision_reason or "")
    (rejected,) = await events_of(runtime, "manifest.rejected")
    assert rejected["version"] == 1
    assert "consignee address missing" in rejected["reason"]
    assert await events_of(runtime, "manifest.accepted") == []
    # Refused content is not sent again; a changed manifest would be.
    assert (await run_manifests(runtime, registry)).rejected == 0


class DecliningCarrier(SimulatedCarrier):
    """Takes the manifest but does not accept it (its receipt says so)."""

    async def submit_manifest(self, manifest: Manifest) -> ManifestReceipt:
        return ManifestReceipt(carrier_reference="IN-7", accepted=False)


async def test_a_receipt_that_does_not_accept_is_a_submission_and_a_rejection(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    registry = fast_registry()
    world = await closed_sailing(runtime, client, scac="DECL")
    registry.install(
        "DECL", "simulated", {}, DecliningCarrier("DECL", SimulatedSettings(seed=1, lanes=[], weeks=1))
    )

    await run_manifests(runtime, registry)

    (version,) = await manifest_versions(runtime, world.sailing_id)
    assert (version.delivery_state, version.decision, version.receipt_reference) == (
        "submitted",
        "rejected",
        "IN-7",
    )
    assert [e["receipt_reference"] for e in await events_of(runtime, "manifest.submitted")] == ["IN-7"]
    assert [e["receipt_reference"] for e in await events_of(runtime, "manifest.rejected")] == ["IN-7"]


async def test_a_version_failing_every_attempt_is_given_up_with_a_rejection_event(
    runtime: Runtime, client: httpx.AsyncClient, fake_dcsa: FakeDcsaState
) -> None:
    rt = dataclasses.replace(
        runtime, settings=msgspec.structs.replace(runtime.settings, manifest_max_attempts=2)
    )
    registry = fast_registry()
    await dcsa_carrier(rt, fake_dcsa, registry)
    world = await closed_sailing(rt, client, scac="DCSA")
    fake_dcsa.fault = "500"

    await run_manifests(rt, registry)
    rt.clock.advance(3600)
    last = await run_manifests(rt, registry)

    assert last.given_up == 1
    (version,) = await manifest_versions(rt, world.sailing_id)
    assert (version.delivery_state, version.attempts, version.next_attempt_at) == ("failed", 2, None)
    (rejected,) = await events_of(rt, "manifest.rejected")
    assert rejected["reason"].startswith("not delivered after 2 attempts")
    rt.clock.advance(86400)
    assert (await run_manifests(rt, registry)).retrying == 0
