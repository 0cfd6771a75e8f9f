"""A ``hold.expired`` event (its payload built by the database, in bulk) describes the hold
exactly as the API does: the same fields, spelled the same, as the hold's other events."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from app.db import table_of, transaction
from app.events.models import OutboxEvent
from app.reservations import space
from app.reservations.invariants import check_invariants
from app.runtime import Runtime
from tests.factories import World, fcl_hold, lcl_hold

events = table_of(OutboxEvent)


async def payloads(runtime: Runtime, kind: str) -> dict[str, dict[str, Any]]:
    async with transaction(runtime.engine, read_only=True) as conn:
        rows = await conn.execute(select(events.c.subject_id, events.c.payload).where(events.c.type == kind))
        return dict(rows.tuples().all())


async def test_expired_payload_is_the_hold_as_the_api_shows_it(
    client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    placed = [
        await client.post("/v1/holds", json=fcl_hold(world.sailing.id, 2), headers=world.shipper.posting()),
        await client.post(
            "/v1/holds", json=lcl_hold(world.sailing.id, "2.125", "1450.5"), headers=world.shipper.posting()
        ),
        await client.post(
            "/v1/holds",
            json=fcl_hold(world.sailing.id, 1, on_behalf_of=str(world.market_shipper.organisation_id)),
            headers=world.marketplace.posting(),
        ),
    ]
    assert [r.status_code for r in placed] == [201, 201, 201]
    runtime.clock.advance(601)

    async with transaction(runtime.engine) as conn:
        expired = await space.expire_holds(conn, runtime.clock.shift())

    assert expired == 3
    created, ended = await payloads(runtime, "hold.created"), await payloads(runtime, "hold.expired")
    for response in placed:
        hold = response.json()
        shown = (await client.get(f"/v1/holds/{hold['id']}", headers=world.operator.headers)).json()
        assert ended[hold["id"]] == {**created[hold["id"]], "state": "expired"} == shown
    assert await check_invariants(runtime) == []
