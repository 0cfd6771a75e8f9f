"""Three ``slotpool worker`` processes on one PostgreSQL: 2,000 holds with TTLs of 1-3 s are
each expired exactly once, counters equal the ledger, and the work gets done although one
worker is killed with SIGKILL mid-run."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from app.reservations.invariants import check_invariants
from app.runtime import Runtime
from tests.factories import World, make_sailing
from tests.jobs.holds import active_count, expired_events, place_fcl, place_lcl
from tests.jobs.test_expire_holds import poll
from tests.live_server import ROOT, free_port

pytestmark = pytest.mark.concurrency
HOLDS = 2_000
WORKERS = 3


@asynccontextmanager
async def workers(database_url: str, log_dir: Path) -> AsyncIterator[list[asyncio.subprocess.Process]]:
    """``slotpool worker`` processes, sweeping every 0.2 s in batches of 50; stopped on exit."""
    env = {
        **os.environ,
        "SLOTPOOL_DATABASE_URL": database_url,
        "SLOTPOOL_EXPIRE_INTERVAL_SECONDS": "0.2",
        "SLOTPOOL_EXPIRE_BATCH_SIZE": "50",
        "SLOTPOOL_LOG_LEVEL": "INFO",
    }
    logs = [log_dir / f"worker-{index}.log" for index in range(WORKERS)]
    processes = []
    for path in logs:
        # Each its own port for its health and metrics server, as on separate hosts.
        own = {**env, "SLOTPOOL_WORKER_PORT": str(free_port())}
        with path.open("wb") as log:
            processes.append(
                await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "app", "worker", cwd=ROOT, env=own, stdout=log, stderr=log
                )
            )
    try:
        for path in logs:
            await poll(lambda path=path: _started(path), until=True, timeout=30)
        yield processes
    finally:
        for process in processes:
            if process.returncode is None:
                process.kill()
                await process.wait()


async def _started(path: Path) -> bool:
    return b'"worker.started"' in path.read_bytes()


async def place_many(runtime: Runtime, world: World, count: int) -> None:
    """Place ``count`` holds with TTLs of 1-3 s, eight at a time, FCL on four sailings and LCL."""
    sailings = [await make_sailing(runtime, units=600, pool=False) for _ in range(4)]
    ttls = random.Random(7)
    gate = asyncio.Semaphore(8)

    async def one(index: int) -> None:
        async with gate:
            ttl = ttls.randint(1, 3)
            if index % 10 == 0:
                await place_lcl(runtime, world.shipper, world.sailing.id, ttl_seconds=ttl)
            else:
                await place_fcl(runtime, world.shipper, sailings[index % 4].id, ttl_seconds=ttl)

    await asyncio.gather(*(one(index) for index in range(count)))


async def test_three_workers_expire_2000_holds_exactly_once_though_one_is_killed_mid_run(
    runtime: Runtime, world: World, database_url: str, tmp_path: Path
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("several worker processes share PostgreSQL; SQLite is the one-process default")
    started = time.monotonic()
    async with workers(database_url, tmp_path) as processes:
        await place_many(runtime, world, HOLDS)
        # Kill one worker while the sweep is under way, without letting it clean up.
        await poll(lambda: _expired_at_least(runtime, HOLDS // 4), until=True, timeout=30)
        processes[0].send_signal(signal.SIGKILL)
        assert await processes[0].wait() == -signal.SIGKILL

        await poll(lambda: active_count(runtime), until=0, timeout=30)

        for survivor in processes[1:]:
            assert survivor.returncode is None, "a surviving worker died"
            survivor.send_signal(signal.SIGTERM)
        assert [await asyncio.wait_for(p.wait(), timeout=15) for p in processes[1:]] == [0, 0]

    per_hold = await expired_events(runtime)
    assert len(per_hold) == HOLDS
    assert set(per_hold.values()) == {1}
    assert await check_invariants(runtime) == []
    assert time.monotonic() - started < 60


async def _expired_at_least(runtime: Runtime, count: int) -> bool:
    return sum((await expired_events(runtime)).values()) >= count
