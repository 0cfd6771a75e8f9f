"""The operator's preview and re-run of a sailing's consolidation, and house bills over HTTP."""

from __future__ import annotations

import httpx

from app.reservations import bookings
from app.runtime import Runtime
from tests.consolidation.closing_world import (
    booking_rows,
    container_rows,
    lcl_booking,
    mixed_pool,
    pool_id_of,
)
from tests.factories import build_world
from tests.factories import lcl_hold as lcl_hold_body


async def test_operator_previews_then_closes_then_replans_keeping_container_numbers(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    mixed = await mixed_pool(runtime, units=3)
    operator = mixed.world.operator
    path = f"/v1/admin/sailings/{mixed.sailing_id}/consolidation"

    preview = await client.get(path, headers=operator.headers)
    assert preview.status_code == 200, preview.text
    [pool] = preview.json()["pools"]
    assert pool["state"] == "open"
    assert len(pool["containers"]) == 3
    assert [(r["reference"], r["reason"]) for r in pool["rolled"]] == [
        (mixed.booked["chilled"].reference, "container-budget-exhausted")
    ]
    first = pool["containers"][0]
    assert first["master_reference"] is None
    assert first["volume_percent"] == "70.0"  # paint 4 + furniture 3 of 10 CBM
    assert first["bookings"] == [mixed.booked["paint"].reference, mixed.booked["furniture"].reference]
    # A dry run: nothing written.
    assert await container_rows(runtime, mixed.pool_id) == []
    assert (await booking_rows(runtime, mixed.sailing_id))[
        mixed.booked["chilled"].reference
    ].state == "confirmed"

    closed = await client.post(path, headers=operator.posting())
    assert closed.status_code == 200, closed.text
    [pool] = closed.json()["pools"]
    assert pool["state"] == "closed"
    assert pool["rolled"] == []
    references = {c["number"]: c["master_reference"] for c in pool["containers"]}
    assert sorted(references) == [1, 2, 3]
    assert all(reference for reference in references.values())

    # After a cancellation the re-plan keeps each container's number and master reference.
    await bookings.cancel_booking(runtime, mixed.world.shipper.actor, mixed.booked["furniture"].reference)
    replanned = await client.post(path, headers=operator.posting())
    assert replanned.status_code == 200, replanned.text
    [pool] = replanned.json()["pools"]
    assert {c["number"]: c["master_reference"] for c in pool["containers"]} == references
    assert pool["containers"][0]["bookings"] == [mixed.booked["paint"].reference]
    assert pool["containers"][0]["volume_percent"] == "40.0"

    shipper = await client.get(path, headers=mixed.world.shipper.headers)
    assert shipper.status_code == 403
    unknown = await client.get(
        "/v1/admin/sailings/00000000-0000-4000-8000-000000000000/consolidation", headers=operator.headers
    )
    assert unknown.status_code == 404


async def test_the_owner_reads_and_prints_its_house_bill_others_get_404(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    world = await build_world(runtime)
    booked = await lcl_booking(
        runtime,
        world,
        world.sailing.id,
        "2",
        dangerous_goods=[{"un_number": "1263", "imo_class": "3", "proper_shipping_name": "PAINT"}],
    )
    path = f"/v1/bookings/{booked.reference}/house-bill"
    before = await client.get(path, headers=world.shipper.headers)
    assert before.status_code == 404
    assert before.json()["type"] == "/problems/not-found"

    closing = await client.post(
        f"/v1/admin/sailings/{world.sailing.id}/consolidation", headers=world.operator.posting()
    )
    assert closing.status_code == 200, closing.text

    read = await client.get(f"/v1/bookings/{booked.reference}", headers=world.shipper.headers)
    view = read.json()
    assert view["container"]["number"] == 1
    number = view["house_bill_number"]
    assert number.startswith("SPHB-")

    bill = await client.get(path, headers=world.shipper.headers)
    assert bill.status_code == 200, bill.text
    body = bill.json()
    assert body["number"] == number
    assert body["container"] == {
        "number": 1,
        "master_reference": view["container"]["master_reference"],
        "size_type": "42G1",
    }
    assert body["shipper"]["name"] == "Exporter Ltd"
    assert (body["cbm"], body["gross_kg"], body["hs_code"]) == ("2", "500", "940360")
    assert body["dangerous_goods"][0]["un_number"] == "1263"
    assert body["port_of_loading"] == "CNSHA"

    page = await client.get(path, headers={**world.shipper.headers, "Accept": "text/html"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert number in page.text
    assert "Exporter Ltd" in page.text
    assert "UN 1263" in page.text

    # The closed pool takes no hold: 409 pool-closed, named as such.
    hold = await client.post(
        "/v1/holds", headers=world.shipper.posting(), json=lcl_hold_body(world.sailing.id, "1", "100")
    )
    assert hold.status_code == 409
    assert hold.json()["type"] == "/problems/pool-closed"

    for other in (world.other_shipper, world.marketplace):
        refused = await client.get(path, headers=other.headers)
        assert refused.status_code == 404
        assert number not in refused.text
    pool_id = await pool_id_of(runtime, world.sailing.id)
    assert len(await container_rows(runtime, pool_id)) == 1
