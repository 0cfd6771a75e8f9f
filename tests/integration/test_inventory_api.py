"""The inventory over HTTP: operators load carriers, sailings, allotments and pools; anyone with a
key searches open sailings by lane, ETD window and free space."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from app.inventory.schemas import SailingView
from app.runtime import Runtime
from tests.factories import Account, World, fcl_hold, make_sailing

Client = httpx.AsyncClient


def when(moment: str) -> datetime:
    return datetime.fromisoformat(moment)


async def admin_post(client: Client, operator: Account, path: str, body: dict[str, Any]) -> httpx.Response:
    return await client.post(f"/v1/admin{path}", json=body, headers=operator.posting())


def voyage(etd: datetime, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "carrier_scac": "MAEU",
        "service_code": "AE7",
        "vessel_name": "MAERSK TEST",
        "vessel_imo": "9778791",
        "voyage_number": f"{uuid.uuid4().hex[:4].upper()}W",
        "port_of_loading": "CNNGB",
        "port_of_discharge": "DEHAM",
        "etd": etd.isoformat(),
        "eta": (etd + timedelta(days=30)).isoformat(),
    }
    body.update(changes)
    return body


async def register_maersk(client: Client, world: World) -> None:
    response = await admin_post(client, world.operator, "/carriers", {"scac": "MAEU", "name": "Maersk"})
    assert response.status_code == 201, response.text


async def search(client: Client, world: World, **params: Any) -> list[str]:
    """Ids of the sailings a search finds, following every cursor."""
    found: list[str] = []
    while True:
        response = await client.get("/v1/sailings", params=params, headers=world.shipper.headers)
        assert response.status_code == 200, response.text
        page = response.json()
        found += [item["id"] for item in page["items"]]
        if page["next_cursor"] is None:
            return found
        params = {**params, "cursor": page["next_cursor"]}


def ids(*sailings: SailingView) -> list[str]:
    return [str(s.id) for s in sailings]


# --- administration -------------------------------------------------------------------------


async def test_an_operator_loads_a_carrier_sailing_allotment_and_pool(
    client: Client, world: World, runtime: Runtime
) -> None:
    etd = datetime.now(UTC).replace(microsecond=0) + timedelta(days=10)
    cut_offs = {
        "DCO": etd - timedelta(days=2),
        "VCO": etd - timedelta(days=3),
        "FCO": etd - timedelta(days=1),
    }

    carrier = await admin_post(client, world.operator, "/carriers", {"scac": "MAEU", "name": "Maersk"})
    created = await admin_post(
        client,
        world.operator,
        "/sailings",
        voyage(etd, cut_offs={code: t.isoformat() for code, t in cut_offs.items()}),
    )
    sailing = created.json()
    allotment = await admin_post(
        client,
        world.operator,
        f"/sailings/{sailing['id']}/allotments",
        {"size_type": "42G1", "units": 12, "rate": "2100.00", "currency": "USD"},
    )
    pool = await admin_post(
        client,
        world.operator,
        f"/sailings/{sailing['id']}/pools",
        {"size_type": "42G1", "rate_per_revenue_tonne": "75", "minimum": "100", "currency": "USD"},
    )

    assert carrier.status_code == 201, carrier.text
    assert carrier.json()["scac"] == "MAEU"
    listed = await client.get("/v1/admin/carriers", headers=world.operator.headers)
    assert "MAEU" in {c["scac"] for c in listed.json()}
    assert created.status_code == 201, created.text
    assert created.headers["location"] == f"/v1/sailings/{sailing['id']}"
    assert when(sailing["cut_off"]) == cut_offs["VCO"]  # the earliest DCSA cut-off
    assert {code: when(t) for code, t in sailing["cut_offs"].items()} == cut_offs
    assert sailing["status"] == "open"
    assert allotment.status_code == 201, allotment.text
    assert allotment.json()["fcl"] == [
        {
            "size_type": "42G1",
            "units_total": 12,
            "units_free": 12,
            "price_per_unit": {"amount": "2100.00", "currency": "USD"},
        }
    ]
    assert pool.status_code == 201, pool.text
    lcl = pool.json()["lcl"][0]
    assert Decimal(lcl["usable_cbm_per_container"]) == 58  # a 40' container's default stowage
    assert Decimal(lcl["cbm_free"]) == 12 * 58
    hold = await client.post(
        "/v1/holds", json=fcl_hold(uuid.UUID(sailing["id"]), 2), headers=world.shipper.posting()
    )
    assert hold.status_code == 201, hold.text
    assert hold.json()["price"]["amount"] == "4200.00"


async def test_a_sailing_without_cut_offs_closes_a_day_before_etd(client: Client, world: World) -> None:
    await register_maersk(client, world)
    etd = datetime.now(UTC).replace(microsecond=0) + timedelta(days=10)

    created = await admin_post(client, world.operator, "/sailings", voyage(etd))

    assert created.status_code == 201, created.text
    assert when(created.json()["cut_off"]) == etd - timedelta(hours=24)


async def test_a_duplicate_carrier_allotment_pool_or_voyage_is_a_conflict(
    client: Client, world: World
) -> None:
    await register_maersk(client, world)
    etd = datetime.now(UTC) + timedelta(days=10)
    body = voyage(etd)
    sailing = (await admin_post(client, world.operator, "/sailings", body)).json()
    allotment = {"size_type": "22G1", "units": 4, "rate": "1200", "currency": "USD"}
    pool = {"size_type": "22G1", "rate_per_revenue_tonne": "70", "minimum": "90", "currency": "USD"}
    await admin_post(client, world.operator, f"/sailings/{sailing['id']}/allotments", allotment)
    await admin_post(client, world.operator, f"/sailings/{sailing['id']}/pools", pool)

    answers = [
        await admin_post(client, world.operator, "/carriers", {"scac": "MAEU", "name": "Maersk again"}),
        await admin_post(client, world.operator, "/sailings", body),
        await admin_post(client, world.operator, f"/sailings/{sailing['id']}/allotments", allotment),
        await admin_post(client, world.operator, f"/sailings/{sailing['id']}/pools", pool),
    ]

    for answer in answers:
        assert answer.status_code == 409, answer.text
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.json()["type"] == "/problems/conflict"
    view = await client.get(f"/v1/sailings/{sailing['id']}", headers=world.shipper.headers)
    assert [a["units_total"] for a in view.json()["fcl"]] == [4]
    assert len(view.json()["lcl"]) == 1


async def test_impossible_sailings_are_refused_with_the_field_named(client: Client, world: World) -> None:
    await register_maersk(client, world)
    etd = datetime.now(UTC) + timedelta(days=10)
    cases = [
        (voyage(etd, eta=(etd - timedelta(days=1)).isoformat()), "eta"),
        (voyage(etd, cut_off=(etd + timedelta(hours=1)).isoformat()), "cut_off"),
        (voyage(etd, carrier_scac="NOPE"), "carrier_scac"),
        (voyage(etd, port_of_discharge="CNNGB"), "port_of_discharge"),
        ({**voyage(etd), "etd": etd.replace(tzinfo=None).isoformat()}, "etd"),
    ]

    for body, field in cases:
        response = await admin_post(client, world.operator, "/sailings", body)

        assert response.status_code == 422, (field, response.text)
        assert response.json()["errors"][0]["field"] == field
    assert await search(client, world, origin="CNNGB") == []


async def test_space_needs_a_sailing_and_a_pool_needs_its_allotment(client: Client, world: World) -> None:
    nowhere = await admin_post(
        client,
        world.operator,
        f"/sailings/{uuid.uuid4()}/allotments",
        {"size_type": "42G1", "units": 1, "rate": "1", "currency": "USD"},
    )
    orphan_pool = await admin_post(
        client,
        world.operator,
        f"/sailings/{world.sailing.id}/pools",
        {"size_type": "22G1", "rate_per_revenue_tonne": "70", "minimum": "0", "currency": "USD"},
    )

    assert nowhere.status_code == 404
    assert nowhere.json()["type"] == "/problems/not-found"
    assert orphan_pool.status_code == 422
    assert orphan_pool.json()["errors"][0]["field"] == "size_type"


# --- search ---------------------------------------------------------------------------------


async def test_search_filters_by_lane(client: Client, world: World, runtime: Runtime) -> None:
    to_hamburg = await make_sailing(runtime, origin="CNYTN", destination="DEHAM")
    to_rotterdam = await make_sailing(runtime, origin="CNYTN", destination="NLRTM")
    from_busan = await make_sailing(runtime, origin="KRPUS", destination="DEHAM")

    assert sorted(await search(client, world, origin="CNYTN")) == sorted(ids(to_hamburg, to_rotterdam))
    assert sorted(await search(client, world, destination="DEHAM")) == sorted(ids(to_hamburg, from_busan))
    assert await search(client, world, origin="CNYTN", destination="NLRTM") == ids(to_rotterdam)


async def test_search_filters_by_etd_window(client: Client, world: World, runtime: Runtime) -> None:
    lane: dict[str, Any] = {"origin": "VNSGN", "destination": "USLGB"}
    early = await make_sailing(runtime, cut_off_in=timedelta(days=2), **lane)
    middle = await make_sailing(runtime, cut_off_in=timedelta(days=5), **lane)
    late = await make_sailing(runtime, cut_off_in=timedelta(days=9), **lane)
    now = datetime.now(UTC)

    window = await search(
        client,
        world,
        origin="VNSGN",
        etd_from=(now + timedelta(days=4)).isoformat(),
        etd_to=(now + timedelta(days=8)).isoformat(),
    )
    from_only = await search(client, world, origin="VNSGN", etd_from=(now + timedelta(days=4)).isoformat())
    to_only = await search(client, world, origin="VNSGN", etd_to=(now + timedelta(days=8)).isoformat())

    assert window == ids(middle)
    assert from_only == ids(middle, late)
    assert to_only == ids(early, middle)


async def test_search_filters_by_size_type_and_free_units(
    client: Client, world: World, runtime: Runtime
) -> None:
    lane: dict[str, Any] = {"origin": "THLCH", "destination": "AUSYD"}
    forties = await make_sailing(runtime, units=10, **lane)
    twenties = await make_sailing(runtime, units=10, size_type="22G1", **lane)
    nearly_full = await make_sailing(runtime, units=10, **lane)
    await client.post("/v1/holds", json=fcl_hold(nearly_full.id, 8), headers=world.other_shipper.posting())

    assert await search(client, world, origin="THLCH", size_type="22G1") == ids(twenties)
    assert sorted(await search(client, world, origin="THLCH", size_type="42G1")) == sorted(
        ids(forties, nearly_full)
    )
    assert sorted(await search(client, world, origin="THLCH", min_units=3)) == sorted(ids(forties, twenties))
    assert await search(client, world, origin="THLCH", size_type="42G1", min_units=3) == ids(forties)
    assert sorted(await search(client, world, origin="THLCH", min_units=2)) == sorted(
        ids(forties, twenties, nearly_full)
    )


async def test_search_filters_by_free_lcl_volume(client: Client, world: World, runtime: Runtime) -> None:
    lane: dict[str, Any] = {"origin": "INNSA", "destination": "GBFXT"}
    roomy = await make_sailing(runtime, units=10, **lane)
    one_box = await make_sailing(runtime, units=1, **lane)
    await make_sailing(runtime, units=10, pool=False, **lane)

    assert sorted(await search(client, world, origin="INNSA", min_cbm="1")) == sorted(ids(roomy, one_box))
    assert await search(client, world, origin="INNSA", min_cbm="100") == ids(roomy)
    # One 40' container holds exactly 58 usable CBM: enough for 58, not for 58.001.
    assert sorted(await search(client, world, origin="INNSA", min_cbm="58")) == sorted(ids(roomy, one_box))
    assert await search(client, world, origin="INNSA", min_cbm="58.001") == ids(roomy)


async def test_search_hides_sailings_past_their_cut_off(
    client: Client, world: World, runtime: Runtime
) -> None:
    lane: dict[str, Any] = {"origin": "MYPKG", "destination": "ZADUR"}
    closing = await make_sailing(runtime, cut_off_in=timedelta(minutes=1), **lane)
    open_one = await make_sailing(runtime, cut_off_in=timedelta(days=2), **lane)
    assert await search(client, world, origin="MYPKG") == ids(closing, open_one)

    runtime.clock.advance(120)

    assert await search(client, world, origin="MYPKG") == ids(open_one)


async def test_search_paginates_in_etd_order_with_a_cursor(
    client: Client, world: World, runtime: Runtime
) -> None:
    lane: dict[str, Any] = {"origin": "TWKHH", "destination": "CAVAN"}
    made = [await make_sailing(runtime, cut_off_in=timedelta(days=d), **lane) for d in (6, 2, 5, 3, 4)]
    in_etd_order = sorted(made, key=lambda s: s.etd)

    pages: list[list[str]] = []
    params: dict[str, Any] = {"origin": "TWKHH", "limit": 2}
    while True:
        response = await client.get("/v1/sailings", params=params, headers=world.shipper.headers)
        assert response.status_code == 200, response.text
        page = response.json()
        pages.append([item["id"] for item in page["items"]])
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]

    assert [len(p) for p in pages] == [2, 2, 1]
    assert [sailing_id for page in pages for sailing_id in page] == ids(*in_etd_order)


async def test_search_refuses_a_cursor_it_did_not_issue(client: Client, world: World) -> None:
    response = await client.get("/v1/sailings", params={"cursor": "not-ours"}, headers=world.shipper.headers)

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "cursor"


async def test_reading_an_unknown_sailing_is_404(client: Client, world: World) -> None:
    response = await client.get(f"/v1/sailings/{uuid.uuid4()}", headers=world.shipper.headers)

    assert response.status_code == 404
    assert response.json()["type"] == "/problems/not-found"
