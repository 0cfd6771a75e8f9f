"""Bookings over HTTP: confirming a hold, amending with If-Match, cancelling, and listing."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import select, update

from app.db import transaction
from app.inventory.repository import allotments
from app.reservations.invariants import check_invariants
from app.runtime import Runtime
from tests.factories import Account, World, confirmation, fcl_hold, lcl_hold

Client = httpx.AsyncClient
REFERENCE = re.compile(r"^SP-[0-9A-HJKMNP-TV-Z]{10}$")


async def place(client: Client, account: Account, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/v1/holds", json=body, headers=account.posting())
    assert response.status_code == 201, response.text
    hold: dict[str, Any] = response.json()
    return hold


async def confirm(
    client: Client, account: Account, hold_id: str, body: dict[str, Any] | None = None
) -> httpx.Response:
    return await client.post(
        f"/v1/holds/{hold_id}/confirm", json=body or confirmation(), headers=account.posting()
    )


async def book(client: Client, account: Account, body: dict[str, Any], **cargo: Any) -> dict[str, Any]:
    """Hold, then confirm: the booking as the API answers it."""
    hold = await place(client, account, body)
    response = await confirm(client, account, hold["id"], confirmation(**cargo))
    assert response.status_code == 201, response.text
    booking: dict[str, Any] = response.json()
    return booking


async def amend(
    client: Client, account: Account, reference: str, body: dict[str, Any], if_match: str | None
) -> httpx.Response:
    headers = dict(account.headers)
    if if_match is not None:
        headers["If-Match"] = if_match
    return await client.patch(f"/v1/bookings/{reference}", json=body, headers=headers)


async def sailing_space(client: Client, world: World) -> dict[str, Any]:
    response = await client.get(f"/v1/sailings/{world.sailing.id}", headers=world.shipper.headers)
    assert response.status_code == 200, response.text
    view: dict[str, Any] = response.json()
    return view


async def free_units(client: Client, world: World) -> int:
    return int((await sailing_space(client, world))["fcl"][0]["units_free"])


async def unit_counters(runtime: Runtime, sailing_id: uuid.UUID) -> tuple[int, int]:
    """(held, booked) of the sailing's allotment, read straight from the database."""
    async with transaction(runtime.engine, read_only=True) as conn:
        row = (
            await conn.execute(
                select(allotments.c.units_held, allotments.c.units_booked).where(
                    allotments.c.sailing_id == sailing_id
                )
            )
        ).one()
    return int(row.units_held), int(row.units_booked)


async def reprice_allotment(runtime: Runtime, sailing_id: uuid.UUID, rate: str) -> None:
    """The carrier's tariff moves after the quote: bookings must keep the hold's price."""
    async with transaction(runtime.engine) as conn:
        await conn.execute(
            update(allotments).where(allotments.c.sailing_id == sailing_id).values(rate=Decimal(rate))
        )


# --- confirm --------------------------------------------------------------------------------


async def test_confirm_books_the_hold_at_its_quoted_price(
    client: Client, world: World, runtime: Runtime
) -> None:
    hold = await place(client, world.shipper, fcl_hold(world.sailing.id, 3))
    await reprice_allotment(runtime, world.sailing.id, "9999.00")

    response = await confirm(client, world.shipper, hold["id"])

    assert response.status_code == 201, response.text
    booking = response.json()
    assert REFERENCE.match(booking["reference"]), booking["reference"]
    assert booking["price"] == hold["price"] == {"amount": "4500.00", "currency": "USD"}
    assert booking["state"] == "confirmed"
    assert booking["hold_id"] == hold["id"]
    assert booking["units"] == 3
    assert response.headers["location"] == f"/v1/bookings/{booking['reference']}"
    assert response.headers["etag"] == '"v1"'
    read = await client.get(response.headers["location"], headers=world.shipper.headers)
    assert read.status_code == 200
    assert read.json() == booking
    assert read.headers["etag"] == '"v1"'
    held_hold = await client.get(f"/v1/holds/{hold['id']}", headers=world.shipper.headers)
    assert held_hold.json()["state"] == "confirmed"


async def test_confirm_moves_units_from_held_to_booked(
    client: Client, world: World, runtime: Runtime
) -> None:
    hold = await place(client, world.shipper, fcl_hold(world.sailing.id, 3))
    assert await unit_counters(runtime, world.sailing.id) == (3, 0)

    response = await confirm(client, world.shipper, hold["id"])

    assert response.status_code == 201, response.text
    assert await unit_counters(runtime, world.sailing.id) == (0, 3)
    assert await free_units(client, world) == 7
    assert await check_invariants(runtime) == []


