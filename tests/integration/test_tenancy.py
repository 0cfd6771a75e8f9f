"""Who may see and change what: organisations, marketplaces acting for shippers, key scopes."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from app.accounts.actor import OrgKind, Scope
from app.accounts.keys import digest
from app.accounts.models import ApiKey
from app.db import table_of, transaction
from app.reservations.invariants import check_invariants
from app.runtime import Runtime
from tests.factories import Account, World, confirmation, fcl_hold, make_account

Client = httpx.AsyncClient
api_keys = table_of(ApiKey)


async def place(client: Client, account: Account, **extra: Any) -> dict[str, Any]:
    body = fcl_hold(extra.pop("sailing_id"), extra.pop("units", 1), **extra)
    response = await client.post("/v1/holds", json=body, headers=account.posting())
    assert response.status_code == 201, response.text
    hold: dict[str, Any] = response.json()
    return hold


async def book(client: Client, world: World) -> dict[str, Any]:
    hold = await place(client, world.shipper, sailing_id=world.sailing.id, units=2)
    response = await client.post(
        f"/v1/holds/{hold['id']}/confirm", json=confirmation(), headers=world.shipper.posting()
    )
    assert response.status_code == 201, response.text
    booking: dict[str, Any] = response.json()
    return booking


async def free_units(client: Client, world: World) -> int:
    response = await client.get(f"/v1/sailings/{world.sailing.id}", headers=world.shipper.headers)
    return int(response.json()["fcl"][0]["units_free"])


def assert_not_found(response: httpx.Response) -> None:
    assert response.status_code == 404, response.text
    assert response.json()["type"] == "/problems/not-found"


async def test_another_shipper_cannot_see_release_or_confirm_my_hold(
    client: Client, world: World, runtime: Runtime
) -> None:
    hold = await place(client, world.shipper, sailing_id=world.sailing.id, units=2)
    path = f"/v1/holds/{hold['id']}"
    intruder = world.other_shipper

    read = await client.get(path, headers=intruder.headers)
    release = await client.delete(path, headers=intruder.headers)
    confirm = await client.post(f"{path}/confirm", json=confirmation(), headers=intruder.posting())

    for response in (read, release, confirm):
        assert_not_found(response)
    mine = await client.get(path, headers=world.shipper.headers)
    assert mine.json()["state"] == "active"
    assert await free_units(client, world) == 8
    assert await check_invariants(runtime) == []


async def test_another_shipper_cannot_see_amend_cancel_or_list_my_booking(
    client: Client, world: World, runtime: Runtime
) -> None:
    booking = await book(client, world)
    path = f"/v1/bookings/{booking['reference']}"
    intruder = world.other_shipper

    read = await client.get(path, headers=intruder.headers)
    amend = await client.patch(path, json={"units": 1}, headers={**intruder.headers, "If-Match": '"v1"'})
    cancel = await client.post(f"{path}/cancel", headers=intruder.posting())
    listed = await client.get("/v1/bookings", headers=intruder.headers)

    for response in (read, amend, cancel):
        assert_not_found(response)
    assert listed.json()["items"] == []
    mine = await client.get(path, headers=world.shipper.headers)
    assert mine.json() == booking
    assert await free_units(client, world) == 8


async def test_a_marketplace_holds_and_books_for_its_shipper(
    client: Client, world: World, runtime: Runtime
) -> None:
    shipper = world.market_shipper
    hold = await place(
        client, world.marketplace, sailing_id=world.sailing.id, on_behalf_of=str(shipper.organisation_id)
    )
    path = f"/v1/holds/{hold['id']}"

    by_marketplace = await client.get(path, headers=world.marketplace.headers)
    by_shipper = await client.get(path, headers=shipper.headers)
    by_stranger = await client.get(path, headers=world.other_shipper.headers)
    confirmed = await client.post(f"{path}/confirm", json=confirmation(), headers=world.marketplace.posting())

    assert hold["organisation_id"] == str(shipper.organisation_id)
    assert hold["placed_by"] == str(world.marketplace.organisation_id)
    assert by_marketplace.status_code == by_shipper.status_code == 200
    assert by_shipper.json() == hold
    assert_not_found(by_stranger)
    assert confirmed.status_code == 201, confirmed.text
    booking = confirmed.json()
    assert booking["organisation_id"] == str(shipper.organisation_id)
    assert booking["placed_by"] == str(world.marketplace.organisation_id)
    for account in (world.marketplace, shipper):
        listed = await client.get("/v1/bookings", headers=account.headers)
        assert [b["reference"] for b in listed.json()["items"]] == [booking["reference"]]
    assert await check_invariants(runtime) == []


async def test_a_marketplace_cannot_act_for_a_shipper_it_did_not_bring(client: Client, world: World) -> None:
    body = fcl_hold(world.sailing.id, on_behalf_of=str(world.shipper.organisation_id))

    response = await client.post("/v1/holds", json=body, headers=world.marketplace.posting())

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "on_behalf_of"
    assert await free_units(client, world) == 10


async def test_a_shipper_cannot_act_on_behalf_of_another(client: Client, world: World) -> None:
    body = fcl_hold(world.sailing.id, on_behalf_of=str(world.market_shipper.organisation_id))

    response = await client.post("/v1/holds", json=body, headers=world.shipper.posting())

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "on_behalf_of"
    assert await free_units(client, world) == 10


async def test_a_registered_shipper_belongs_to_its_marketplace(client: Client, world: World) -> None:
    registered = await client.post(
        "/v1/shippers", json={"name": "Cart Co"}, headers=world.marketplace.posting()
    )
    assert registered.status_code == 201, registered.text
    shipper = registered.json()

    hold = await place(client, world.marketplace, sailing_id=world.sailing.id, on_behalf_of=shipper["id"])

    assert shipper["kind"] == "shipper"
    assert shipper["marketplace_id"] == str(world.marketplace.organisation_id)
    assert hold["organisation_id"] == shipper["id"]


async def test_only_a_marketplace_registers_shippers(client: Client, world: World) -> None:
    response = await client.post("/v1/shippers", json={"name": "Cart Co"}, headers=world.shipper.posting())

    assert response.status_code == 403
    assert response.json()["type"] == "/problems/forbidden"


async def test_a_read_only_key_can_search_but_not_hold(
    client: Client, world: World, runtime: Runtime
) -> None:
    reader = await make_account(runtime, OrgKind.SHIPPER, scopes=[Scope.READ])

    search = await client.get("/v1/sailings", headers=reader.headers)
    hold = await client.post("/v1/holds", json=fcl_hold(world.sailing.id), headers=reader.posting())

    assert search.status_code == 200, search.text
    assert str(world.sailing.id) in {item["id"] for item in search.json()["items"]}
    assert hold.status_code == 403
    assert hold.headers["content-type"].startswith("application/problem+json")
    assert hold.json()["type"] == "/problems/forbidden"
    assert await free_units(client, world) == 10


async def test_shippers_and_marketplaces_are_kept_out_of_admin(client: Client, world: World) -> None:
    carrier = {"scac": "ZZZZ", "name": "Zed Lines"}
    for account in (world.shipper, world.marketplace):
        answers = [
            await client.get("/v1/admin/carriers", headers=account.headers),
            await client.post("/v1/admin/carriers", json=carrier, headers=account.posting()),
            await client.get("/v1/admin/organisations", headers=account.headers),
            await client.post(
                "/v1/admin/organisations",
                json={"name": "Mine now", "kind": "operator"},
                headers=account.posting(),
            ),
        ]
        for answer in answers:
            assert answer.status_code == 403, answer.text
            assert answer.json()["type"] == "/problems/forbidden"
    listed = await client.get("/v1/admin/carriers", headers=world.operator.headers)
    assert "ZZZZ" not in {c["scac"] for c in listed.json()}


async def test_no_key_or_an_unknown_key_is_unauthorised(client: Client, world: World) -> None:
    answers = [
        await client.get("/v1/sailings"),
        await client.get("/v1/sailings", headers={"Authorization": "Bearer sp_not-a-key"}),
        await client.get("/v1/sailings", headers={"Authorization": f"Basic {world.shipper.key}"}),
        await client.post("/v1/holds", json=fcl_hold(world.sailing.id), headers={"Idempotency-Key": "k1"}),
    ]

    for answer in answers:
        assert answer.status_code == 401, answer.text
        assert answer.headers["www-authenticate"] == "Bearer"
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.json()["type"] == "/problems/unauthorized"
    assert await free_units(client, world) == 10


async def test_the_database_stores_only_key_digests(client: Client, world: World, runtime: Runtime) -> None:
    issued = await client.post(
        f"/v1/admin/organisations/{world.shipper.organisation_id}/api-keys",
        json={"name": "ci"},
        headers=world.operator.posting(),
    )
    assert issued.status_code == 201, issued.text
    accounts = (world.operator, world.shipper, world.other_shipper, world.marketplace, world.market_shipper)
    clear_keys = [issued.json()["key"], *(a.key for a in accounts)]

    async with transaction(runtime.engine, read_only=True) as conn:
        rows = [row._mapping for row in await conn.execute(select(api_keys))]

    stored = {str(value) for row in rows for value in row.values()}
    assert len(rows) == len(clear_keys)
    assert all(key not in value for key in clear_keys for value in stored)
    assert {row["key_hash"] for row in rows} == {digest(key) for key in clear_keys}
