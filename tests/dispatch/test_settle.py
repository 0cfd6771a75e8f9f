"""An operator settles a DCSA booking request whose outcome is unknown: the carrier has the
booking (its reference is recorded and the booking's amendment follows, to that booking), or it
has none (the request goes again). Only an unknown request can be settled, once."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from app.accounts.actor import OrgKind
from app.dispatch import service
from app.main import create_app
from app.reservations import bookings
from app.runtime import Runtime
from tests.dispatch.test_dcsa_requests import dcsa_booking
from tests.dispatch.world import request_rows
from tests.factories import Account, make_account


async def unknown_request(runtime: Runtime) -> tuple[Runtime, Any, Any, Account, str, str]:
    """A DCSA booking whose request's answer was lost: ``unknown``, its amendment waiting."""
    rt, state, probe, shipper, reference = await dcsa_booking(runtime, lose_first_answer=True)
    await dispatch_rounds(rt)
    request, _ = await request_rows(rt, reference)
    assert request.state == "unknown"
    return rt, state, probe, shipper, reference, str(request.id)


async def dispatch_rounds(rt: Runtime) -> None:
    for _ in range(2):
        await service.run(rt)
        rt.clock.advance(120)


async def settle(
    client: httpx.AsyncClient, request_id: str, body: dict[str, Any], by: Account
) -> httpx.Response:
    return await client.post(
        f"/v1/admin/carrier-requests/{request_id}/settle", json=body, headers=by.posting()
    )


def api(rt: Runtime) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=create_app(runtime=rt))
    return httpx.AsyncClient(transport=transport, base_url="http://slotpool.test")


async def test_received_records_the_carriers_booking_and_the_amendment_follows_to_it(
    runtime: Runtime,
) -> None:
    rt, state, probe, shipper, reference, request_id = await unknown_request(runtime)
    operator = await make_account(rt, OrgKind.OPERATOR)
    carrier_reference = next(iter(state.bookings))  # what the carrier's staff would quote

    async with api(rt) as client:
        listed = await client.get("/v1/admin/carrier-requests?state=unknown", headers=operator.headers)
        received = {"outcome": "received", "carrier_reference": carrier_reference, "status": "RECEIVED"}
        settled = await settle(client, request_id, received, operator)
        again = await settle(client, request_id, {"outcome": "not_received"}, operator)
    await dispatch_rounds(rt)

    assert [item["id"] for item in listed.json()["items"]] == [request_id]
    assert settled.status_code == 200, settled.text
    body = settled.json()
    assert (body["state"], body["carrier_reference"]) == ("acknowledged", carrier_reference)
    assert again.status_code == 409
    assert again.json()["type"] == "/problems/invalid-state"
    # One booking at the carrier, never asked for again; the amendment went to it.
    assert probe.calls == [("request", reference), ("amend", reference)]
    assert len(state.bookings) == 1
    request, amendment = await request_rows(rt, reference)
    assert (request.state, amendment.state) == ("acknowledged", "acknowledged")
    view = await bookings.get_booking(rt, shipper.actor, reference)
    assert view.carrier is not None
    assert (view.carrier.carrier_reference, view.carrier.pending, view.carrier.last_error) == (
        carrier_reference,
        None,
        None,
    )


async def test_not_received_sends_the_request_again(runtime: Runtime) -> None:
    rt, state, probe, _, reference, request_id = await unknown_request(runtime)
    operator = await make_account(rt, OrgKind.OPERATOR)
    state.bookings.clear()  # the carrier lost it: it has no booking of ours

    async with api(rt) as client:
        settled = await settle(client, request_id, {"outcome": "not_received"}, operator)
    await dispatch_rounds(rt)

    assert settled.status_code == 200, settled.text
    assert (settled.json()["state"], settled.json()["maybe_sent"]) == ("pending", False)
    assert probe.calls == [("request", reference), ("request", reference), ("amend", reference)]
    assert len(state.bookings) == 1
    assert [row.state for row in await request_rows(rt, reference)] == ["acknowledged", "acknowledged"]


async def test_two_operators_settling_at_once_settle_it_once(runtime: Runtime) -> None:
    rt, state, _, _, _, request_id = await unknown_request(runtime)
    operator = await make_account(rt, OrgKind.OPERATOR)
    carrier_reference = next(iter(state.bookings))
    bodies = [{"outcome": "received", "carrier_reference": carrier_reference}, {"outcome": "not_received"}]

    async with api(rt) as client:
        answers = await asyncio.gather(*(settle(client, request_id, body, operator) for body in bodies))

    assert sorted(answer.status_code for answer in answers) == [200, 409]


async def test_bad_settlements_are_refused_and_change_nothing(runtime: Runtime) -> None:
    rt, _, _, shipper, reference, request_id = await unknown_request(runtime)
    operator = await make_account(rt, OrgKind.OPERATOR)
    path = f"/v1/admin/carrier-requests/{request_id}/settle"

    async with api(rt) as client:
        no_reference = await client.post(path, json={"outcome": "received"}, headers=operator.posting())
        reference_for_nothing = await client.post(
            path, json={"outcome": "not_received", "carrier_reference": "X1"}, headers=operator.posting()
        )
        unknown_status = await client.post(
            path,
            json={"outcome": "received", "carrier_reference": "X1", "status": "LOST"},
            headers=operator.posting(),
        )
        missing = await client.post(
            "/v1/admin/carrier-requests/00000000-0000-4000-8000-000000000000/settle",
            json={"outcome": "not_received"},
            headers=operator.posting(),
        )
        by_a_shipper = await client.post(path, json={"outcome": "not_received"}, headers=shipper.posting())

    assert [no_reference.status_code, reference_for_nothing.status_code, unknown_status.status_code] == [
        422,
        422,
        422,
    ]
    assert no_reference.json()["errors"][0]["field"] == "carrier_reference"
    assert unknown_status.json()["errors"][0]["field"] == "status"
    assert missing.status_code == 404
    assert by_a_shipper.status_code == 403
    request, _ = await request_rows(rt, reference)
    assert (request.state, request.maybe_sent) == ("unknown", True)
