"""Holds over HTTP: placing, pricing, limits, release, and what the counters do."""

from __future__ import annotations

import httpx

from app.reservations.invariants import check_invariants
from app.runtime import Runtime
from tests.factories import World, fcl_hold, lcl_hold

Client = httpx.AsyncClient


async def free_units(client: Client, world: World) -> int:
    response = await client.get(f"/v1/sailings/{world.sailing.id}", headers=world.shipper.headers)
    return int(response.json()["fcl"][0]["units_free"])


async def test_fcl_hold_locks_price_and_takes_units(client: Client, world: World, runtime: Runtime) -> None:
    response = await client.post(
        "/v1/holds", json=fcl_hold(world.sailing.id, 3), headers=world.shipper.posting()
    )

    assert response.status_code == 201, response.text
    hold = response.json()
    assert hold["state"] == "active"
    assert hold["price"] == {"amount": "4500.00", "currency": "USD"}
    assert response.headers["location"] == f"/v1/holds/{hold['id']}"
    assert await free_units(client, world) == 7
    assert await check_invariants(runtime) == []


async def test_hold_never_outlives_the_cut_off(client: Client, runtime: Runtime, world: World) -> None:
    from datetime import timedelta

    from tests.factories import make_sailing

    sailing = await make_sailing(runtime, cut_off_in=timedelta(seconds=90))
    response = await client.post(
        "/v1/holds", json=fcl_hold(sailing.id, 1, ttl_seconds=600), headers=world.shipper.posting()
    )

    assert response.status_code == 201, response.text
    assert response.json()["expires_at"] == sailing.cut_off.isoformat().replace("+00:00", "Z")


async def test_hold_past_cut_off_is_refused(client: Client, runtime: Runtime, world: World) -> None:
    runtime.clock.advance(4 * 86400)
    response = await client.post(
        "/v1/holds", json=fcl_hold(world.sailing.id), headers=world.shipper.posting()
    )

    assert response.status_code == 409
    assert response.json()["type"] == "/problems/sailing-closed"


async def test_too_many_units_is_insufficient_capacity_and_changes_nothing(
    client: Client, world: World, runtime: Runtime
) -> None:
    response = await client.post(
        "/v1/holds", json=fcl_hold(world.sailing.id, 11), headers=world.shipper.posting()
    )

    assert response.status_code == 409
    problem = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert problem["type"] == "/problems/insufficient-capacity"
    assert problem["free"] == "10 units"
    assert await free_units(client, world) == 10


async def test_lcl_hold_is_charged_weight_or_measure_with_minimum(client: Client, world: World) -> None:
    by_weight = await client.post(
        "/v1/holds", json=lcl_hold(world.sailing.id, "2", "3500"), headers=world.shipper.posting()
    )
    minimum = await client.post(
        "/v1/holds", json=lcl_hold(world.sailing.id, "0.5", "100"), headers=world.shipper.posting()
    )

    assert by_weight.status_code == 201, by_weight.text
    assert by_weight.json()["price"]["amount"] == "280.00"  # 3.5 revenue tonnes x 80
    assert minimum.json()["price"]["amount"] == "120.00"


async def test_lcl_hold_that_fits_volume_but_not_weight_changes_nothing(
    client: Client, runtime: Runtime, world: World
) -> None:
    from decimal import Decimal

    from tests.factories import make_sailing

    sailing = await make_sailing(runtime, units=1, pool_payload_kg=Decimal("1000"))
    first = await client.post(
        "/v1/holds", json=lcl_hold(sailing.id, "1", "900"), headers=world.shipper.posting()
    )
    too_heavy = await client.post(
        "/v1/holds", json=lcl_hold(sailing.id, "1", "200"), headers=world.shipper.posting()
    )

    assert first.status_code == 201, first.text
    assert too_heavy.status_code == 409
    assert too_heavy.json()["type"] == "/problems/insufficient-capacity"
    view = (await client.get(f"/v1/sailings/{sailing.id}", headers=world.shipper.headers)).json()
    assert view["lcl"][0]["kg_free"] == "100.000"
    assert view["lcl"][0]["cbm_free"] == "57.000"
    assert await check_invariants(runtime) == []


async def test_pool_draws_a_container_from_the_allotment_when_full(
    client: Client, runtime: Runtime, world: World
) -> None:
    first = await client.post(
        "/v1/holds", json=lcl_hold(world.sailing.id, "50", "1000"), headers=world.shipper.posting()
    )
    second = await client.post(
        "/v1/holds", json=lcl_hold(world.sailing.id, "50", "1000"), headers=world.shipper.posting()
    )

    assert first.status_code == second.status_code == 201
    assert await free_units(client, world) == 8  # two 40' containers went into the pool
    assert await check_invariants(runtime) == []