async def test_confirming_twice_is_invalid_state_and_books_once(
    client: Client, world: World, runtime: Runtime
) -> None:
    hold = await place(client, world.shipper, fcl_hold(world.sailing.id, 2))
    first = await confirm(client, world.shipper, hold["id"])

    second = await confirm(client, world.shipper, hold["id"])

    assert first.status_code == 201, first.text
    assert second.status_code == 409
    assert second.headers["content-type"].startswith("application/problem+json")
    assert second.json()["type"] == "/problems/invalid-state"
    listed = await client.get("/v1/bookings", headers=world.shipper.headers)
    assert [b["reference"] for b in listed.json()["items"]] == [first.json()["reference"]]
    assert await unit_counters(runtime, world.sailing.id) == (0, 2)
    assert await check_invariants(runtime) == []


async def test_confirm_after_the_hold_expired_is_refused(
    client: Client, world: World, runtime: Runtime
) -> None:
    hold = await place(client, world.shipper, fcl_hold(world.sailing.id, 2, ttl_seconds=60))
    runtime.clock.advance(61)

    response = await confirm(client, world.shipper, hold["id"])

    assert response.status_code == 409
    assert response.json()["type"] == "/problems/hold-expired"
    listed = await client.get("/v1/bookings", headers=world.shipper.headers)
    assert listed.json()["items"] == []
    assert (await unit_counters(runtime, world.sailing.id))[1] == 0
    assert await check_invariants(runtime) == []


async def test_lcl_cargo_larger_than_the_space_held_is_refused(
    client: Client, world: World, runtime: Runtime
) -> None:
    hold = await place(client, world.shipper, lcl_hold(world.sailing.id, "2", "800"))

    too_big = await confirm(client, world.shipper, hold["id"], confirmation(cbm="2.5", kg="800"))
    too_heavy = await confirm(client, world.shipper, hold["id"], confirmation(cbm="2", kg="800.5"))

    assert too_big.status_code == too_heavy.status_code == 422
    assert too_big.json()["errors"][0]["field"] == "cargo.cbm"
    assert too_heavy.json()["errors"][0]["field"] == "cargo.gross_kg"
    still = await client.get(f"/v1/holds/{hold['id']}", headers=world.shipper.headers)
    assert still.json()["state"] == "active"
    fits = await confirm(client, world.shipper, hold["id"], confirmation(cbm="2", kg="800"))
    assert fits.status_code == 201, fits.text
    assert await check_invariants(runtime) == []


# --- amend ----------------------------------------------------------------------------------


async def test_amending_fcl_up_within_free_units_reprices_at_the_hold_rate(
    client: Client, world: World, runtime: Runtime
) -> None:
    booking = await book(client, world.shipper, fcl_hold(world.sailing.id, 2))
    await reprice_allotment(runtime, world.sailing.id, "9999.00")

    response = await amend(client, world.shipper, booking["reference"], {"units": 5}, '"v1"')

    assert response.status_code == 200, response.text
    amended = response.json()
    assert amended["units"] == 5
    assert amended["price"] == {"amount": "7500.00", "currency": "USD"}
    assert amended["state"] == "amended"
    assert amended["version"] == 2
    assert response.headers["etag"] == '"v2"'
    assert await unit_counters(runtime, world.sailing.id) == (0, 5)
    assert await check_invariants(runtime) == []


async def test_amending_fcl_beyond_free_units_changes_nothing(
    client: Client, world: World, runtime: Runtime
) -> None:
    booking = await book(client, world.shipper, fcl_hold(world.sailing.id, 2))
    await place(client, world.other_shipper, fcl_hold(world.sailing.id, 6))

    response = await amend(client, world.shipper, booking["reference"], {"units": 5}, '"v1"')

    assert response.status_code == 409
    assert response.json()["type"] == "/problems/insufficient-capacity"
    after = await client.get(f"/v1/bookings/{booking['reference']}", headers=world.shipper.headers)
    assert after.json() == booking
    assert after.headers["etag"] == '"v1"'
    assert await unit_counters(runtime, world.sailing.id) == (6, 2)
    assert await check_invariants(runtime) == []


