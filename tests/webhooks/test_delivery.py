"""Webhook delivery end to end: a receiver on loopback gets every event of a hold -> confirm ->
amend -> cancel flow, signed per Standard Webhooks, at least once and once per webhook-id after
failures; the placing marketplace gets them too; retries, give-up, disabling, rotation."""

from __future__ import annotations

import ipaddress
import json
import uuid
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from app.db import transaction
from app.events import outbox
from app.runtime import Runtime
from app.webhooks import addresses, sender
from app.webhooks.repository import deliveries
from tests.factories import Account, World, confirmation, fcl_hold
from tests.webhooks import tls
from tests.webhooks.flows import attempts_at, deliver_until, register
from tests.webhooks.receiver import Behaviour, Receiver, receiving

FLOW_TYPES = ["hold.created", "hold.confirmed", "booking.confirmed", "booking.amended", "booking.cancelled"]


async def checkout_flow(client: httpx.AsyncClient, marketplace: Account, shipper: Account) -> str:
    """The marketplace holds for its shipper, confirms, amends to 2 units, cancels; the reference."""
    hold = await client.post(
        "/v1/holds",
        json=fcl_hold(await _sailing(client, marketplace), on_behalf_of=str(shipper.organisation_id)),
        headers=marketplace.posting(),
    )
    assert hold.status_code == 201, hold.text
    booked = await client.post(
        f"/v1/holds/{hold.json()['id']}/confirm", json=confirmation(), headers=marketplace.posting()
    )
    assert booked.status_code == 201, booked.text
    reference = booked.json()["reference"]
    amended = await client.patch(
        f"/v1/bookings/{reference}",
        json={"units": 2},
        headers={**marketplace.headers, "If-Match": booked.headers["etag"]},
    )
    assert amended.status_code == 200, amended.text
    cancelled = await client.post(f"/v1/bookings/{reference}/cancel", headers=marketplace.posting())
    assert cancelled.status_code == 200, cancelled.text
    return str(reference)


async def _sailing(client: httpx.AsyncClient, account: Account) -> uuid.UUID:
    sailings = await client.get("/v1/sailings", headers=account.headers)
    return uuid.UUID(sailings.json()["items"][0]["id"])


def delivered_ids(receiver: Receiver, path: str) -> Counter[str]:
    """How many 2xx answers each webhook-id got at ``path``."""
    return Counter(r.headers["webhook-id"] for r in receiver.answered(path) if 200 <= r.status < 300)


def verified(request: Any, secret: str) -> dict[str, Any]:
    payload: dict[str, Any] = Webhook(secret).verify(request.body, request.headers)
    return payload


async def test_owner_and_marketplace_receive_every_event_of_the_flow_signed_once_per_webhook_id(
    runtime: Runtime, client: httpx.AsyncClient, world: World, receiver: Receiver
) -> None:
    # The shipper's endpoint fails its first three requests, then recovers.
    receiver.behaviours["/shipper"] = Behaviour(fail_first=3)
    shipper_endpoint = await register(client, world.market_shipper, receiver.url("/shipper"))
    market_endpoint = await register(
        client, world.marketplace, receiver.url("/market"), event_types=FLOW_TYPES
    )
    other = await register(client, world.other_shipper, receiver.url("/other"))
    reference = await checkout_flow(client, world.marketplace, world.market_shipper)

    await deliver_until(
        runtime,
        lambda: (
            len(delivered_ids(receiver, "/shipper")) == 5 and len(delivered_ids(receiver, "/market")) == 5
        ),
        advance=60,
    )

    for path, endpoint in (("/shipper", shipper_endpoint), ("/market", market_endpoint)):
        ids = delivered_ids(receiver, path)
        assert set(ids.values()) == {1}, f"{path}: a webhook-id was delivered twice: {ids}"
        bodies = [verified(r, endpoint["secret"]) for r in receiver.answered(path)]
        assert sorted({b["type"] for b in bodies}) == sorted(FLOW_TYPES)
        assert {b["id"] for b in bodies} == set(ids)
        assert all(b["version"] == 1 for b in bodies)
        booking_events = [b for b in bodies if b["type"].startswith("booking.")]
        assert {b["data"]["reference"] for b in booking_events} == {reference}
    failed = receiver.answered("/shipper", status=503)
    assert len(failed) == 3
    # Failed attempts were retried: every webhook-id that failed was later answered 2xx.
    assert {r.headers["webhook-id"] for r in failed} <= set(delivered_ids(receiver, "/shipper"))
    assert receiver.answered("/other") == []
    assert other["secret"] != shipper_endpoint["secret"]

    listed = await attempts_at(client, world.market_shipper, shipper_endpoint)
    assert len(listed) == 8
    assert Counter(a["status_code"] for a in listed) == {503: 3, 204: 5}
    assert all(a["error"] == "HTTP 503" for a in listed if a["status_code"] == 503)
    assert all(a["latency_ms"] >= 0 and a["attempted_at"] for a in listed)
    assert {a["delivery_state"] for a in listed} == {"delivered"}


