"""Checkout flows: extending and listing holds, marketplaces' shippers by their own ids, a
marketplace holding for its shippers only, API keys listed, revoked and rotated."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.db import table_of, transaction
from app.events.models import OutboxEvent
from app.runtime import Runtime
from tests.conftest import test_runtime as runtime_on
from tests.factories import World, confirmation, fcl_hold, make_sailing

Client = httpx.AsyncClient
events = table_of(OutboxEvent)


@pytest.fixture
async def runtime(database_url: str) -> AsyncIterator[Runtime]:
    # A hold lives at most 30 minutes in all: extensions reach that limit quickly.
    async with runtime_on(database_url, hold_max_lifetime_seconds=1800) as rt:
        yield rt


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def place(
    client: Client, world: World, sailing_id: uuid.UUID | None = None, **extra: Any
) -> dict[str, Any]:
    body = fcl_hold(sailing_id or world.sailing.id, ttl_seconds=600, **extra)
    response = await client.post("/v1/holds", json=body, headers=world.shipper.posting())
    assert response.status_code == 201, response.text
    return dict(response.json())


async def extend(
    client: Client, world: World, hold_id: str, ttl: int, key: str | None = None
) -> httpx.Response:
    return await client.post(
        f"/v1/holds/{hold_id}/extend", json={"ttl_seconds": ttl}, headers=world.shipper.posting(key)
    )


async def event_payloads(runtime: Runtime, kind: str) -> list[dict[str, Any]]:
    async with transaction(runtime.engine, read_only=True) as conn:
        rows = await conn.execute(select(events.c.payload).where(events.c.type == kind).order_by(events.c.id))
        return [dict(row.payload) for row in rows]


# --- extending a hold -----------------------------------------------------------------------


async def test_an_extended_hold_expires_later_and_says_so_in_an_event(
    client: Client, world: World, runtime: Runtime
) -> None:
    hold = await place(client, world)

    extended = await extend(client, world, hold["id"], 900)

    assert extended.status_code == 200, extended.text
    assert at(extended.json()["expires_at"]) > at(hold["expires_at"])
    assert at(extended.json()["expires_at"]) - at(hold["created_at"]) == pytest.approx(
        timedelta(seconds=900), abs=timedelta(seconds=5)
    )
    [event] = await event_payloads(runtime, "hold.extended")
    assert event["id"] == hold["id"]
    assert at(event["extended_from"]) == at(hold["expires_at"])
    assert at(event["expires_at"]) == at(extended.json()["expires_at"])


async def test_an_extension_stops_at_the_holds_maximum_lifetime(client: Client, world: World) -> None:
    hold = await place(client, world)

    capped = await extend(client, world, hold["id"], 1800)
    again = await extend(client, world, hold["id"], 1800)

    assert at(capped.json()["expires_at"]) == at(hold["created_at"]) + timedelta(seconds=1800)
    assert again.status_code == 409
    assert again.json()["type"] == "/problems/hold-not-extendable"
    assert again.json()["limit"] == "lifetime"


async def test_an_extension_stops_at_the_sailings_cut_off(
    client: Client, world: World, runtime: Runtime
) -> None:
    sailing = await make_sailing(runtime, cut_off_in=timedelta(minutes=15))
    hold = await place(client, world, sailing.id)

    capped = await extend(client, world, hold["id"], 1500)
    again = await extend(client, world, hold["id"], 1500)

    assert at(capped.json()["expires_at"]) == sailing.cut_off
    assert (again.status_code, again.json()["limit"]) == (409, "cut_off")


async def test_a_shorter_ttl_never_shortens_a_hold(client: Client, world: World, runtime: Runtime) -> None:
    hold = await place(client, world)

    response = await extend(client, world, hold["id"], 60)

    assert (response.status_code, response.json()["expires_at"]) == (200, hold["expires_at"])
    assert await event_payloads(runtime, "hold.extended") == []


async def test_an_expired_released_or_confirmed_hold_cannot_be_extended(
    client: Client, world: World, runtime: Runtime
) -> None:
    released = await place(client, world)
    await client.delete(f"/v1/holds/{released['id']}", headers=world.shipper.headers)
    confirmed = await place(client, world)
    await client.post(
        f"/v1/holds/{confirmed['id']}/confirm", json=confirmation(), headers=world.shipper.posting()
    )
    expired = await place(client, world)
    runtime.clock.advance(601)

    answers = {
        name: await extend(client, world, hold["id"], 600)
        for name, hold in (("released", released), ("confirmed", confirmed), ("expired", expired))
    }

    assert {name: (r.status_code, r.json()["type"]) for name, r in answers.items()} == {
        "released": (409, "/problems/invalid-state"),
        "confirmed": (409, "/problems/invalid-state"),
        "expired": (409, "/problems/hold-expired"),
    }
    assert answers["released"].json()["state"] == "released"


async def test_an_extension_is_idempotent_and_needs_a_key(
    client: Client, world: World, runtime: Runtime
) -> None:
    hold = await place(client, world)

    first = await extend(client, world, hold["id"], 900, key="extend-1")
    replay = await extend(client, world, hold["id"], 900, key="extend-1")
    keyless = await client.post(
        f"/v1/holds/{hold['id']}/extend", json={"ttl_seconds": 900}, headers=world.shipper.headers
    )

    assert replay.headers.get("idempotent-replayed") == "true"
    assert replay.json() == first.json()
    assert len(await event_payloads(runtime, "hold.extended")) == 1
    assert (keyless.status_code, keyless.json()["type"]) == (400, "/problems/idempotency-key-missing")


async def test_another_organisations_hold_cannot_be_extended(client: Client, world: World) -> None:
    hold = await place(client, world)

    response = await client.post(
        f"/v1/holds/{hold['id']}/extend", json={"ttl_seconds": 900}, headers=world.other_shipper.posting()
    )

    assert response.status_code == 404


# --- listing holds --------------------------------------------------------------------------


async def test_holds_are_listed_newest_first_by_state_and_sailing_across_pages(
    client: Client, world: World, runtime: Runtime
) -> None:
    other = await make_sailing(runtime)
    placed = [await place(client, world) for _ in range(3)]
    elsewhere = await place(client, world, other.id)
    await client.delete(f"/v1/holds/{placed[0]['id']}", headers=world.shipper.headers)

    seen: list[str] = []
    cursor: str | None = None
    while True:
        params = {"limit": 2, "sailing_id": str(world.sailing.id), **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/v1/holds", params=params, headers=world.shipper.headers)).json()
        seen.extend(item["id"] for item in page["items"])
        if page["next_cursor"] is None:
            break
        cursor = page["next_cursor"]
    active = await client.get("/v1/holds", params={"state": "active"}, headers=world.shipper.headers)
    others = await client.get("/v1/holds", headers=world.other_shipper.headers)
    bogus = await client.get("/v1/holds", params={"state": "bogus"}, headers=world.shipper.headers)

    assert seen == [hold["id"] for hold in reversed(placed)]
    assert {item["id"] for item in active.json()["items"]} == {
        placed[1]["id"],
        placed[2]["id"],
        elsewhere["id"],
    }
    assert others.json()["items"] == []
    assert (bogus.status_code, bogus.json()["type"]) == (422, "/problems/validation-error")


# --- marketplaces and their shippers --------------------------------------------------------


async def test_a_marketplace_must_name_the_shipper_it_holds_for(client: Client, world: World) -> None:
    for extra in ({}, {"on_behalf_of": str(world.marketplace.organisation_id)}):
        response = await client.post(
            "/v1/holds", json=fcl_hold(world.sailing.id, **extra), headers=world.marketplace.posting()
        )

        assert response.status_code == 422, response.text
        assert response.json()["type"] == "/problems/on-behalf-of-required"


async def test_shippers_are_found_by_the_marketplaces_own_id_which_names_one_shipper(
    client: Client, world: World
) -> None:
    created = await client.post(
        "/v1/shippers", json={"name": "Cart Co", "external_id": "cust-1"}, headers=world.marketplace.posting()
    )
    again = await client.post(
        "/v1/shippers", json={"name": "Other", "external_id": "cust-1"}, headers=world.marketplace.posting()
    )
    other_marketplace = await build_world_marketplace(client, world)
    theirs = await client.post(
        "/v1/shippers", json={"name": "Theirs", "external_id": "cust-1"}, headers=other_marketplace
    )

    found = await client.get(
        "/v1/shippers", params={"external_id": "cust-1"}, headers=world.marketplace.headers
    )
    listed = await client.get("/v1/shippers", params={"limit": 1}, headers=world.marketplace.headers)
    by_shipper = await client.get("/v1/shippers", headers=world.shipper.headers)

    assert created.status_code == 201
    assert created.json()["external_id"] == "cust-1"
    assert (again.status_code, again.json()["shipper_id"]) == (409, created.json()["id"])
    assert theirs.status_code == 201  # unique per marketplace, not across marketplaces
    assert [item["id"] for item in found.json()["items"]] == [created.json()["id"]]
    assert listed.json()["next_cursor"] is not None  # world.market_shipper is listed too
    assert by_shipper.status_code == 403


async def build_world_marketplace(client: Client, world: World) -> dict[str, str]:
    """Posting headers of a second marketplace, made by the operator through the API."""
    org = await client.post(
        "/v1/admin/organisations",
        json={"name": "Second Cart", "kind": "marketplace"},
        headers=world.operator.posting(),
    )
    key = await client.post(
        f"/v1/admin/organisations/{org.json()['id']}/api-keys",
        json={"name": "k"},
        headers=world.operator.posting(),
    )
    return {"Authorization": f"Bearer {key.json()['key']}", "Idempotency-Key": uuid.uuid4().hex}


# --- API keys -------------------------------------------------------------------------------


async def test_an_organisation_lists_its_own_keys_and_an_operator_every_key(
    client: Client, world: World
) -> None:
    own = await client.get("/v1/api-keys", headers=world.shipper.headers)
    everyone = await client.get("/v1/api-keys", params={"limit": 200}, headers=world.operator.headers)
    one = await client.get(
        "/v1/api-keys",
        params={"organisation_id": str(world.shipper.organisation_id)},
        headers=world.operator.headers,
    )

    assert [item["id"] for item in own.json()["items"]] == [str(world.shipper.actor.api_key_id)]
    assert "key" not in own.json()["items"][0]
    assert len(everyone.json()["items"]) == 5
    assert [item["id"] for item in one.json()["items"]] == [str(world.shipper.actor.api_key_id)]


async def test_a_revoked_key_is_refused_and_another_organisations_key_cannot_be_revoked(
    client: Client, world: World
) -> None:
    key_id = world.shipper.actor.api_key_id

    foreign = await client.delete(f"/v1/api-keys/{key_id}", headers=world.other_shipper.headers)
    revoked = await client.delete(f"/v1/api-keys/{key_id}", headers=world.shipper.headers)
    after = await client.get("/v1/holds", headers=world.shipper.headers)
    other_still = await client.get("/v1/holds", headers=world.other_shipper.headers)

    assert foreign.status_code == 404
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    assert after.status_code == 401
    assert other_still.status_code == 200


async def test_a_rotated_key_is_replaced_at_once_or_after_its_overlap(
    client: Client, world: World, runtime: Runtime
) -> None:
    shipper_key = world.shipper.actor.api_key_id
    rotated = await client.post(
        f"/v1/api-keys/{shipper_key}/rotate", json={}, headers=world.shipper.posting()
    )
    new_headers = {"Authorization": f"Bearer {rotated.json()['key']}"}
    old_refused = await client.get("/v1/holds", headers=world.shipper.headers)
    new_works = await client.get("/v1/holds", headers=new_headers)

    market_key = world.marketplace.actor.api_key_id
    overlapping = await client.post(
        f"/v1/api-keys/{market_key}/rotate", json={"overlap_seconds": 600}, headers=world.operator.posting()
    )
    old_meanwhile = await client.get("/v1/holds", headers=world.marketplace.headers)
    again = await client.post(f"/v1/api-keys/{shipper_key}/rotate", json={}, headers=world.operator.posting())

    assert rotated.status_code == 201, rotated.text
    assert rotated.json()["replaces"] == str(shipper_key)
    assert rotated.json()["scopes"] == ["read", "write"]
    assert (old_refused.status_code, new_works.status_code) == (401, 200)
    assert overlapping.status_code == 201
    assert old_meanwhile.status_code == 200
    assert (again.status_code, again.json()["type"]) == (409, "/problems/invalid-state")


async def test_a_key_rotation_replays_without_the_key(client: Client, world: World) -> None:
    path = f"/v1/api-keys/{world.other_shipper.actor.api_key_id}/rotate"
    first = await client.post(path, json={}, headers=world.operator.posting("rotate-1"))
    replay = await client.post(path, json={}, headers=world.operator.posting("rotate-1"))

    assert first.json()["key"].startswith("sp_")
    assert replay.json()["key"] is None
    assert replay.json()["id"] == first.json()["id"]