async def test_amending_fcl_down_frees_units(client: Client, world: World, runtime: Runtime) -> None:
    booking = await book(client, world.shipper, fcl_hold(world.sailing.id, 3))

    response = await amend(client, world.shipper, booking["reference"], {"units": 1}, '"v1"')

    assert response.status_code == 200, response.text
    assert response.json()["price"]["amount"] == "1500.00"
    assert await unit_counters(runtime, world.sailing.id) == (0, 1)
    assert await free_units(client, world) == 9
    assert await check_invariants(runtime) == []


async def test_amend_requires_the_current_etag_in_if_match(
    client: Client, world: World, runtime: Runtime
) -> None:
    booking = await book(client, world.shipper, fcl_hold(world.sailing.id, 1))
    reference = booking["reference"]

    missing = await amend(client, world.shipper, reference, {"units": 2}, None)
    current = await amend(client, world.shipper, reference, {"units": 2}, '"v1"')
    stale = await amend(client, world.shipper, reference, {"units": 3}, '"v1"')

    assert missing.status_code == 428
    assert missing.json()["type"] == "/problems/precondition-required"
    assert current.status_code == 200, current.text
    assert current.headers["etag"] == '"v2"'
    assert stale.status_code == 412
    assert stale.json()["type"] == "/problems/precondition-failed"
    read = await client.get(f"/v1/bookings/{reference}", headers=world.shipper.headers)
    assert read.headers["etag"] == '"v2"'
    assert read.json()["units"] == 2
    again = await amend(client, world.shipper, reference, {"units": 3}, read.headers["etag"])
    assert again.status_code == 200, again.text
    assert again.headers["etag"] == '"v3"'
    assert await unit_counters(runtime, world.sailing.id) == (0, 3)


async def test_amending_cargo_and_parties_keeps_the_quantity(client: Client, world: World) -> None:
    booking = await book(client, world.shipper, fcl_hold(world.sailing.id, 2))
    body = confirmation(description="Steel pipes", packages=40)

    response = await amend(client, world.shipper, booking["reference"], body, '"v1"')

    assert response.status_code == 200, response.text
    amended = response.json()
    assert amended["cargo"]["description"] == "Steel pipes"
    assert amended["cargo"]["packages"] == 40
    assert amended["units"] == 2
    assert amended["price"] == booking["price"]


async def test_amending_lcl_volume_and_weight_up_and_down_moves_the_pool(
    client: Client, world: World, runtime: Runtime
) -> None:
    booking = await book(client, world.shipper, lcl_hold(world.sailing.id, "2", "500"), cbm="1", kg="500")
    reference = booking["reference"]
    before = (await sailing_space(client, world))["lcl"][0]

    up = await amend(client, world.shipper, reference, {"cbm": "6", "kg": "1500"}, '"v1"')
    after_up = (await sailing_space(client, world))["lcl"][0]
    down = await amend(client, world.shipper, reference, {"cbm": "1", "kg": "500"}, up.headers["etag"])
    after_down = (await sailing_space(client, world))["lcl"][0]

    assert up.status_code == 200, up.text
    assert (up.json()["cbm"], up.json()["kg"]) == ("6.000", "1500.000")
    assert up.json()["price"]["amount"] == "480.00"  # 6 revenue tonnes x 80
    assert Decimal(before["cbm_free"]) - Decimal(after_up["cbm_free"]) == 4
    assert Decimal(before["kg_free"]) - Decimal(after_up["kg_free"]) == 1000
    assert down.status_code == 200, down.text
    assert down.json()["price"]["amount"] == "120.00"  # the minimum
    assert Decimal(after_down["cbm_free"]) - Decimal(before["cbm_free"]) == 1
    assert Decimal(after_down["kg_free"]) == Decimal(before["kg_free"])
    assert await check_invariants(runtime) == []


async def test_amending_lcl_below_the_declared_cargo_is_refused(
    client: Client, world: World, runtime: Runtime
) -> None:
    booking = await book(client, world.shipper, lcl_hold(world.sailing.id, "2", "500"), cbm="1.5", kg="500")

    response = await amend(client, world.shipper, booking["reference"], {"cbm": "1"}, '"v1"')

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "cargo.cbm"
    after = await client.get(f"/v1/bookings/{booking['reference']}", headers=world.shipper.headers)
    assert after.json()["cbm"] == "2.000"
    assert await check_invariants(runtime) == []


async def test_amending_an_fcl_booking_in_cbm_is_refused(client: Client, world: World) -> None:
    booking = await book(client, world.shipper, fcl_hold(world.sailing.id, 1))

    response = await amend(client, world.shipper, booking["reference"], {"cbm": "5"}, '"v1"')

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "cbm"


# --- cancel ---------------------------------------------------------------------------------