async def test_a_signature_from_another_secret_or_a_changed_body_does_not_verify(
    runtime: Runtime, client: httpx.AsyncClient, world: World, receiver: Receiver
) -> None:
    endpoint = await register(client, world.shipper, receiver.url())
    await client.post("/v1/holds", json=fcl_hold(world.sailing.id), headers=world.shipper.posting())
    await deliver_until(runtime, lambda: len(receiver.requests) == 1)
    request = receiver.requests[0]

    assert verified(request, endpoint["secret"])["type"] == "hold.created"
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 43 + "=").verify(request.body, request.headers)
    tampered = json.loads(request.body)
    tampered["data"]["units"] = 99
    with pytest.raises(WebhookVerificationError):
        Webhook(endpoint["secret"]).verify(json.dumps(tampered), request.headers)


async def test_during_a_rotation_both_secrets_sign_and_after_the_overlap_only_the_new_one(
    runtime: Runtime, client: httpx.AsyncClient, world: World, receiver: Receiver
) -> None:
    endpoint = await register(client, world.shipper, receiver.url())
    old = endpoint["secret"]
    rotated = await client.post(
        f"/v1/webhook-endpoints/{endpoint['id']}/rotate-secret",
        json={"overlap_seconds": 3600},
        headers=world.shipper.posting("rotate-1"),
    )
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]
    assert new.startswith("whsec_")
    assert new != old
    replay = await client.post(
        f"/v1/webhook-endpoints/{endpoint['id']}/rotate-secret",
        json={"overlap_seconds": 3600},
        headers=world.shipper.posting("rotate-1"),
    )
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.json()["secret"] is None  # never stored in clear

    await client.post("/v1/holds", json=fcl_hold(world.sailing.id), headers=world.shipper.posting())
    await deliver_until(runtime, lambda: len(receiver.requests) == 1)
    during = receiver.requests[0]
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    assert verified(during, old) == verified(during, new)

    runtime.clock.advance(3601)
    await client.post("/v1/holds", json=fcl_hold(world.sailing.id), headers=world.shipper.posting())
    await deliver_until(runtime, lambda: len(receiver.requests) == 2)
    after = receiver.requests[1]
    assert len(after.headers["webhook-signature"].split(" ")) == 1
    assert verified(after, new)["type"] == "hold.created"
    with pytest.raises(WebhookVerificationError):
        verified(after, old)


async def test_a_delivery_failing_past_the_retry_window_is_given_up_after_backing_off_for_24_hours(
    runtime: Runtime, client: httpx.AsyncClient, world: World, receiver: Receiver
) -> None:
    receiver.behaviours["/down"] = Behaviour(status=500)
    endpoint = await register(client, world.shipper, receiver.url("/down"))
    await client.post("/v1/holds", json=fcl_hold(world.sailing.id), headers=world.shipper.posting())

    async def given_up() -> bool:
        return await _states(runtime) == ["given_up"]

    await deliver_until(runtime, given_up, advance=1800, timeout=60)

    attempts = await attempts_at(client, world.shipper, endpoint)
    times = sorted(datetime.fromisoformat(a["attempted_at"]) for a in attempts)
    span = (times[-1] - times[0]).total_seconds()
    assert span >= 24 * 3600
    # Backing off: a dozen or so attempts in a day, not one per round (48 rounds).
    assert 8 <= len(attempts) <= 20
    assert [a["attempt"] for a in reversed(attempts)] == list(range(1, len(attempts) + 1))
    # Still enabled: the endpoint had no chance to fail for the disabling period (120 h).
    read = await client.get(f"/v1/webhook-endpoints/{endpoint['id']}", headers=world.shipper.headers)
    assert read.json()["enabled"] is True
    assert read.json()["failing_since"] is not None


