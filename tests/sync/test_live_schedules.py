"""GET /v1/sailings/live asks every carrier at once: a slow or broken carrier is named in the
answer, never fails it, never delays it past the timeout; a carrier that keeps failing is
skipped once its breaker opens."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import msgspec
import pytest

from app.main import create_app
from app.runtime import Runtime
from tests.factories import World
from tests.sync.sync_world import add_carrier

TIMEOUT = 0.4


@pytest.fixture
async def live_client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    settings = msgspec.structs.replace(runtime.settings, live_query_timeout_seconds=TIMEOUT)
    quick = Runtime(settings=settings, engine=runtime.engine, clock=runtime.clock)
    transport = httpx.ASGITransport(app=create_app(runtime=quick))
    async with httpx.AsyncClient(transport=transport, base_url="http://slotpool.test") as client:
        yield client


async def test_one_slow_and_one_broken_carrier_never_fail_or_delay_the_answer(
    live_client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    await add_carrier(runtime, "SIMA", seed=1, lanes=["CNSHA-USLAX"])
    await add_carrier(runtime, "SIMB", seed=2, lanes=["CNSHA-USLAX"], latency=30.0)
    await add_carrier(runtime, "SIMC", seed=3, lanes=["CNSHA-USLAX"], error_rate=1.0)

    started = time.perf_counter()
    response = await live_client.get("/v1/sailings/live?origin=CNSHA", headers=world.shipper.headers)
    took = time.perf_counter() - started

    assert response.status_code == 200, response.text
    answer = response.json()
    assert {c["scac"]: c["status"] for c in answer["carriers"]} == {
        "SIMA": "ok",
        "SIMB": "timeout",
        "SIMC": "error",
        "TEST": "ok",  # the world's own simulated carrier
    }
    assert "SIMA" in {s["carrier_scac"] for s in answer["sailings"]}
    assert not {"SIMB", "SIMC"} & {s["carrier_scac"] for s in answer["sailings"]}
    assert took < TIMEOUT + 0.5


async def test_a_carrier_that_keeps_failing_is_skipped_once_its_breaker_opens(
    live_client: httpx.AsyncClient, runtime: Runtime, world: World
) -> None:
    await add_carrier(runtime, "SIMC", seed=3, lanes=["CNSHA-USLAX"], error_rate=1.0)

    statuses = []
    for _ in range(5):
        answer = (await live_client.get("/v1/sailings/live", headers=world.shipper.headers)).json()
        statuses.append({c["scac"]: c["status"] for c in answer["carriers"]}["SIMC"])

    assert statuses[0] == "error"
    assert statuses[-1] == "circuit_open"
