"""The event type catalogue: every type with a JSON Schema and an example that fits it, and
every payload the service really writes fits its type's schema."""

from __future__ import annotations

from typing import Any

import httpx
import msgspec
from jsonschema import Draft202012Validator, FormatChecker
from sqlalchemy import select

from app.db import transaction
from app.feed.repository import outbox
from app.feed.types import NAMES, payload_schema
from app.jobs.expire_holds import expire_overdue_holds
from app.reconcile.service import reconcile
from app.runtime import Runtime
from tests.factories import World, confirmation, fcl_hold, lcl_hold
from tests.reconcile.reconcile_world import fcl_booking, make_lane
from tests.reconcile.reconcile_world import fcl_hold as lane_hold


def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(payload_schema(name), format_checker=FormatChecker())


async def test_every_type_is_listed_with_a_versioned_schema_and_an_example_that_fits_it(
    client: httpx.AsyncClient, world: World
) -> None:
    response = await client.get("/v1/event-types", headers=world.shipper.headers)
    assert response.status_code == 200
    listed = response.json()
    assert {t["type"] for t in listed} == NAMES
    for entry in listed:
        assert entry["version"] == 1
        assert entry["description"]
        Draft202012Validator.check_schema(entry["schema"])
        errors = list(
            Draft202012Validator(entry["schema"], format_checker=FormatChecker()).iter_errors(
                entry["example"]
            )
        )
        assert errors == [], (entry["type"], errors)


async def test_every_payload_written_fits_its_types_schema(
    runtime: Runtime, client: httpx.AsyncClient, world: World
) -> None:
    shipper = world.shipper
    booked = await client.post(
        f"/v1/holds/{(await _hold(client, world, fcl_hold(world.sailing.id)))['id']}/confirm",
        json=confirmation(),
        headers=shipper.posting(),
    )
    reference = booked.json()["reference"]
    await client.patch(
        f"/v1/bookings/{reference}", json={"units": 2}, headers={**shipper.headers, "If-Match": '"v1"'}
    )
    await client.post(f"/v1/bookings/{reference}/cancel", headers=shipper.posting())
    released = await _hold(client, world, lcl_hold(world.sailing.id, "2.5", "800"))
    await client.delete(f"/v1/holds/{released['id']}", headers=shipper.headers)
    await _hold(client, world, fcl_hold(world.sailing.id, ttl_seconds=60))
    await _hold(client, world, lcl_hold(world.sailing.id, "1.5", "300", ttl_seconds=60))
    runtime.clock.advance(61)
    assert await expire_overdue_holds(runtime, batch_size=10, budget_seconds=10) == 2
    # A carrier cancels a sailing: holds released with a reason, bookings rolled with an
    # offered hold on the next sailing, the sailing's own event.
    lane = await make_lane(runtime)
    await fcl_booking(lane.rt, shipper, lane.ids["R1"], 2)
    await lane_hold(lane.rt, world.other_shipper, lane.ids["R1"], 1)
    await lane.resync(first=msgspec.structs.replace(lane.first, status="cancelled"))
    await reconcile(lane.rt)

    async with transaction(runtime.engine, read_only=True) as conn:
        written = list(await conn.execute(select(outbox.c.type, outbox.c.payload)))
    kinds = {row.type for row in written}
    assert kinds >= {
        "hold.created", "hold.confirmed", "hold.released", "hold.expired", "booking.confirmed",
        "booking.amended", "booking.cancelled", "booking.rolled", "sailing.cancelled",
    }  # fmt: skip
    assert kinds <= NAMES
    for row in written:
        errors = [error.message for error in validator(row.type).iter_errors(row.payload)]
        assert errors == [], (row.type, errors, row.payload)


async def _hold(client: httpx.AsyncClient, world: World, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post("/v1/holds", json=body, headers=world.shipper.posting())
    assert response.status_code == 201, response.text
    hold: dict[str, Any] = response.json()
    return hold