async def test_a_pool_holds_more_than_32_bits_of_grams(
    client: Client, runtime: Runtime, world: World
) -> None:
    """Three containers of 900 t payload make a pool of 2,700,000,000 g: past a 32-bit counter
    (2,147,483,647), which PostgreSQL refused with "integer out of range" before the counters
    were 64-bit."""
    from decimal import Decimal

    from tests.factories import confirmation, make_sailing

    sailing = await make_sailing(runtime, pool_payload_kg=Decimal("900000"))
    holds = [
        await client.post(
            "/v1/holds", json=lcl_hold(sailing.id, "1", "900000"), headers=world.shipper.posting()
        )
        for _ in range(3)
    ]
    booked = await client.post(
        f"/v1/holds/{holds[0].json()['id']}/confirm",
        json=confirmation(cbm="1", kg="900000"),
        headers=world.shipper.posting(),
    )

    assert [hold.status_code for hold in holds] == [201, 201, 201], holds[-1].text
    assert booked.status_code == 201, booked.text
    view = (await client.get(f"/v1/sailings/{sailing.id}", headers=world.shipper.headers)).json()
    assert view["fcl"][0]["units_free"] == 7  # three containers drawn into the pool
    assert await check_invariants(runtime) == []


async def test_release_gives_units_back_and_is_repeatable(client: Client, world: World) -> None:
    hold = (
        await client.post("/v1/holds", json=fcl_hold(world.sailing.id, 2), headers=world.shipper.posting())
    ).json()

    first = await client.delete(f"/v1/holds/{hold['id']}", headers=world.shipper.headers)
    again = await client.delete(f"/v1/holds/{hold['id']}", headers=world.shipper.headers)

    assert first.status_code == again.status_code == 200
    assert first.json()["state"] == "released"
    assert await free_units(client, world) == 10


async def test_ttl_above_the_maximum_is_refused(client: Client, world: World) -> None:
    response = await client.post(
        "/v1/holds", json=fcl_hold(world.sailing.id, ttl_seconds=99999), headers=world.shipper.posting()
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "ttl_seconds"


async def test_unknown_sailing_is_404(client: Client, world: World) -> None:
    import uuid

    response = await client.post("/v1/holds", json=fcl_hold(uuid.uuid4()), headers=world.shipper.posting())
    assert response.status_code == 404
    assert response.json()["type"] == "/problems/not-found"


async def test_operator_checks_invariants_over_http(client: Client, world: World) -> None:
    await client.post("/v1/holds", json=fcl_hold(world.sailing.id, 2), headers=world.shipper.posting())

    report = await client.get("/v1/admin/invariants", headers=world.operator.headers)
    refused = await client.get("/v1/admin/invariants", headers=world.shipper.headers)

    assert report.status_code == 200
    assert report.json() == {"ok": True, "violations": []}
    assert refused.status_code == 403


async def test_invariant_check_reports_a_counter_that_drifted_from_its_holds(
    client: Client, world: World, runtime: Runtime
) -> None:
    from sqlalchemy import update

    from app.db import transaction
    from app.inventory.repository import allotments

    await client.post("/v1/holds", json=fcl_hold(world.sailing.id, 2), headers=world.shipper.posting())
    async with transaction(runtime.engine) as conn:
        await conn.execute(update(allotments).values(units_held=1))

    report = (await client.get("/v1/admin/invariants", headers=world.operator.headers)).json()

    assert report["ok"] is False
    assert [v["invariant"] for v in report["violations"]] == [2]
    assert "units_held is 1, ledger says 2" in report["violations"][0]["detail"]


async def test_a_hold_changes_nothing_on_its_allotment_but_units_held(
    client: Client, world: World, runtime: Runtime
) -> None:
    from sqlalchemy import select

    from app.db import transaction
    from app.inventory.repository import allotments

    async def allotment_row() -> dict[str, object]:
        async with transaction(runtime.engine, read_only=True) as conn:
            return dict((await conn.execute(select(allotments))).one()._mapping)

    before = await allotment_row()
    response = await client.post(
        "/v1/holds", json=fcl_hold(world.sailing.id, 2), headers=world.shipper.posting()
    )

    assert response.status_code == 201
    assert await allotment_row() == {**before, "units_held": before["units_held"] + 2}
