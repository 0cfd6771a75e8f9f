"""Carrier notifications in order, checked as CloudEvents, and signed where the carrier signs:
an older notification never moves a booking back, a final status is never reopened, each
envelope violation is named, and a wrong or missing signature is 401."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from app.accounts.actor import OrgKind
from app.db import table_of, transaction
from app.runtime import Runtime
from app.secrets import SecretBox, new_key
from app.sync.models import CarrierAccount
from tests.factories import Account, World, make_account
from tests.sync.sync_world import add_carrier
from tests.sync.test_carrier_notifications import (
    carrier_account,
    carrier_bookings,
    notification,
    status_events,
)

Client = httpx.AsyncClient
PATH = "/v1/carriers/SIMA/notifications"
SECRET = "n0t1f1cat10n-s1gn1ng-s3cr3t"


def at(time: str, status: str, **data: Any) -> dict[str, Any]:
    """A notification of ``status`` for booking cbrr-0001 that happened at ``time``."""
    return notification(id=str(uuid.uuid4()), time=time, data={"bookingStatus": status, **data})


@pytest.fixture
async def sima(client: Client, world: World, runtime: Runtime) -> Account:
    await add_carrier(runtime, "SIMA")
    return await carrier_account(client, world, runtime, "SIMA")


async def post(client: Client, account: Account, body: dict[str, Any]) -> httpx.Response:
    return await client.post(PATH, json=body, headers=account.headers)


async def test_notifications_delivered_out_of_order_leave_the_latest_state(
    client: Client, runtime: Runtime, sima: Account
) -> None:
    received = at("2025-03-05T08:00:00Z", "RECEIVED", amendedBookingStatus=None, carrierBookingReference=None)
    confirmed = at("2025-03-05T10:00:00Z", "CONFIRMED", amendedBookingStatus=None)
    amended = at("2025-03-05T11:00:00Z", "CONFIRMED", amendedBookingStatus="AMENDMENT_RECEIVED")
    # Its clock reads later, but 12:30+02:00 is 10:30 UTC: before the amendment.
    confirmed_again = at("2025-03-05T12:30:00+02:00", "CONFIRMED", amendedBookingStatus="AMENDMENT_CONFIRMED")

    answers = [await post(client, sima, event) for event in (confirmed, received, amended, confirmed_again)]

    assert [a.status_code for a in answers] == [200] * 4
    assert [a.json()["applied"] for a in answers] == [True, False, True, False]
    assert answers[1].json()["ignored"].startswith("older than the status held (accepted")
    assert answers[3].json()["ignored"].startswith("older than the status held (pending_amendment")
    assert await carrier_bookings(runtime) == [("cbrr-0001", "pending_amendment", "ABC709951")]
    assert [e["status"] for e in await status_events(runtime)] == ["accepted", "pending_amendment"]


async def test_the_data_updated_time_orders_notifications_before_the_event_time(
    client: Client, runtime: Runtime, sima: Account
) -> None:
    confirmed = at("2025-03-05T10:00:00Z", "CONFIRMED", updatedDateTime="2025-03-05T09:00:00Z")
    # Sent later, but the booking was in this state before the confirmation.
    received = at("2025-03-05T11:00:00Z", "RECEIVED", updatedDateTime="2025-03-05T08:00:00Z")

    await post(client, sima, confirmed)
    answer = await post(client, sima, received)

    assert answer.json()["applied"] is False
    assert await carrier_bookings(runtime) == [("cbrr-0001", "accepted", "ABC709951")]


@pytest.mark.parametrize("final", ["CANCELLED", "REJECTED", "DECLINED", "COMPLETED"])
async def test_a_late_confirmation_after_a_final_status_does_not_reopen_it(
    client: Client, runtime: Runtime, sima: Account, final: str
) -> None:
    ended = at("2025-03-05T10:00:00Z", final, amendedBookingStatus=None)
    late = at("2025-03-05T10:30:00Z", "CONFIRMED", amendedBookingStatus=None)

    await post(client, sima, ended)
    answer = await post(client, sima, late)

    assert answer.status_code == 200
    assert answer.json()["applied"] is False
    assert "final status is never reopened" in answer.json()["ignored"]
    held = {
        "CANCELLED": "cancelled",
        "REJECTED": "rejected",
        "DECLINED": "declined",
        "COMPLETED": "completed",
    }
    assert [status for _, status, _ in await carrier_bookings(runtime)] == [held[final]]
    assert [e["status"] for e in await status_events(runtime)] == [held[final]]


def without(name: str) -> dict[str, Any]:
    event = notification()
    del event[name]
    return event


@pytest.mark.parametrize(
    ("event", "field"),
    [
        (notification(specversion="0.3"), "specversion"),
        (without("specversion"), "specversion"),
        (without("id"), "id"),
        (without("source"), "source"),
        (without("time"), "time"),
        (notification(time="2025-03-05T10:00:00"), "time"),
        (notification(time="yesterday"), "time"),
        (notification(datacontenttype="text/plain"), "datacontenttype"),
        (without("datacontenttype"), "datacontenttype"),
        (notification(type="com.example.other"), "type"),
        (without("subscriptionReference"), "subscriptionReference"),
        (notification(id="x" * 101), "id"),
        ({**notification(), "data": "CONFIRMED"}, "data"),
    ],
)
async def test_each_cloudevent_violation_is_a_problem_naming_the_attribute(
    client: Client, runtime: Runtime, sima: Account, event: dict[str, Any], field: str
) -> None:
    response = await post(client, sima, event)

    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["type"] == "/problems/malformed-notification"
    assert field in [error["field"] for error in problem["errors"]]
    assert await carrier_bookings(runtime) == []


async def test_every_violation_of_one_envelope_is_listed(client: Client, sima: Account) -> None:
    event = notification(specversion="2.0", datacontenttype="application/xml")
    del event["source"]

    problem = (await post(client, sima, event)).json()

    assert sorted(e["field"] for e in problem["errors"]) == ["datacontenttype", "source", "specversion"]


def signed(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def signing_carrier(client: Client, world: World, runtime: Runtime, **link: Any) -> Account:
    await add_carrier(runtime, "SIMA")
    account = await make_account(runtime, OrgKind.CARRIER)
    response = await client.post(
        "/v1/admin/carriers/SIMA/account",
        json={"organisation_id": str(account.organisation_id), "signature_secret": SECRET, **link},
        headers=world.operator.posting(),
    )
    assert response.status_code == 201, response.text
    view = response.json()
    assert view["signed"] is True
    assert SECRET not in response.text  # the secret is never shown back
    return account


@pytest.mark.parametrize("header", [None, "X-Carrier-Signature"])
async def test_a_signing_carrier_needs_the_right_signature(
    client: Client, world: World, runtime: Runtime, header: str | None
) -> None:
    link = {"signature_header": header} if header else {}
    account = await signing_carrier(client, world, runtime, **link)
    name = header or "Notification-Signature"
    body = json.dumps(notification()).encode()
    tampered = body.replace(b"CONFIRMED", b"CANCELLED")

    missing = await client.post(PATH, content=body, headers=account.headers)
    wrong_secret = await client.post(
        PATH, content=body, headers={**account.headers, name: signed(body, "x" * 20)}
    )
    wrong_body = await client.post(PATH, content=tampered, headers={**account.headers, name: signed(body)})
    other_header = await client.post(PATH, content=body, headers={**account.headers, "X-Other": signed(body)})

    for refused in (missing, wrong_secret, wrong_body, other_header):
        assert refused.status_code == 401, refused.text
        assert refused.json()["type"] == "/problems/invalid-signature"
    assert await carrier_bookings(runtime) == []

    accepted = await client.post(PATH, content=body, headers={**account.headers, name: signed(body)})
    assert accepted.status_code == 200, accepted.text
    assert await carrier_bookings(runtime) == [("cbrr-0001", "accepted", "ABC709951")]


async def test_the_signing_secret_is_stored_sealed(client: Client, world: World, runtime: Runtime) -> None:
    await signing_carrier(client, world, runtime)

    async with transaction(runtime.engine, read_only=True) as conn:
        row = (await conn.execute(select(table_of(CarrierAccount)))).one()

    assert SECRET not in str(tuple(row))
    assert runtime.secrets.open(row.signature_secret_sealed) == SECRET


async def test_a_signing_secret_the_keys_cannot_open_is_a_503_problem_not_a_500(
    client: Client, world: World, runtime: Runtime
) -> None:
    account = await signing_carrier(client, world, runtime)
    body = json.dumps(notification()).encode()
    # Sealed under a key the service no longer has (an operator rotated it out too early).
    lost_key = SecretBox([new_key()])
    async with transaction(runtime.engine) as conn:
        await conn.execute(
            update(table_of(CarrierAccount)).values(signature_secret_sealed=lost_key.seal(SECRET))
        )

    response = await client.post(
        PATH, content=body, headers={**account.headers, "Notification-Signature": signed(body)}
    )

    assert response.status_code == 503, response.text
    assert response.json()["type"] == "/problems/signing-secret-unreadable"
    assert await carrier_bookings(runtime) == []


async def test_an_account_that_does_not_sign_needs_no_signature(client: Client, sima: Account) -> None:
    response = await post(client, sima, notification())

    assert response.status_code == 200, response.text