async def _states(runtime: Runtime) -> list[str]:
    async with transaction(runtime.engine, read_only=True) as conn:
        return list((await conn.execute(select(deliveries.c.state))).scalars())


def disabling_after_two_hours(runtime: Runtime) -> Runtime:
    settings = msgspec.structs.replace(runtime.settings, webhook_disable_after_hours=2)
    return Runtime(settings=settings, engine=runtime.engine, clock=runtime.clock)


async def test_an_endpoint_failing_for_the_configured_period_is_disabled_and_its_owner_told(
    runtime: Runtime, client: httpx.AsyncClient, world: World, receiver: Receiver
) -> None:
    rt = disabling_after_two_hours(runtime)
    receiver.behaviours["/down"] = Behaviour(status=500)
    failing = await register(client, world.shipper, receiver.url("/down"))
    await register(client, world.shipper, receiver.url("/ops"), event_types=["webhook_endpoint.disabled"])
    await client.post("/v1/holds", json=fcl_hold(world.sailing.id), headers=world.shipper.posting())

    await deliver_until(rt, lambda: bool(receiver.answered("/ops")), advance=900, timeout=60)

    read = (await client.get(f"/v1/webhook-endpoints/{failing['id']}", headers=world.shipper.headers)).json()
    assert read["enabled"] is False
    assert read["disabled_reason"] == "every delivery failed for 2 hours"
    told = json.loads(receiver.answered("/ops")[0].body)
    assert told["type"] == "webhook_endpoint.disabled"
    assert told["data"]["endpoint_id"] == failing["id"]
    assert sorted(await _states(rt)) == ["delivered", "given_up"]
    # Nothing more is sent to it, and its feed shows the event too.
    sent = len(receiver.answered("/down"))
    await client.post("/v1/holds", json=fcl_hold(world.sailing.id), headers=world.shipper.posting())
    await deliver_until(rt, lambda: True, advance=3600)
    await deliver_until(rt, lambda: True)
    assert len(receiver.answered("/down")) == sent
    feed = (
        await client.get("/v1/events?types=webhook_endpoint.disabled", headers=world.shipper.headers)
    ).json()
    assert [e["data"]["endpoint_id"] for e in feed["items"]] == [failing["id"]]


async def test_one_success_resets_the_failure_period_so_an_intermittent_endpoint_stays_enabled(
    runtime: Runtime, client: httpx.AsyncClient, world: World, receiver: Receiver
) -> None:
    rt = disabling_after_two_hours(runtime)
    # Fails for 1 h 45 min of retries, succeeds once, then fails again for 1 h 15 min: failing for
    # more than 2 hours in all, never 2 hours in a row.
    receiver.behaviours["/flaky"] = Behaviour(fail_first=7, failure_status=500)
    endpoint = await register(client, world.shipper, receiver.url("/flaky"))
    await client.post("/v1/holds", json=fcl_hold(world.sailing.id), headers=world.shipper.posting())
    await deliver_until(
        rt, lambda: len(receiver.answered("/flaky", status=204)) == 1, advance=900, timeout=60
    )
    receiver.behaviours["/flaky"] = Behaviour(status=500)
    await client.post("/v1/holds", json=fcl_hold(world.sailing.id), headers=world.shipper.posting())
    await deliver_until(
        rt, lambda: len(receiver.answered("/flaky", status=500)) >= 7 + 6, advance=900, timeout=60
    )

    read = (await client.get(f"/v1/webhook-endpoints/{endpoint['id']}", headers=world.shipper.headers)).json()
    assert read["enabled"] is True
    assert read["failing_since"] is not None


async def test_redirects_are_not_followed_and_count_as_failures(
    runtime: Runtime, client: httpx.AsyncClient, world: World, receiver: Receiver
) -> None:
    receiver.behaviours["/moved"] = Behaviour(status=302, headers={"location": receiver.url("/elsewhere")})
    endpoint = await register(client, world.shipper, receiver.url("/moved"))
    await client.post("/v1/holds", json=fcl_hold(world.sailing.id), headers=world.shipper.posting())
    await deliver_until(runtime, lambda: len(receiver.requests) == 1)

    assert receiver.answered("/elsewhere") == []
    attempt = (await attempts_at(client, world.shipper, endpoint))[0]
    assert attempt["status_code"] == 302
    assert attempt["error"] == "HTTP 302: redirects are not followed"
    assert attempt["delivery_state"] == "pending"


