"""Operator endpoints of the carrier sync: health, sync one carrier, sync all."""

from __future__ import annotations

import httpx
import pytest

from app.accounts.actor import OrgKind
from app.runtime import Runtime
from tests.factories import World, make_account
from tests.sync.sync_world import add_carrier, stored_sailings

Client = httpx.AsyncClient


@pytest.fixture
async def carriers(runtime: Runtime) -> None:
    await add_carrier(runtime, "SIMA", seed=1, lanes=["CNSHA-USLAX"])
    await add_carrier(runtime, "SIMX", seed=2, lanes=["TRIST-DEHAM"], error_rate=1.0)


async def test_operator_syncs_everything_and_reads_the_counts_and_notices(
    client: Client, world: World, runtime: Runtime, carriers: None
) -> None:
    response = await client.post("/v1/admin/sync", headers=world.operator.posting())

    assert response.status_code == 200, response.text
    report = response.json()
    discovered = len(await stored_sailings(runtime, "SIMA"))
    # The world's own carrier TEST has no adapter settings: a simulated carrier with defaults.
    discovered_test = len(await stored_sailings(runtime, "TEST")) - 1  # less the world's sailing
    assert discovered > 0
    assert report["changes"]["sailing.discovered"] == discovered + discovered_test
    assert report["changes"]["allotment.cut"] == 0
    notices = {n["scac"]: n for n in report["carriers"]}
    assert notices["SIMA"]["status"] == "ok"
    assert notices["SIMA"]["changes"] == {"sailing.discovered": discovered}
    assert notices["SIMX"]["status"] == "error"
    assert notices["TEST"]["status"] == "ok"


async def test_operator_syncs_one_carrier(
    client: Client, world: World, runtime: Runtime, carriers: None
) -> None:
    response = await client.post("/v1/admin/carriers/SIMA/sync", headers=world.operator.posting())

    assert response.status_code == 200, response.text
    assert [n["scac"] for n in response.json()["carriers"]] == ["SIMA"]
    assert await stored_sailings(runtime, "SIMB") == {}


async def test_sync_replayed_under_the_same_key_answers_the_first_report_without_syncing_again(
    client: Client, world: World, runtime: Runtime, carriers: None
) -> None:
    headers = world.operator.posting("sync-once")
    first = await client.post("/v1/admin/carriers/SIMX/sync", headers=headers)
    replay = await client.post("/v1/admin/carriers/SIMX/sync", headers=headers)

    assert first.status_code == replay.status_code == 200
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json() == first.json()
    health = await client.get("/v1/admin/carriers/health", headers=world.operator.headers)
    simx = next(h for h in health.json() if h["scac"] == "SIMX")
    assert simx["consecutive_failures"] == 1


async def test_sync_needs_an_idempotency_key(client: Client, world: World, carriers: None) -> None:
    response = await client.post("/v1/admin/sync", headers=world.operator.headers)

    assert response.status_code == 400
    assert response.json()["type"] == "/problems/idempotency-key-missing"


async def test_sync_of_an_unknown_carrier_is_not_found(client: Client, world: World) -> None:
    response = await client.post("/v1/admin/carriers/NOPE/sync", headers=world.operator.posting())

    assert response.status_code == 404
    assert response.json()["type"] == "/problems/not-found"


async def test_health_lists_every_carrier_with_kind_health_and_breaker(
    client: Client, world: World, carriers: None
) -> None:
    await client.post("/v1/admin/sync", headers=world.operator.posting())

    response = await client.get("/v1/admin/carriers/health", headers=world.operator.headers)

    assert response.status_code == 200, response.text
    health = {h["scac"]: h for h in response.json()}
    assert set(health) == {"SIMA", "SIMX", "TEST"}
    assert health["SIMA"]["adapter_kind"] == "simulated"
    assert (health["SIMA"]["health"], health["SIMA"]["breaker"]) == ("healthy", "closed")
    assert health["SIMA"]["last_success_at"] is not None
    assert health["SIMA"]["last_error"] is None
    assert health["SIMX"]["health"] == "unhealthy"
    assert health["SIMX"]["last_success_at"] is None
    assert "503" in health["SIMX"]["last_error"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/admin/carriers/health"),
        ("POST", "/v1/admin/sync"),
        ("POST", "/v1/admin/carriers/SIMA/sync"),
    ],
)
async def test_non_operators_are_refused(
    client: Client, world: World, runtime: Runtime, carriers: None, method: str, path: str
) -> None:
    carrier = await make_account(runtime, OrgKind.CARRIER)
    for account in (world.shipper, world.marketplace, carrier):
        response = await client.request(method, path, headers=account.posting())
        assert response.status_code == 403, (account.actor.kind, response.text)
    unauthenticated = await client.request(method, path)
    assert unauthenticated.status_code == 401
    assert await stored_sailings(runtime, "SIMA") == {}
