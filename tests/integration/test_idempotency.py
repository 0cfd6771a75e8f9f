"""Idempotency-Key on every mutating POST (DESIGN section 6), seen from the client."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import msgspec
import pytest
from sqlalchemy import func, select

from app.accounts import service as accounts
from app.accounts.actor import OrgKind
from app.accounts.schemas import ApiKeyCreate
from app.db import table_of, transaction
from app.events import idempotency
from app.events.models import IdempotencyRecord, OutboxEvent
from app.reservations import holds as hold_service
from app.reservations.invariants import check_invariants
from app.reservations.repository import bookings, holds
from app.reservations.schemas import HoldCreate
from app.runtime import Runtime
from tests.factories import World, confirmation, fcl_hold

Client = httpx.AsyncClient
records = table_of(IdempotencyRecord)
outbox_events = table_of(OutboxEvent)


async def count(runtime: Runtime, table: Any) -> int:
    async with transaction(runtime.engine, read_only=True) as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


async def free_units(client: Client, world: World) -> int:
    response = await client.get(f"/v1/sailings/{world.sailing.id}", headers=world.shipper.headers)
    return int(response.json()["fcl"][0]["units_free"])


def encoded(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()


async def test_same_key_and_body_replays_the_first_answer_and_holds_once(
    client: Client, world: World, runtime: Runtime
) -> None:
    headers = world.shipper.posting("checkout-42")
    body = fcl_hold(world.sailing.id, 3)

    first = await client.post("/v1/holds", json=body, headers=headers)
    replay = await client.post("/v1/holds", json=body, headers=headers)

    assert first.status_code == replay.status_code == 201, first.text
    assert replay.json() == first.json()
    assert replay.headers["location"] == first.headers["location"]
    assert replay.headers["content-type"].startswith("application/json")
    assert "idempotent-replayed" not in first.headers
    assert replay.headers["idempotent-replayed"] == "true"
    assert await count(runtime, holds) == 1
    assert await free_units(client, world) == 7
    assert await check_invariants(runtime) == []


async def test_a_replayed_confirm_books_once(client: Client, world: World, runtime: Runtime) -> None:
    hold = (
        await client.post("/v1/holds", json=fcl_hold(world.sailing.id, 2), headers=world.shipper.posting())
    ).json()
    headers = world.shipper.posting()

    first = await client.post(f"/v1/holds/{hold['id']}/confirm", json=confirmation(), headers=headers)
    replay = await client.post(f"/v1/holds/{hold['id']}/confirm", json=confirmation(), headers=headers)

    assert first.status_code == replay.status_code == 201, first.text
    assert replay.json() == first.json()
    assert replay.headers["etag"] == first.headers["etag"] == '"v1"'
    assert replay.headers["idempotent-replayed"] == "true"
    assert await count(runtime, bookings) == 1
    assert await check_invariants(runtime) == []


async def test_same_key_with_another_body_is_refused(client: Client, world: World, runtime: Runtime) -> None:
    headers = world.shipper.posting()
    first = await client.post("/v1/holds", json=fcl_hold(world.sailing.id, 1), headers=headers)

    other = await client.post("/v1/holds", json=fcl_hold(world.sailing.id, 2), headers=headers)

    assert first.status_code == 201, first.text
    assert other.status_code == 422
    assert other.headers["content-type"].startswith("application/problem+json")
    assert other.json()["type"] == "/problems/idempotency-key-reused"
    assert await count(runtime, holds) == 1
    assert await free_units(client, world) == 9


async def test_same_key_on_another_path_is_refused(client: Client, world: World) -> None:
    """The fingerprint covers method and path, not only the body."""
    booking_hold = (
        await client.post("/v1/holds", json=fcl_hold(world.sailing.id, 1), headers=world.shipper.posting())
    ).json()
    headers = world.shipper.posting()
    confirmed = await client.post(
        f"/v1/holds/{booking_hold['id']}/confirm", json=confirmation(), headers=headers
    )
    reference = confirmed.json()["reference"]

    cancel = await client.post(f"/v1/bookings/{reference}/cancel", headers=headers)

    assert cancel.status_code == 422
    assert cancel.json()["type"] == "/problems/idempotency-key-reused"


async def test_every_post_needs_an_idempotency_key(client: Client, world: World, runtime: Runtime) -> None:
    hold = (
        await client.post("/v1/holds", json=fcl_hold(world.sailing.id, 1), headers=world.shipper.posting())
    ).json()
    shipper_posts: list[tuple[str, dict[str, Any] | None]] = [
        ("/v1/holds", fcl_hold(world.sailing.id, 1)),
        (f"/v1/holds/{hold['id']}/confirm", confirmation()),
    ]

    answers = [
        await client.post(path, json=body, headers=world.shipper.headers) for path, body in shipper_posts
    ]
    answers.append(
        await client.post("/v1/shippers", json={"name": "Cart Co"}, headers=world.marketplace.headers)
    )
    answers.append(
        await client.post(
            "/v1/admin/carriers", json={"scac": "ZZZZ", "name": "Zed Lines"}, headers=world.operator.headers
        )
    )

    for answer in answers:
        assert answer.status_code == 400, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.json()["type"] == "/problems/idempotency-key-missing"
    assert await count(runtime, holds) == 1
    assert await count(runtime, bookings) == 0
    assert await free_units(client, world) == 9


async def test_cancel_without_an_idempotency_key_is_refused(client: Client, world: World) -> None:
    hold = (
        await client.post("/v1/holds", json=fcl_hold(world.sailing.id, 1), headers=world.shipper.posting())
    ).json()
    booking = (
        await client.post(
            f"/v1/holds/{hold['id']}/confirm", json=confirmation(), headers=world.shipper.posting()
        )
    ).json()

    response = await client.post(f"/v1/bookings/{booking['reference']}/cancel", headers=world.shipper.headers)

    assert response.status_code == 400
    assert response.json()["type"] == "/problems/idempotency-key-missing"
    read = await client.get(f"/v1/bookings/{booking['reference']}", headers=world.shipper.headers)
    assert read.json()["state"] == "confirmed"


async def test_a_business_error_is_stored_and_replayed_even_after_space_frees(
    client: Client, world: World, runtime: Runtime
) -> None:
    big = (
        await client.post("/v1/holds", json=fcl_hold(world.sailing.id, 8), headers=world.shipper.posting())
    ).json()
    headers = world.shipper.posting()
    body = fcl_hold(world.sailing.id, 5)
    refused = await client.post("/v1/holds", json=body, headers=headers)
    await client.delete(f"/v1/holds/{big['id']}", headers=world.shipper.headers)

    replay = await client.post("/v1/holds", json=body, headers=headers)

    assert refused.status_code == 409
    assert refused.json()["type"] == "/problems/insufficient-capacity"
    assert replay.status_code == 409
    assert replay.headers["content-type"].startswith("application/problem+json")
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json() == refused.json()
    assert await free_units(client, world) == 10
    fresh = await client.post("/v1/holds", json=body, headers=world.shipper.posting())
    assert fresh.status_code == 201, fresh.text


async def test_keys_are_scoped_per_api_key(client: Client, world: World, runtime: Runtime) -> None:
    second = await accounts.create_api_key(
        runtime, world.shipper.organisation_id, ApiKeyCreate(name="second")
    )
    assert second.key is not None
    body = fcl_hold(world.sailing.id, 1)
    key = "shared-key-1"

    mine = await client.post("/v1/holds", json=body, headers=world.shipper.posting(key))
    my_colleague = await client.post(
        "/v1/holds", json=body, headers={"Authorization": f"Bearer {second.key}", "Idempotency-Key": key}
    )
    other_org = await client.post("/v1/holds", json=body, headers=world.other_shipper.posting(key))

    answers = [mine, my_colleague, other_org]
    assert [a.status_code for a in answers] == [201, 201, 201]
    assert all("idempotent-replayed" not in a.headers for a in answers)
    assert len({a.json()["id"] for a in answers}) == 3
    assert await count(runtime, holds) == 3
    assert await free_units(client, world) == 7


async def test_a_key_in_flight_is_refused_until_its_lease_passes(
    client: Client, world: World, runtime: Runtime
) -> None:
    body = encoded(fcl_hold(world.sailing.id, 2))
    key = "in-flight-1"
    stalled = await idempotency.begin(
        runtime,
        world.shipper.actor.api_key_id,
        key,
        idempotency.fingerprint("POST", "/v1/holds", body),
    )
    assert isinstance(stalled, idempotency.Lease)
    headers = {**world.shipper.posting(key), "Content-Type": "application/json"}

    in_flight = await client.post("/v1/holds", content=body, headers=headers)
    runtime.clock.advance(runtime.settings.idempotency_lease_seconds + 1)
    taken_over = await client.post("/v1/holds", content=body, headers=headers)

    assert in_flight.status_code == 409
    assert in_flight.json()["type"] == "/problems/idempotency-key-in-flight"
    assert taken_over.status_code == 201, taken_over.text
    assert "idempotent-replayed" not in taken_over.headers
    assert await count(runtime, holds) == 1
    # The stalled request lost its lease: it can no longer store an answer under the key.
    with pytest.raises(idempotency.IdempotencyKeyInFlight):
        await idempotency.store_alone(
            runtime, stalled, idempotency.Replay(status=500, body=b"{}", headers={})
        )
    replay = await client.post("/v1/holds", content=body, headers=headers)
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json() == taken_over.json()


async def test_concurrent_duplicates_of_a_hold_hold_once_and_answer_alike(
    client: Client, world: World, runtime: Runtime
) -> None:
    """A hold does not claim its key first: its record goes in with the hold. Duplicates sent
    at once wait on the key's unique index and replay the first; none holds again."""
    body = fcl_hold(world.sailing.id, 2)
    headers = world.shipper.posting("same-key-at-once")

    answers = await asyncio.gather(*(client.post("/v1/holds", json=body, headers=headers) for _ in range(8)))

    assert [a.status_code for a in answers] == [201] * 8, [a.text for a in answers]
    assert len({a.text for a in answers}) == 1
    assert sum("idempotent-replayed" not in a.headers for a in answers) == 1
    assert await count(runtime, holds) == 1
    assert await count(runtime, records) == 1
    assert await free_units(client, world) == 8
    assert await check_invariants(runtime) == []


