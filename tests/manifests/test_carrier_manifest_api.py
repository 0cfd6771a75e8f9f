"""A carrier's key reads its own carriers' manifests only (another carrier's is 404), in the
format Accept asks for; operators read every carrier's."""

from __future__ import annotations

import dataclasses
import json

import httpx
import msgspec

from app.accounts.actor import OrgKind
from app.manifests.service import run_manifests
from app.runtime import Runtime
from app.sync.notifications import link_carrier_account
from app.sync.schemas import CarrierAccountLink
from carriers.base import Manifest, ManifestReceipt
from carriers.feed.cuscar import read_cuscar
from carriers.feed.manifest_csv import read_manifest_csv
from carriers.simulated import SimulatedCarrier, SimulatedSettings
from tests.factories import Account, make_account
from tests.manifests.manifest_world import closed_sailing, manifest_versions
from tests.sync.sync_world import fast_registry


class AcceptingCarrier(SimulatedCarrier):
    async def submit_manifest(self, manifest: Manifest) -> ManifestReceipt:
        return ManifestReceipt(carrier_reference=f"R-{manifest.sailing.voyage_number}", accepted=True)


def with_platform_address(rt: Runtime) -> Runtime:
    settings = msgspec.structs.replace(
        rt.settings, nvocc_address="1 Quay Street", nvocc_city="Rotterdam", nvocc_country_code="NL"
    )
    return dataclasses.replace(rt, settings=settings)


async def carrier_key(rt: Runtime, scac: str) -> Account:
    account = await make_account(rt, OrgKind.CARRIER)
    await link_carrier_account(rt, scac, CarrierAccountLink(organisation_id=account.organisation_id))
    return account


@dataclasses.dataclass(frozen=True)
class TwoCarriers:
    key: Account  # CARA's
    own: str  # CARA's manifest
    other: str  # CARB's manifest
    own_sailing: str
    other_sailing: str


async def two_carriers_manifests(runtime: Runtime, client: httpx.AsyncClient) -> TwoCarriers:
    """Carriers CARA and CARB each with a closed sailing and its manifest sent; CARA's key."""
    rt = with_platform_address(runtime)
    registry = fast_registry()
    settings = SimulatedSettings(seed=1, lanes=["CNSHA-USLAX"], weeks=1)
    own = await closed_sailing(rt, client, scac="CARA")
    other = await closed_sailing(rt, client, scac="CARB", shipper=own.shipper)
    for scac in ("CARA", "CARB"):
        registry.install(scac, "simulated", {}, AcceptingCarrier(scac, settings))
    assert (await run_manifests(rt, registry)).submitted == 2
    key = await carrier_key(rt, "CARA")
    listed = await client.get("/v1/carrier/manifests", headers=key.headers)
    assert listed.status_code == 200, listed.text
    (mine,) = listed.json()["items"]
    assert mine["sailing_id"] == str(own.sailing_id)
    operator = await make_account(rt, OrgKind.OPERATOR)
    everything = await client.get("/v1/carrier/manifests", headers=operator.headers)
    ids = {item["sailing_id"]: item["id"] for item in everything.json()["items"]}
    return TwoCarriers(
        key=key,
        own=ids[str(own.sailing_id)],
        other=ids[str(other.sailing_id)],
        own_sailing=str(own.sailing_id),
        other_sailing=str(other.sailing_id),
    )


