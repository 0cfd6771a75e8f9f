"""The last unit (and the last CBM) is sold exactly once under 200 concurrent requests sent over
real HTTP to a live server process with two workers; a control run without the guard oversells,
which proves the requests really race."""

from __future__ import annotations

import asyncio
from collections import Counter
from decimal import Decimal
from typing import Any

import httpx
import pytest

from app.accounts.actor import OrgKind
from app.domain.states import Load
from app.reservations import holds
from app.reservations.invariants import check_invariants
from app.reservations.schemas import HoldCreate
from app.runtime import Runtime
from tests.factories import fcl_hold, lcl_hold, make_account, make_sailing
from tests.live_server import live_server

pytestmark = pytest.mark.concurrency
CLIENTS = 200


async def race(url: str, key: str, body: dict[str, Any], clients: int = CLIENTS) -> list[httpx.Response]:
    """Send ``clients`` identical holds at once, each on its own connection, released together."""
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as client:
        go = asyncio.Event()

        async def one(index: int) -> httpx.Response:
            await go.wait()
            headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": f"race-{index}"}
            return await client.post("/v1/holds", json=body, headers=headers)

        attempts = [asyncio.create_task(one(i)) for i in range(clients)]
        go.set()
        return await asyncio.gather(*attempts)


def outcomes(responses: list[httpx.Response]) -> Counter[tuple[int, str]]:
    return Counter((r.status_code, r.json().get("type", "created")) for r in responses)


async def test_last_fcl_unit_is_sold_once_under_200_concurrent_holds(
    runtime: Runtime, database_url: str
) -> None:
    shipper = await make_account(runtime, OrgKind.SHIPPER)
    sailing = await make_sailing(runtime, units=1, pool=False)

    async with live_server(database_url) as url:
        responses = await race(url, shipper.key, fcl_hold(sailing.id, 1))

    assert outcomes(responses) == {
        (201, "created"): 1,
        (409, "/problems/insufficient-capacity"): CLIENTS - 1,
    }
    assert await check_invariants(runtime) == []


async def test_last_cbm_of_a_pool_is_sold_once_under_200_concurrent_holds(
    runtime: Runtime, database_url: str
) -> None:
    shipper = await make_account(runtime, OrgKind.SHIPPER)
    sailing = await make_sailing(runtime, units=1, size_type="22G1")  # one 20' container: 28 CBM
    first = HoldCreate(sailing_id=sailing.id, load=Load.LCL, cbm=Decimal(27), kg=Decimal(1000))
    await holds.place_hold(runtime, shipper.actor, first)

    async with live_server(database_url) as url:
        responses = await race(url, shipper.key, lcl_hold(sailing.id, "1", "100"))

    assert outcomes(responses) == {
        (201, "created"): 1,
        (409, "/problems/insufficient-capacity"): CLIENTS - 1,
    }
    view = await make_view(runtime, sailing.id)
    assert view["cbm_free"] == Decimal("0.000")
    assert await check_invariants(runtime) == []


async def test_without_the_guard_the_same_race_oversells(runtime: Runtime, database_url: str) -> None:
    """Control: the naive check-then-write claim (tests/concurrency/unguarded.py) must oversell
    here, or the tests above prove nothing."""
    shipper = await make_account(runtime, OrgKind.SHIPPER)
    sailing = await make_sailing(runtime, units=1, pool=False)

    async with live_server(database_url, app_factory="tests.concurrency.unguarded:create_app") as url:
        responses = await race(url, shipper.key, fcl_hold(sailing.id, 1))

    sold = sum(1 for r in responses if r.status_code == 201)
    assert sold > 1, "the requests did not race: the concurrency tests would prove nothing"
    assert any(v.invariant == 2 for v in await check_invariants(runtime))


async def make_view(runtime: Runtime, sailing_id: Any) -> dict[str, Any]:
    from app.inventory.service import get_sailing

    view = await get_sailing(runtime, sailing_id)
    return {"cbm_free": view.lcl[0].cbm_free, "kg_free": view.lcl[0].kg_free}