async def test_cancel_frees_the_space_and_a_second_cancel_is_refused(
    client: Client, world: World, runtime: Runtime
) -> None:
    booking = await book(client, world.shipper, fcl_hold(world.sailing.id, 4))
    path = f"/v1/bookings/{booking['reference']}/cancel"

    first = await client.post(path, headers=world.shipper.posting())
    second = await client.post(path, headers=world.shipper.posting())

    assert first.status_code == 200, first.text
    assert first.json()["state"] == "cancelled"
    assert first.headers["etag"] == '"v2"'
    assert second.status_code == 409
    assert second.json()["type"] == "/problems/invalid-state"
    assert await unit_counters(runtime, world.sailing.id) == (0, 0)
    assert await free_units(client, world) == 10
    assert await check_invariants(runtime) == []


async def test_a_cancelled_booking_cannot_be_amended(client: Client, world: World) -> None:
    booking = await book(client, world.shipper, fcl_hold(world.sailing.id, 1))
    cancelled = await client.post(
        f"/v1/bookings/{booking['reference']}/cancel", headers=world.shipper.posting()
    )

    response = await amend(
        client, world.shipper, booking["reference"], {"units": 2}, cancelled.headers["etag"]
    )

    assert response.status_code == 409
    assert response.json()["type"] == "/problems/invalid-state"


async def test_cancel_and_amend_past_the_cut_off_are_refused(
    client: Client, world: World, runtime: Runtime
) -> None:
    booking = await book(client, world.shipper, fcl_hold(world.sailing.id, 2))
    reference = booking["reference"]
    runtime.clock.advance(timedelta(days=3, minutes=1).total_seconds())

    cancel = await client.post(f"/v1/bookings/{reference}/cancel", headers=world.shipper.posting())
    amended = await amend(client, world.shipper, reference, {"units": 1}, '"v1"')

    assert cancel.status_code == amended.status_code == 409
    assert cancel.json()["type"] == amended.json()["type"] == "/problems/sailing-closed"
    after = await client.get(f"/v1/bookings/{reference}", headers=world.shipper.headers)
    assert after.json() == booking
    assert await unit_counters(runtime, world.sailing.id) == (0, 2)


# --- list -----------------------------------------------------------------------------------


async def test_bookings_list_paginates_newest_first_with_a_cursor(client: Client, world: World) -> None:
    made = [await book(client, world.shipper, fcl_hold(world.sailing.id, 1)) for _ in range(5)]

    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        response = await client.get("/v1/bookings", params=params, headers=world.shipper.headers)
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= 2
        seen += [b["reference"] for b in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert pages == 3
    assert sorted(seen) == sorted(b["reference"] for b in made)
    assert len(set(seen)) == len(seen)
    created = [b["created_at"] for b in made]
    listed = {b["reference"]: b["created_at"] for b in made}
    # By time, not by text: a time on the whole second is written without a fraction.
    assert [listed[r] for r in seen] == sorted(created, key=datetime.fromisoformat, reverse=True)


async def test_bookings_list_filters_by_state_and_sailing(
    client: Client, world: World, runtime: Runtime
) -> None:
    from tests.factories import make_sailing

    kept = await book(client, world.shipper, fcl_hold(world.sailing.id, 1))
    dropped = await book(client, world.shipper, fcl_hold(world.sailing.id, 1))
    await client.post(f"/v1/bookings/{dropped['reference']}/cancel", headers=world.shipper.posting())
    elsewhere = await make_sailing(runtime)
    other = await book(client, world.shipper, fcl_hold(elsewhere.id, 1))

    def references(response: httpx.Response) -> set[str]:
        assert response.status_code == 200, response.text
        return {b["reference"] for b in response.json()["items"]}

    headers = world.shipper.headers
    cancelled = await client.get("/v1/bookings", params={"state": "cancelled"}, headers=headers)
    confirmed = await client.get("/v1/bookings", params={"state": "confirmed"}, headers=headers)
    on_world = await client.get("/v1/bookings", params={"sailing_id": str(world.sailing.id)}, headers=headers)

    assert references(cancelled) == {dropped["reference"]}
    assert references(confirmed) == {kept["reference"], other["reference"]}
    assert references(on_world) == {kept["reference"], dropped["reference"]}


async def test_a_cursor_this_api_did_not_issue_is_refused(client: Client, world: World) -> None:
    response = await client.get("/v1/bookings", params={"cursor": "garbage"}, headers=world.shipper.headers)

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "cursor"
