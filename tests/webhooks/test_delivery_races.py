"""Delivery on several workers at once: no attempt is sent twice, a dead worker's claim is
taken over when its lease ends, and a slow endpoint never delays the others."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import httpx
import msgspec
import pytest
from sqlalchemy import func, select

from app.clock import Clock
from app.db import create_engine, transaction
from app.feed.sequencer import sequence_events
from app.jobs import webhooks as webhook_job
from app.jobs.scheduler import running_scheduler
from app.runtime import Runtime
from app.webhooks import delivery, repository
from tests.factories import Account, World, fcl_hold, make_sailing
from tests.webhooks.flows import deliver_until, register
from tests.webhooks.receiver import Behaviour, Receiver

pytestmark = pytest.mark.concurrency


@pytest.fixture
async def second_worker(runtime: Runtime) -> AsyncIterator[Runtime]:
    """Another replica: its own engine on the same database, the same clock."""
    rt = Runtime(settings=runtime.settings, engine=create_engine(runtime.settings), clock=runtime.clock)
    try:
        yield rt
    finally:
        await rt.engine.dispose()


async def holds(client: httpx.AsyncClient, account: Account, sailing: uuid.UUID, count: int) -> None:
    for _ in range(count):
        response = await client.post("/v1/holds", json=fcl_hold(sailing), headers=account.posting())
        assert response.status_code == 201, response.text


async def test_two_workers_never_send_the_same_attempt_twice(
    runtime: Runtime,
    second_worker: Runtime,
    client: httpx.AsyncClient,
    world: World,
    receiver: Receiver,
) -> None:
    accounts = [world.shipper, world.other_shipper, world.market_shipper]
    sailing = (await make_sailing(runtime, units=100)).id
    for index, account in enumerate(accounts):
        await register(client, account, receiver.url(f"/r{index}"))
        await register(client, account, receiver.url(f"/s{index}"))
    expected = 0
    deadline = time.monotonic() + 60
    for wave in range(4):
        for account in accounts:
            await holds(client, account, sailing, 2)
        expected += 2 * len(accounts) * 2
        # Both workers run rounds at once until every delivery of this wave is made.
        while len(receiver.requests) < expected and time.monotonic() < deadline:
            await asyncio.gather(delivery.run(runtime), delivery.run(second_worker))
        assert len(receiver.requests) == expected, f"wave {wave}"

    per_path = Counter((r.path, r.headers["webhook-id"]) for r in receiver.requests)
    assert set(per_path.values()) == {1}
    assert len({path for path, _ in per_path}) == 6
    async with transaction(runtime.engine, read_only=True) as conn:
        attempts = (await conn.execute(select(func.count()).select_from(repository.attempts))).scalar_one()
        numbers = set((await conn.execute(select(repository.attempts.c.attempt))).scalars())
    assert (attempts, numbers) == (expected, {1})


async def test_a_dead_workers_claim_is_taken_over_when_its_lease_ends(
    runtime: Runtime, second_worker: Runtime, client: httpx.AsyncClient, world: World, receiver: Receiver
) -> None:
    await register(client, world.shipper, receiver.url())
    await holds(client, world.shipper, world.sailing.id, 3)
    await sequence_events(runtime)
    await delivery.fan_out(runtime)
    # A worker claims the endpoint and its deliveries, then dies before sending anything.
    async with transaction(runtime.engine) as conn:
        now = await repository.database_now(conn, runtime.clock.now_sql(runtime.dialect))
        until = now + timedelta(seconds=runtime.settings.webhook_lease_seconds)
        [endpoint] = await repository.claim_endpoints(conn, now, uuid.uuid4(), until, 10)
        assert (
            len(await repository.claim_deliveries(conn, endpoint.id, now, endpoint.lease_token, until, 10))
            == 3
        )

    await delivery.run(second_worker)
    assert receiver.requests == []  # still leased
    runtime.clock.advance(runtime.settings.webhook_lease_seconds + 1)
    await deliver_until(second_worker, lambda: len(receiver.requests) == 3)

    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 3
    async with transaction(runtime.engine, read_only=True) as conn:
        numbers = set((await conn.execute(select(repository.attempts.c.attempt))).scalars())
    assert numbers == {2}  # the lost attempt counted


async def test_a_slow_endpoint_never_delays_the_others(
    runtime: Runtime, client: httpx.AsyncClient, world: World, receiver: Receiver
) -> None:
    """A hangs (up to the 30 s attempt timeout); B's events, placed while A hangs, are delivered
    at once by the scheduled job, and A never has more than its 2 requests in flight."""
    settings = msgspec.structs.replace(
        runtime.settings,
        webhook_interval_seconds=0.1,
        webhook_timeout_seconds=30.0,
        webhook_endpoint_concurrency=2,
    )
    rt = Runtime(settings=settings, engine=runtime.engine, clock=Clock())
    gate = asyncio.Event()
    receiver.behaviours["/slow"] = Behaviour(gate=gate)
    await register(client, world.shipper, receiver.url("/slow"))
    await register(client, world.other_shipper, receiver.url("/fast"))

    async with running_scheduler(rt, [webhook_job.scheduled(settings)]):
        await holds(client, world.shipper, world.sailing.id, 5)
        await _until(lambda: receiver.in_flight_at("/slow") == 2, timeout=15)
        started = time.monotonic()
        await holds(client, world.other_shipper, world.sailing.id, 5)
        await _until(lambda: len(receiver.answered("/fast")) == 5, timeout=15)
        fast_took = time.monotonic() - started
        assert receiver.in_flight_at("/slow") == 2  # still hanging meanwhile
        gate.set()
        await _until(lambda: len(receiver.answered("/slow")) == 5, timeout=15)

    assert fast_took < 10, fast_took
    assert receiver.most_in_flight["/slow"] == 2
    assert len({r.headers["webhook-id"] for r in receiver.answered("/slow")}) == 5


async def _until(condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)