async def test_a_hold_whose_request_lost_its_lease_changes_nothing(
    client: Client, world: World, runtime: Runtime
) -> None:
    """The stalled request wakes up after another took its key over and places its hold. On
    PostgreSQL the hold is one self-committing statement: it must not claim space, insert the
    hold or record its event once the lease is gone."""
    body = fcl_hold(world.sailing.id, 2)
    key = "stalled-hold"
    actor = world.shipper.actor
    stalled = await idempotency.begin(
        runtime, actor.api_key_id, key, idempotency.fingerprint("POST", "/v1/holds", encoded(body))
    )
    assert isinstance(stalled, idempotency.Lease)
    runtime.clock.advance(runtime.settings.idempotency_lease_seconds + 1)
    headers = {**world.shipper.posting(key), "Content-Type": "application/json"}
    taken_over = await client.post("/v1/holds", content=encoded(body), headers=headers)
    assert taken_over.status_code == 201, taken_over.text
    events_before = await count(runtime, outbox_events)

    finish = idempotency.Finish(stalled, 201, lambda view: {})
    with pytest.raises(idempotency.IdempotencyKeyInFlight):
        await hold_service.place_hold(runtime, actor, msgspec.convert(body, HoldCreate), finish)

    assert await count(runtime, holds) == 1
    assert await count(runtime, outbox_events) == events_before
    assert await free_units(client, world) == 8
    assert await check_invariants(runtime) == []
    replay = await client.post("/v1/holds", content=encoded(body), headers=headers)
    assert replay.json() == taken_over.json()