async def test_a_carrier_key_reads_its_own_manifests_and_not_another_carriers(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    world = await two_carriers_manifests(runtime, client)
    key, own, other = world.key, world.own, world.other

    theirs = await client.get(f"/v1/carrier/manifests/{other}", headers=key.headers)
    their_versions = await client.get(f"/v1/carrier/manifests/{other}/versions", headers=key.headers)
    their_first = await client.get(f"/v1/carrier/manifests/{other}/versions/1", headers=key.headers)
    mine = await client.get(f"/v1/carrier/manifests/{own}", headers=key.headers)

    assert [theirs.status_code, their_versions.status_code, their_first.status_code] == [404, 404, 404]
    assert theirs.headers["content-type"] == "application/problem+json"
    assert mine.status_code == 200
    by_own = await client.get(
        "/v1/carrier/manifests", params={"sailing_id": world.own_sailing}, headers=key.headers
    )
    by_other = await client.get(
        "/v1/carrier/manifests", params={"sailing_id": world.other_sailing}, headers=key.headers
    )
    assert [item["id"] for item in by_own.json()["items"]] == [own]
    assert by_other.json()["items"] == []
    after = await client.get(
        "/v1/carrier/manifests", params={"etd_from": "2999-01-01T00:00:00Z"}, headers=key.headers
    )
    assert after.json()["items"] == []


async def test_a_manifest_is_answered_in_the_format_accept_asks_for(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    world = await two_carriers_manifests(runtime, client)
    key, own = world.key, world.own
    url = f"/v1/carrier/manifests/{own}"

    dcsa = await client.get(url, headers={**key.headers, "Accept": "application/json"})
    edifact = await client.get(url, headers={**key.headers, "Accept": "application/edifact"})
    csv = await client.get(f"{url}/versions/1", headers={**key.headers, "Accept": "text/csv"})
    anything = await client.get(url, headers={**key.headers, "Accept": "*/*"})
    refused = await client.get(url, headers={**key.headers, "Accept": "application/xml"})
    versions = await client.get(f"{url}/versions", headers=key.headers)
    missing = await client.get(f"{url}/versions/2", headers=key.headers)

    assert dcsa.headers["content-type"] == "application/json"
    assert json.loads(dcsa.content)["isHouseBillOfLadingsIssued"] is True
    assert anything.content == dcsa.content
    assert edifact.headers["content-type"] == "application/edifact"
    assert csv.headers["content-type"].startswith("text/csv")
    assert read_cuscar(edifact.content) == read_manifest_csv(csv.text)
    assert len(read_cuscar(edifact.content).containers[0].house_bills) == 3
    assert refused.status_code == 406
    assert refused.json()["type"] == "/problems/not-acceptable"
    assert versions.status_code == 200
    (version,) = versions.json()
    assert (version["number"], version["delivery_state"], version["decision"]) == (1, "submitted", "accepted")
    assert version["formats"] == ["dcsa", "edifact", "csv"]
    assert dcsa.headers["etag"] == f'"{version["checksum"]}"'
    assert missing.status_code == 404


async def test_a_manifest_without_the_platforms_address_has_no_dcsa_rendition(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    world = await closed_sailing(runtime, client, scac="NOAD")
    registry = fast_registry()
    settings = SimulatedSettings(seed=1, lanes=["CNSHA-USLAX"], weeks=1)
    registry.install("NOAD", "simulated", {}, AcceptingCarrier("NOAD", settings))
    await run_manifests(runtime, registry)
    (version,) = await manifest_versions(runtime, world.sailing_id)
    key = await carrier_key(runtime, "NOAD")

    listed = (await client.get("/v1/carrier/manifests", headers=key.headers)).json()["items"]
    answer = await client.get(f"/v1/carrier/manifests/{listed[0]['id']}", headers=key.headers)
    as_csv = await client.get(
        f"/v1/carrier/manifests/{listed[0]['id']}", headers={**key.headers, "Accept": "text/csv"}
    )

    assert "dcsa" in version.render_errors
    assert answer.status_code == 406
    assert "address" in answer.json()["detail"]
    assert as_csv.status_code == 200


async def test_only_carrier_and_operator_keys_read_manifests_and_lists_page(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    await two_carriers_manifests(runtime, client)
    shipper = await make_account(runtime, OrgKind.SHIPPER)
    operator = await make_account(runtime, OrgKind.OPERATOR)

    forbidden = await client.get("/v1/carrier/manifests", headers=shipper.headers)
    first = await client.get("/v1/carrier/manifests", params={"limit": 1}, headers=operator.headers)
    second = await client.get(
        "/v1/carrier/manifests",
        params={"limit": 1, "cursor": first.json()["next_cursor"]},
        headers=operator.headers,
    )

    assert forbidden.status_code == 403
    assert first.json()["next_cursor"] is not None
    assert second.json()["next_cursor"] is None
    assert first.json()["items"][0]["id"] != second.json()["items"][0]["id"]


async def test_an_operator_records_a_containers_number_and_seal_and_the_next_version_carries_them(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    rt = with_platform_address(runtime)
    world = await closed_sailing(rt, client, scac="EQPT")
    registry = fast_registry()
    registry.install(
        "EQPT", "simulated", {}, AcceptingCarrier("EQPT", SimulatedSettings(seed=1, lanes=[], weeks=1))
    )
    await run_manifests(rt, registry)
    operator = await make_account(rt, OrgKind.OPERATOR)
    shipper = await make_account(rt, OrgKind.SHIPPER)
    url = f"/v1/admin/consolidation-containers/{world.container_id}/equipment"

    wrong_digit = await client.put(
        url, json={"equipment_reference": "MSKU1234566", "seal_number": "SL9"}, headers=operator.headers
    )
    refused = await client.put(
        url, json={"equipment_reference": "CSQU3054383", "seal_number": "SL9"}, headers=shipper.headers
    )
    recorded = await client.put(
        url, json={"equipment_reference": "CSQU3054383", "seal_number": "SL9"}, headers=operator.headers
    )
    nowhere = await client.put(
        f"/v1/admin/consolidation-containers/{world.shipper.organisation_id}/equipment",
        json={"equipment_reference": "CSQU3054383", "seal_number": "SL9"},
        headers=operator.headers,
    )
    report = await run_manifests(rt, registry)

    assert wrong_digit.status_code == 422
    assert wrong_digit.json()["errors"][0]["field"] == "equipment_reference"
    assert refused.status_code == 403
    assert recorded.status_code == 200, recorded.text
    assert recorded.json()["equipment_reference"] == "CSQU3054383"
    assert nowhere.status_code == 404
    assert (report.versions_stored, report.submitted) == (1, 1)
    _, second = await manifest_versions(rt, world.sailing_id)
    stored = msgspec.json.decode(second.content, type=Manifest)
    assert (stored.containers[0].container_ref, stored.containers[0].seal_number) == ("CSQU3054383", "SL9")
