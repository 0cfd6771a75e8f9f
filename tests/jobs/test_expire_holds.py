"""The expire-holds job: every overdue hold is expired exactly once, counters move once, and a
cancelled or late run leaves nothing half done."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import msgspec
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from app.clock import Clock
from app.db import transaction
from app.domain.errors import HoldExpired
from app.jobs import expire_holds
from app.jobs.expire_holds import expire_overdue_holds
from app.jobs.scheduler import running_scheduler
from app.reservations import bookings, space
from app.reservations.invariants import check_invariants
from app.runtime import Runtime
from tests.factories import World, make_sailing
from tests.jobs.holds import (
    active_count,
    confirm_request,
    expired_events,
    place_fcl,
    place_lcl,
    states,
)


async def test_every_overdue_hold_expires_exactly_once_and_holds_not_due_stay(
    runtime: Runtime, world: World
) -> None:
    overdue = [await place_fcl(runtime, world.shipper, world.sailing.id, ttl_seconds=60) for _ in range(5)]
    overdue += [await place_lcl(runtime, world.shipper, world.sailing.id, ttl_seconds=60) for _ in range(3)]
    not_due = [await place_fcl(runtime, world.other_shipper, world.sailing.id, ttl_seconds=600)]
    not_due.append(await place_lcl(runtime, world.other_shipper, world.sailing.id, ttl_seconds=600))
    runtime.clock.advance(61)

    first = await expire_overdue_holds(runtime, batch_size=3, budget_seconds=60)
    second = await expire_overdue_holds(runtime, batch_size=3, budget_seconds=60)

    assert (first, second) == (8, 0)
    after = await states(runtime)
    assert {after[h.id] for h in overdue} == {"expired"}
    assert {after[h.id] for h in not_due} == {"active"}
    assert await expired_events(runtime) == {str(h.id): 1 for h in overdue}
    assert await check_invariants(runtime) == []


async def test_a_run_stops_claiming_batches_when_its_time_budget_is_spent(
    runtime: Runtime, world: World
) -> None:
    for _ in range(6):
        await place_fcl(runtime, world.shipper, world.sailing.id, ttl_seconds=60)
    runtime.clock.advance(61)

    # A spent budget still lets one batch through, then leaves the rest to the next run.
    assert await expire_overdue_holds(runtime, batch_size=2, budget_seconds=1e-9) == 2
    assert await active_count(runtime) == 4
    assert await check_invariants(runtime) == []


async def test_a_worker_started_after_downtime_catches_up_in_its_first_run(
    runtime: Runtime, world: World
) -> None:
    sailing = await make_sailing(runtime, units=40)
    for index in range(30):
        await place_fcl(runtime, world.shipper, sailing.id, ttl_seconds=60 + index)
    for _ in range(6):
        await place_lcl(runtime, world.shipper, world.sailing.id, ttl_seconds=60)
    runtime.clock.advance(3600)  # nobody swept for an hour
    # Small batches, and an interval so long that only the run at start-up can do the work.
    settings = msgspec.structs.replace(runtime.settings, expire_batch_size=4, expire_interval_seconds=3600)
    restarted = Runtime(settings=settings, engine=runtime.engine, clock=runtime.clock)

    async with running_scheduler(restarted, [expire_holds.scheduled(settings)]):
        await poll(lambda: active_count(runtime), until=0)

    assert set((await states(runtime)).values()) == {"expired"}
    assert set((await expired_events(runtime)).values()) == {1}
    assert len(await expired_events(runtime)) == 36
    assert await check_invariants(runtime) == []


async def test_cancelling_a_run_mid_batch_rolls_back_that_batch_and_the_next_run_finishes(
    runtime: Runtime, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    sailing = await make_sailing(runtime, units=20)
    for _ in range(10):
        await place_fcl(runtime, world.shipper, sailing.id, ttl_seconds=60)
    runtime.clock.advance(61)
    release = space.expire_holds
    inside_third_batch = asyncio.Event()
    batches = 0

    async def stall_in_third_batch(conn: AsyncConnection, *args: Any, **kwargs: Any) -> list[Any]:
        """The real release, but the third batch hangs after its UPDATEs, before its commit."""
        nonlocal batches
        released = await release(conn, *args, **kwargs)
        batches += 1
        if batches == 3:
            inside_third_batch.set()
            await asyncio.Event().wait()
        return released

    monkeypatch.setattr(space, "expire_holds", stall_in_third_batch)
    run = asyncio.create_task(expire_overdue_holds(runtime, batch_size=2, budget_seconds=60))
    await asyncio.wait_for(inside_third_batch.wait(), timeout=10)
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run

    # Two batches committed (2, then 4: full batches double); the third, cancelled between its
    # UPDATEs and its commit, is gone.
    assert await active_count(runtime) == 4
    assert sum((await expired_events(runtime)).values()) == 6
    assert await check_invariants(runtime) == []
    monkeypatch.setattr(space, "expire_holds", release)
    assert await expire_overdue_holds(runtime, batch_size=2, budget_seconds=60) == 4
    assert set((await expired_events(runtime)).values()) == {1}
    assert len(await expired_events(runtime)) == 10
    assert await check_invariants(runtime) == []


@pytest.mark.concurrency
async def test_a_confirm_racing_the_sweeper_on_the_same_hold_has_exactly_one_winner(
    runtime: Runtime, world: World
) -> None:
    """The confirm's transaction still sees the hold unexpired while the sweeper's already sees
    it overdue (database time is read at different instants); both run at once on their own
    connections, so only the row claim decides."""
    rounds = 40
    sailing = await make_sailing(runtime, units=rounds, pool=False)
    sweeper = Runtime(settings=runtime.settings, engine=runtime.engine, clock=Clock(offset_seconds=120))
    winners = {"confirm": 0, "sweeper": 0}
    for _ in range(rounds):
        hold = await place_fcl(runtime, world.shipper, sailing.id, ttl_seconds=60)
        go = asyncio.Event()

        async def confirm() -> str:
            await go.wait()
            try:
                await bookings.confirm_hold(runtime, world.shipper.actor, hold.id, confirm_request())
            except HoldExpired:
                return "lost"
            return "confirm"

        async def sweep() -> str:
            await go.wait()
            swept = await expire_overdue_holds(sweeper, batch_size=10, budget_seconds=60)
            return "sweeper" if swept else "lost"

        racers = asyncio.gather(confirm(), sweep())
        go.set()
        won = [outcome for outcome in await racers if outcome != "lost"]
        assert len(won) == 1, f"winners of one hold: {won}"
        winners[won[0]] += 1

    final = await states(runtime)
    assert sum(1 for state in final.values() if state == "confirmed") == winners["confirm"]
    assert sum(1 for state in final.values() if state == "expired") == winners["sweeper"]
    assert await check_invariants(runtime) == []


async def poll(read: Any, *, until: object, timeout: float = 20.0) -> None:
    """Await ``read()`` until it returns ``until``, or fail at the deadline."""
    deadline = time.monotonic() + timeout
    while (value := await read()) != until:
        assert time.monotonic() < deadline, f"still {value!r} after {timeout} s, waiting for {until!r}"
        await asyncio.sleep(0.05)


async def test_expire_holds_with_a_limit_expires_at_most_that_many(runtime: Runtime, world: World) -> None:
    for _ in range(6):
        await place_fcl(runtime, world.shipper, world.sailing.id, ttl_seconds=60)
    runtime.clock.advance(61)

    async with transaction(runtime.engine) as conn:
        expired = await space.expire_holds(conn, runtime.clock.shift(), limit=2)

    assert expired == 2
