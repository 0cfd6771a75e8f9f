"""DCSA booking notifications: carrier-scoped keys, one state change per CloudEvent id."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.accounts.actor import OrgKind
from app.db import table_of, transaction
from app.events.models import OutboxEvent
from app.runtime import Runtime
from app.sync.models import CarrierBooking
from tests.factories import Account, World, make_account
from tests.sync.sync_world import add_carrier

Client = httpx.AsyncClient
FIXTURES = Path(__file__).resolve().parents[1] / "carriers" / "fixtures"


def notification(**changes: Any) -> dict[str, Any]:
    """The recorded DCSA Booking 2.0 notification (CONFIRMED, booking ABC709951), edited."""
    event = json.loads((FIXTURES / "bkg_notification_v2.json").read_text())
    data = {**event["data"], **changes.pop("data", {})}
    return {**event, **changes, "data": data}


async def carrier_account(client: Client, world: World, runtime: Runtime, scac: str) -> Account:
    """A carrier organisation with a key, linked to carrier `scac` by the operator."""
    account = await make_account(runtime, OrgKind.CARRIER, name=f"{scac} Line")
    response = await client.post(
        f"/v1/admin/carriers/{scac}/account",
        json={"organisation_id": str(account.organisation_id)},
        headers=world.operator.posting(),
    )
    assert response.status_code == 201, response.text
    return account


@pytest.fixture
async def sima(client: Client, world: World, runtime: Runtime) -> Account:
    await add_carrier(runtime, "SIMA")
    await add_carrier(runtime, "SIMB")
    return await carrier_account(client, world, runtime, "SIMA")


async def carrier_bookings(runtime: Runtime) -> list[tuple[str, str, str | None]]:
    table = table_of(CarrierBooking)
    async with transaction(runtime.engine, read_only=True) as conn:
        rows = (await conn.execute(select(table).order_by(table.c.carrier_reference))).all()
    return [(row.carrier_reference, row.status, row.carrier_booking_number) for row in rows]


async def status_events(runtime: Runtime) -> list[dict[str, Any]]:
    table = table_of(OutboxEvent)
    async with transaction(runtime.engine, read_only=True) as conn:
        rows = (
            await conn.execute(
                select(table.c.payload)
                .where(table.c.type == "booking.carrier_status_changed")
                .order_by(table.c.id)
            )
        ).all()
    return [row.payload for row in rows]


async def test_same_cloudevent_delivered_twice_changes_state_once(
    client: Client, runtime: Runtime, sima: Account
) -> None:
    first = await client.post("/v1/carriers/SIMA/notifications", json=notification(), headers=sima.headers)
    again = await client.post("/v1/carriers/SIMA/notifications", json=notification(), headers=sima.headers)

    assert first.status_code == again.status_code == 200, (first.text, again.text)
    assert first.json()["duplicate"] is False
    assert again.json()["duplicate"] is True
    assert first.json()["status"] == again.json()["status"] == "accepted"
    assert await carrier_bookings(runtime) == [("cbrr-0001", "accepted", "ABC709951")]
    events = await status_events(runtime)
    assert len(events) == 1
    assert events[0]["status"] == "accepted"
    assert events[0]["carrier_scac"] == "SIMA"
    assert events[0]["event_id"] == notification()["id"]


async def test_later_event_with_another_status_changes_the_carrier_booking_again(
    client: Client, runtime: Runtime, sima: Account
) -> None:
    await client.post("/v1/carriers/SIMA/notifications", json=notification(), headers=sima.headers)
    cancelled = notification(id=str(uuid.uuid4()), data={"bookingStatus": "CANCELLED"})

    response = await client.post("/v1/carriers/SIMA/notifications", json=cancelled, headers=sima.headers)

    assert response.status_code == 200, response.text
    assert response.json()["duplicate"] is False
    assert await carrier_bookings(runtime) == [("cbrr-0001", "cancelled", "ABC709951")]
    assert [e["status"] for e in await status_events(runtime)] == ["accepted", "cancelled"]


async def test_new_event_repeating_the_same_status_records_no_new_change(
    client: Client, runtime: Runtime, sima: Account
) -> None:
    await client.post("/v1/carriers/SIMA/notifications", json=notification(), headers=sima.headers)

    response = await client.post(
        "/v1/carriers/SIMA/notifications", json=notification(id=str(uuid.uuid4())), headers=sima.headers
    )

    assert response.json()["duplicate"] is False
    assert len(await status_events(runtime)) == 1


async def test_notifications_need_no_idempotency_key(client: Client, sima: Account) -> None:
    response = await client.post("/v1/carriers/SIMA/notifications", json=notification(), headers=sima.headers)

    assert "idempotency-key" not in {name.lower() for name in sima.headers}
    assert response.status_code == 200, response.text


async def test_non_carrier_keys_are_refused(
    client: Client, world: World, runtime: Runtime, sima: Account
) -> None:
    for account in (world.shipper, world.marketplace, world.operator):
        response = await client.post(
            "/v1/carriers/SIMA/notifications", json=notification(), headers=account.headers
        )
        assert response.status_code == 403, (account.actor.kind, response.text)
    assert await carrier_bookings(runtime) == []


async def test_another_carriers_key_is_refused(
    client: Client, world: World, runtime: Runtime, sima: Account
) -> None:
    simb = await carrier_account(client, world, runtime, "SIMB")
    unlinked = await make_account(runtime, OrgKind.CARRIER)

    for account in (simb, unlinked):
        response = await client.post(
            "/v1/carriers/SIMA/notifications", json=notification(), headers=account.headers
        )
        assert response.status_code == 403, response.text
        assert response.json()["type"] == "/problems/not-this-carrier"
    assert await carrier_bookings(runtime) == []


async def test_notification_for_an_unknown_carrier_is_not_found(client: Client, sima: Account) -> None:
    response = await client.post("/v1/carriers/NOPE/notifications", json=notification(), headers=sima.headers)

    assert response.status_code == 404


@pytest.mark.parametrize(
    "body",
    [b"{not json", json.dumps(notification(type="org.dcsa.shipping-instruction.v3")).encode()],
)
async def test_a_malformed_notification_is_refused_and_changes_nothing(
    client: Client, runtime: Runtime, sima: Account, body: bytes
) -> None:
    response = await client.post(
        "/v1/carriers/SIMA/notifications",
        content=body,
        headers={**sima.headers, "content-type": "application/cloudevents+json"},
    )

    assert response.status_code == 400, response.text
    assert response.json()["type"] == "/problems/malformed-notification"
    assert await carrier_bookings(runtime) == []


async def test_only_a_carrier_organisation_can_be_linked_and_only_once(
    client: Client, world: World, runtime: Runtime, sima: Account
) -> None:
    shipper = await client.post(
        "/v1/admin/carriers/SIMB/account",
        json={"organisation_id": str(world.shipper.organisation_id)},
        headers=world.operator.posting(),
    )
    second_for_carrier = await client.post(
        "/v1/admin/carriers/SIMA/account",
        json={"organisation_id": str((await make_account(runtime, OrgKind.CARRIER)).organisation_id)},
        headers=world.operator.posting(),
    )
    same_org_elsewhere = await client.post(
        "/v1/admin/carriers/SIMB/account",
        json={"organisation_id": str(sima.organisation_id)},
        headers=world.operator.posting(),
    )

    assert shipper.status_code == 422
    assert second_for_carrier.status_code == 409
    assert same_org_elsewhere.status_code == 409


async def test_an_old_event_redelivered_does_not_undo_a_later_one(
    client: Client, runtime: Runtime, sima: Account
) -> None:
    cancelled = notification(id=str(uuid.uuid4()), data={"bookingStatus": "CANCELLED"})
    await client.post("/v1/carriers/SIMA/notifications", json=notification(), headers=sima.headers)
    await client.post("/v1/carriers/SIMA/notifications", json=cancelled, headers=sima.headers)

    redelivered = await client.post(
        "/v1/carriers/SIMA/notifications", json=notification(), headers=sima.headers
    )

    assert redelivered.json()["duplicate"] is True
    assert await carrier_bookings(runtime) == [("cbrr-0001", "cancelled", "ABC709951")]
    assert [e["status"] for e in await status_events(runtime)] == ["accepted", "cancelled"]


async def test_the_same_event_delivered_concurrently_changes_state_once(
    client: Client, runtime: Runtime, sima: Account
) -> None:
    responses = await asyncio.gather(
        *(
            client.post("/v1/carriers/SIMA/notifications", json=notification(), headers=sima.headers)
            for _ in range(8)
        )
    )

    assert [r.status_code for r in responses] == [200] * 8
    assert sorted(r.json()["duplicate"] for r in responses) == [False] + [True] * 7
    assert len(await status_events(runtime)) == 1
