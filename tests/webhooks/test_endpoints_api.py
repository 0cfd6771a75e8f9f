"""Webhook endpoints over HTTP: registered per organisation with a secret shown once and stored
sealed, validated (event types, https, public addresses), changed, deleted, redelivered."""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

import httpx
import msgspec
import pytest
from sqlalchemy import select

from app.accounts.actor import OrgKind, Scope
from app.db import transaction
from app.main import create_app
from app.runtime import Runtime
from app.webhooks import addresses
from app.webhooks.repository import deliveries, endpoints
from tests.factories import World, fcl_hold, make_account
from tests.webhooks.flows import deliver_until, register
from tests.webhooks.receiver import Behaviour, Receiver

PUBLIC = "https://hooks.example.com/slotpool"


@pytest.fixture(autouse=True)
def public_dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Names resolve through this table (tests have no DNS); hooks.example.com is public."""
    table = {"hooks.example.com": ["93.184.216.34"], "internal.example.com": ["10.20.30.40"]}
    real = addresses.resolve

    async def resolve(host: str, port: int) -> list[addresses.IPAddress]:
        if host in table:
            return [ipaddress.ip_address(a) for a in table[host]]
        return await real(host, port)

    monkeypatch.setattr(addresses, "resolve", resolve)
    return table


@asynccontextmanager
async def production_client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """The app as deployed: loopback endpoints not allowed."""
    settings = msgspec.structs.replace(runtime.settings, webhook_allow_loopback=False)
    rt = Runtime(settings=settings, engine=runtime.engine, clock=runtime.clock)
    transport = httpx.ASGITransport(app=create_app(runtime=rt))
    async with httpx.AsyncClient(transport=transport, base_url="http://slotpool.test") as client:
        yield client


async def test_the_secret_is_shown_once_stored_sealed_and_never_replayed(
    runtime: Runtime, client: httpx.AsyncClient, world: World
) -> None:
    body = {"url": PUBLIC, "event_types": ["hold.expired", "hold.created"], "description": "checkout"}
    headers = world.shipper.posting("endpoint-1")
    created = await client.post("/v1/webhook-endpoints", json=body, headers=headers)

    assert created.status_code == 201, created.text
    endpoint = created.json()
    assert endpoint["secret"].startswith("whsec_")
    assert created.headers["location"] == f"/v1/webhook-endpoints/{endpoint['id']}"
    assert endpoint["event_types"] == ["hold.created", "hold.expired"]
    assert endpoint["enabled"] is True
    async with transaction(runtime.engine, read_only=True) as conn:
        sealed = (await conn.execute(select(endpoints.c.secret_sealed))).scalar_one()
    assert endpoint["secret"] not in sealed
    assert runtime.secrets.open(sealed) == endpoint["secret"]

    replay = await client.post("/v1/webhook-endpoints", json=body, headers=headers)
    assert replay.status_code == 201
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json() == {**endpoint, "secret": None}
    read = await client.get(f"/v1/webhook-endpoints/{endpoint['id']}", headers=world.shipper.headers)
    assert "secret" not in read.json()
    listed = await client.get("/v1/webhook-endpoints", headers=world.shipper.headers)
    assert [e["id"] for e in listed.json()] == [endpoint["id"]]
    missing_key = await client.post("/v1/webhook-endpoints", json=body, headers=world.shipper.headers)
    assert missing_key.status_code == 400


async def test_endpoints_belong_to_their_organisation(client: httpx.AsyncClient, world: World) -> None:
    endpoint = await register(client, world.shipper, PUBLIC)
    path = f"/v1/webhook-endpoints/{endpoint['id']}"
    stranger = world.other_shipper
    assert (await client.get(path, headers=stranger.headers)).status_code == 404
    assert (await client.patch(path, json={"enabled": False}, headers=stranger.headers)).status_code == 404
    assert (await client.delete(path, headers=stranger.headers)).status_code == 404
    assert (await client.get(f"{path}/attempts", headers=stranger.headers)).status_code == 404
    rotate = await client.post(f"{path}/rotate-secret", json={}, headers=stranger.posting())
    assert rotate.status_code == 404
    assert (await client.get("/v1/webhook-endpoints", headers=stranger.headers)).json() == []


async def test_carriers_and_read_only_keys_cannot_register(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    carrier = await make_account(runtime, OrgKind.CARRIER)
    reader = await make_account(runtime, OrgKind.SHIPPER, scopes=[Scope.READ])
    for account in (carrier, reader):
        response = await client.post("/v1/webhook-endpoints", json={"url": PUBLIC}, headers=account.posting())
        assert response.status_code == 403


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://hooks.example.com/x", "must start with https://"),
        ("https://10.0.0.1/x", "10.0.0.1, a private address"),
        ("https://192.168.0.5/x", "a private address"),
        ("https://169.254.169.254/latest/meta-data", "a cloud metadata address"),
        ("https://[fd00:ec2::254]/x", "a cloud metadata address"),
        ("https://169.254.1.1/x", "a link-local address"),
        ("https://[fe80::1]/x", "a link-local address"),
        ("https://224.0.0.1/x", "a multicast address"),
        ("https://internal.example.com/x", "resolves to 10.20.30.40, a private address"),
        ("https://127.0.0.1:8443/x", "a loopback address"),
        ("http://127.0.0.1:8080/x", "must start with https://"),
        ("https://localhost/x", "a loopback address"),
    ],
)
async def test_urls_that_could_reach_inside_are_refused_naming_why(
    runtime: Runtime, world: World, url: str, reason: str
) -> None:
    async with production_client(runtime) as client:
        response = await client.post(
            "/v1/webhook-endpoints", json={"url": url}, headers=world.shipper.posting()
        )
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["type"] == "/problems/validation-error"
    assert problem["errors"][0]["field"] == "url"
    assert reason in problem["detail"]


async def test_loopback_is_accepted_when_the_development_setting_allows_it(
    client: httpx.AsyncClient, world: World
) -> None:
    for url in ("http://127.0.0.1:8080/hook", "http://localhost:8080/hook", "https://[::1]:8443/hook"):
        await register(client, world.shipper, url)
    refused = await client.post(
        "/v1/webhook-endpoints", json={"url": "http://10.0.0.1/hook"}, headers=world.shipper.posting()
    )
    assert refused.status_code == 422


async def test_unknown_event_types_are_refused_by_name(client: httpx.AsyncClient, world: World) -> None:
    response = await client.post(
        "/v1/webhook-endpoints",
        json={"url": PUBLIC, "event_types": ["hold.created", "hold.teleported"]},
        headers=world.shipper.posting(),
    )
    assert response.status_code == 422
    assert "hold.teleported" in response.json()["detail"]
    empty = await client.post(
        "/v1/webhook-endpoints", json={"url": PUBLIC, "event_types": []}, headers=world.shipper.posting()
    )
    assert empty.status_code == 422


async def test_changes_are_checked_like_a_registration_and_apply_whole_or_not_at_all(
    client: httpx.AsyncClient, world: World
) -> None:
    endpoint = await register(client, world.shipper, PUBLIC, event_types=["hold.created"])
    path = f"/v1/webhook-endpoints/{endpoint['id']}"
    refused = await client.patch(
        path, json={"url": "https://10.0.0.9/x", "description": "moved"}, headers=world.shipper.headers
    )
    assert refused.status_code == 422
    unchanged = (await client.get(path, headers=world.shipper.headers)).json()
    assert (unchanged["url"], unchanged["description"]) == (PUBLIC, "")

    changed = await client.patch(
        path,
        json={"description": "all events", "event_types": None, "url": "https://hooks.example.com/v2"},
        headers=world.shipper.headers,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["event_types"] is None
    assert changed.json()["url"] == "https://hooks.example.com/v2"
    assert changed.json()["updated_at"] >= endpoint["updated_at"]
    bad_type = await client.patch(path, json={"event_types": ["nope"]}, headers=world.shipper.headers)
    assert bad_type.status_code == 422


async def test_disabling_or_deleting_gives_up_what_is_owed(
    runtime: Runtime, client: httpx.AsyncClient, world: World, receiver: Receiver
) -> None:
    receiver.behaviours["/hook"] = Behaviour(fail_first=1)
    endpoint = await register(client, world.shipper, receiver.url())
    path = f"/v1/webhook-endpoints/{endpoint['id']}"
    await client.post("/v1/holds", json=fcl_hold(world.sailing.id), headers=world.shipper.posting())
    await deliver_until(runtime, lambda: len(receiver.requests) == 1)  # failed: a retry is owed
    await client.patch(path, json={"enabled": False}, headers=world.shipper.headers)
    await client.post("/v1/holds", json=fcl_hold(world.sailing.id), headers=world.shipper.posting())
    runtime.clock.advance(3600)
    await deliver_until(runtime, lambda: True)
    assert len(receiver.requests) == 1

    enabled = await client.patch(path, json={"enabled": True}, headers=world.shipper.headers)
    assert enabled.json()["enabled"] is True
    await client.post("/v1/holds", json=fcl_hold(world.sailing.id), headers=world.shipper.posting())
    runtime.clock.advance(3600)
    await deliver_until(runtime, lambda: len(receiver.requests) == 2)
    await deliver_until(runtime, lambda: True)
    assert len(receiver.requests) == 2
    async with transaction(runtime.engine, read_only=True) as conn:
        states = sorted((await conn.execute(select(deliveries.c.state))).scalars())
    # What was owed when it was disabled was given up; what happened meanwhile was never owed.
    assert states == ["delivered", "given_up"]

    receiver.behaviours["/hook"] = Behaviour(status=500)
    await client.post("/v1/holds", json=fcl_hold(world.sailing.id), headers=world.shipper.posting())
    await deliver_until(runtime, lambda: len(receiver.requests) == 3)  # failed: a retry is owed
    deleted = await client.delete(path, headers=world.shipper.headers)
    assert deleted.status_code == 204
    assert (await client.get(path, headers=world.shipper.headers)).status_code == 404
    assert (await client.get("/v1/webhook-endpoints", headers=world.shipper.headers)).json() == []
    assert (await client.delete(path, headers=world.shipper.headers)).status_code == 404
    runtime.clock.advance(3600)
    await client.post("/v1/holds", json=fcl_hold(world.sailing.id), headers=world.shipper.posting())
    await deliver_until(runtime, lambda: True)
    assert len(receiver.requests) == 3  # nothing owed, nothing sent
    async with transaction(runtime.engine, read_only=True) as conn:
        states = sorted((await conn.execute(select(deliveries.c.state))).scalars())
        secret = (await conn.execute(select(endpoints.c.secret_sealed))).scalar_one()
    # Kept until the purge takes them with their events; the secret is gone at once.
    assert states == ["delivered", "given_up", "given_up"]
    assert secret == ""


async def test_redelivery_sends_an_event_again_under_its_webhook_id(
    runtime: Runtime, client: httpx.AsyncClient, world: World, receiver: Receiver
) -> None:
    endpoint = await register(client, world.shipper, receiver.url())
    path = f"/v1/webhook-endpoints/{endpoint['id']}"
    before = datetime.now().astimezone() - timedelta(minutes=1)
    for _ in range(3):
        await client.post("/v1/holds", json=fcl_hold(world.sailing.id), headers=world.shipper.posting())
    await deliver_until(runtime, lambda: len(receiver.requests) == 3)
    first = receiver.requests[0].headers["webhook-id"]

    again = await client.post(f"{path}/redeliver", json={"event_id": first}, headers=world.shipper.posting())
    assert again.status_code == 202, again.text
    assert again.json() == {"endpoint_id": endpoint["id"], "scheduled": 1}
    await deliver_until(runtime, lambda: len(receiver.requests) == 4)
    assert receiver.requests[3].headers["webhook-id"] == first

    window = {"since": before.isoformat(), "until": (before + timedelta(hours=1)).isoformat()}
    ranged = await client.post(f"{path}/redeliver", json=window, headers=world.shipper.posting())
    assert ranged.json()["scheduled"] == 3
    await deliver_until(runtime, lambda: len(receiver.requests) == 7)
    attempts = (await client.get(f"{path}/attempts?limit=2", headers=world.shipper.headers)).json()
    assert len(attempts["items"]) == 2
    assert attempts["next_cursor"] is not None
    older = await client.get(
        f"{path}/attempts?cursor={attempts['next_cursor']}", headers=world.shipper.headers
    )
    assert len(older.json()["items"]) == 5


async def test_redelivery_refuses_what_it_cannot_do(
    runtime: Runtime, client: httpx.AsyncClient, world: World, receiver: Receiver
) -> None:
    endpoint = await register(client, world.shipper, receiver.url())
    path = f"/v1/webhook-endpoints/{endpoint['id']}/redeliver"
    await client.post("/v1/holds", json=fcl_hold(world.sailing.id), headers=world.other_shipper.posting())
    await deliver_until(runtime, lambda: True)
    feed = (await client.get("/v1/events", headers=world.other_shipper.headers)).json()
    someone_elses = feed["items"][0]["id"]
    now = datetime.now().astimezone()

    cases = [
        ({"event_id": someone_elses}, 404),
        ({"event_id": str(uuid.uuid4())}, 404),
        ({}, 422),
        ({"event_id": someone_elses, "since": now.isoformat()}, 422),
        ({"since": now.isoformat()}, 422),
        ({"since": now.isoformat(), "until": (now - timedelta(hours=1)).isoformat()}, 422),
    ]
    for body, status in cases:
        response = await client.post(path, json=body, headers=world.shipper.posting())
        assert response.status_code == status, (body, response.text)
    await client.patch(
        f"/v1/webhook-endpoints/{endpoint['id']}", json={"enabled": False}, headers=world.shipper.headers
    )
    window = {"since": now.isoformat(), "until": (now + timedelta(hours=1)).isoformat()}
    disabled = await client.post(path, json=window, headers=world.shipper.posting())
    assert disabled.status_code == 409