async def test_a_key_in_flight_with_another_body_is_reused_not_in_flight(
    client: Client, world: World, runtime: Runtime
) -> None:
    key = "in-flight-2"
    await idempotency.begin(
        runtime,
        world.shipper.actor.api_key_id,
        key,
        idempotency.fingerprint("POST", "/v1/holds", encoded(fcl_hold(world.sailing.id, 1))),
    )

    response = await client.post(
        "/v1/holds", json=fcl_hold(world.sailing.id, 4), headers=world.shipper.posting(key)
    )

    assert response.status_code == 422
    assert response.json()["type"] == "/problems/idempotency-key-reused"


async def test_api_key_issuance_replay_answers_key_null(
    client: Client, world: World, runtime: Runtime
) -> None:
    org = await client.post(
        "/v1/admin/organisations",
        json={"name": "Forwarder One", "kind": "shipper"},
        headers=world.operator.posting(),
    )
    assert org.status_code == 201, org.text
    path = f"/v1/admin/organisations/{org.json()['id']}/api-keys"
    headers = world.operator.posting()

    issued = await client.post(path, json={"name": "checkout"}, headers=headers)
    replay = await client.post(path, json={"name": "checkout"}, headers=headers)

    assert issued.status_code == replay.status_code == 201, issued.text
    clear_key = issued.json()["key"]
    assert clear_key.startswith("sp_")
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json() == {**issued.json(), "key": None}
    works = await client.get("/v1/sailings", headers={"Authorization": f"Bearer {clear_key}"})
    assert works.status_code == 200
    async with transaction(runtime.engine, read_only=True) as conn:
        stored = (await conn.execute(select(records.c.response_body))).scalars().all()
    assert all(clear_key.encode() not in body for body in stored if body is not None)