async def test_a_host_that_resolves_inside_at_send_time_is_refused_without_connecting(
    runtime: Runtime,
    client: httpx.AsyncClient,
    world: World,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """DNS rebinding: the name was public when registered, points inside when sent to."""
    table = {"hooks.example.com": "93.184.216.34"}

    async def resolve(host: str, port: int) -> list[addresses.IPAddress]:
        return [ipaddress.ip_address(table[host])]

    monkeypatch.setattr(addresses, "resolve", resolve)
    endpoint = await register(client, world.shipper, "https://hooks.example.com/hook")
    table["hooks.example.com"] = "10.0.0.5"
    await client.post("/v1/holds", json=fcl_hold(world.sailing.id), headers=world.shipper.posting())
    await deliver_until(runtime, lambda: True)

    [attempt] = await attempts_at(client, world.shipper, endpoint)
    assert attempt["status_code"] is None
    assert attempt["error"] == "refused: hooks.example.com resolves to 10.0.0.5, a private address"
    assert attempt["delivery_state"] == "pending"


async def test_the_request_goes_to_the_address_checked_with_the_name_kept_in_host(
    runtime: Runtime,
    client: httpx.AsyncClient,
    world: World,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real = addresses.resolve
    looked_up: list[str] = []

    async def resolve(host: str, port: int) -> list[addresses.IPAddress]:
        looked_up.append(host)
        if host == "hooks.localhost":
            return [ipaddress.ip_address("127.0.0.1")]
        return await real(host, port)

    monkeypatch.setattr(addresses, "resolve", resolve)
    await register(client, world.shipper, receiver.url("/named", host="hooks.localhost"))
    looked_up.clear()
    await client.post("/v1/holds", json=fcl_hold(world.sailing.id), headers=world.shipper.posting())
    await deliver_until(runtime, lambda: len(receiver.requests) == 1)

    assert looked_up == ["hooks.localhost"]  # resolved once, by the check, then connected to
    assert receiver.requests[0].headers["host"] == f"hooks.localhost:{receiver.port}"


async def test_operators_receive_every_event_and_others_only_theirs(
    runtime: Runtime, client: httpx.AsyncClient, world: World, receiver: Receiver
) -> None:
    await register(client, world.operator, receiver.url("/operator"))
    await register(client, world.shipper, receiver.url("/shipper"))
    await client.post("/v1/holds", json=fcl_hold(world.sailing.id), headers=world.shipper.posting())
    async with transaction(runtime.engine) as conn:
        platform = outbox.PendingEvent("sailing.cancelled", world.sailing.id, None, {"sailing_id": "x"})
        await outbox.record(conn, [platform], runtime.clock.app_now())
    await deliver_until(runtime, lambda: len(receiver.requests) == 3)
    await deliver_until(runtime, lambda: True)

    def types(path: str) -> list[str]:
        return sorted(json.loads(r.body)["type"] for r in receiver.answered(path))

    assert types("/operator") == ["hold.created", "sailing.cancelled"]
    assert types("/shipper") == ["hold.created"]


async def test_https_is_verified_against_the_name_while_connecting_to_the_checked_address(
    runtime: Runtime,
    client: httpx.AsyncClient,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """A TLS receiver on 127.0.0.1 with a certificate for hooks.localhost: not trusted by the
    system's store (refused), trusted once its authority is, through SNI and the name's check."""
    certificates = tls.make("hooks.localhost", tmp_path)

    async def resolve(host: str, port: int) -> list[addresses.IPAddress]:
        return [ipaddress.ip_address("127.0.0.1")]

    monkeypatch.setattr(addresses, "resolve", resolve)
    async with receiving(tls=certificates.server) as secure:
        endpoint = await register(client, world.shipper, f"https://hooks.localhost:{secure.port}/hook")
        await client.post("/v1/holds", json=fcl_hold(world.sailing.id), headers=world.shipper.posting())
        await deliver_until(runtime, lambda: True)
        [refused] = await attempts_at(client, world.shipper, endpoint)
        assert "CERTIFICATE_VERIFY_FAILED" in refused["error"]
        assert secure.requests == []

        monkeypatch.setattr(sender, "_tls", lambda: certificates.trusting)
        runtime.clock.advance(60)
        await deliver_until(runtime, lambda: len(secure.requests) == 1)
    assert secure.requests[0].headers["host"] == f"hooks.localhost:{secure.port}"
    verified(secure.requests[0], endpoint["secret"])