async def test_a_registered_shipper_is_replayed_not_registered_twice(
    client: Client, world: World, runtime: Runtime
) -> None:
    headers = world.marketplace.posting()

    first = await client.post("/v1/shippers", json={"name": "Cart Co"}, headers=headers)
    replay = await client.post("/v1/shippers", json={"name": "Cart Co"}, headers=headers)

    assert first.status_code == 201, first.text
    assert replay.status_code == 201, replay.text
    assert replay.json() == first.json()
    assert replay.headers["idempotent-replayed"] == "true"


async def test_an_organisation_is_created_once_however_late_the_retry(
    client: Client, world: World, runtime: Runtime
) -> None:
    headers = world.operator.posting()
    body = {"name": "Forwarder Two", "kind": "marketplace"}

    first = await client.post("/v1/admin/organisations", json=body, headers=headers)
    runtime.clock.advance(runtime.settings.idempotency_lease_seconds + 1)
    retry = await client.post("/v1/admin/organisations", json=body, headers=headers)

    listed = await client.get("/v1/admin/organisations", headers=world.operator.headers)
    named = [o for o in listed.json() if o["name"] == "Forwarder Two"]
    assert first.status_code == 201, first.text
    assert retry.json()["id"] == first.json()["id"]
    assert len(named) == 1
    assert OrgKind(named[0]["kind"]) is OrgKind.MARKETPLACE


async def test_an_unknown_hold_answer_is_replayed_as_404(client: Client, world: World) -> None:
    """Business errors of every status are stored, not only 409s."""
    headers = world.shipper.posting()
    body = fcl_hold(uuid.uuid4())

    first = await client.post("/v1/holds", json=body, headers=headers)
    replay = await client.post("/v1/holds", json=body, headers=headers)

    assert first.status_code == replay.status_code == 404
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json() == first.json()
