"""SIGTERM to ``slotpool worker`` (or ``slotpool serve`` running the jobs) in the middle of a
sweep: the batch in hand commits, the process exits within its grace period, its log has no
ERROR line and no traceback, and the invariants hold (holds left over wait for the next
sweeper)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path

import pytest

from app.reservations.invariants import check_invariants
from app.runtime import Runtime
from tests.conftest import TEST_SECRET_KEY
from tests.factories import World, make_sailing
from tests.jobs.holds import active_count, expired_events, place_fcl
from tests.jobs.test_expire_holds import poll
from tests.live_server import ROOT, free_port

pytestmark = pytest.mark.concurrency
HOLDS = 400
GRACE_SECONDS = 5


def log_lines(path: Path) -> list[dict[str, object]]:
    """The worker's JSON log; a line that is not JSON (a raw traceback) fails the test."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.mark.parametrize("command", ["worker", "serve"])
async def test_sigterm_mid_sweep_commits_the_batch_in_hand_and_exits_quietly_within_the_grace(
    command: str, runtime: Runtime, world: World, database_url: str, tmp_path: Path
) -> None:
    sailings = [await make_sailing(runtime, units=HOLDS // 4, pool=False) for _ in range(4)]
    gate = asyncio.Semaphore(8)

    async def place(index: int) -> None:
        async with gate:
            await place_fcl(runtime, world.shipper, sailings[index % 4].id, ttl_seconds=1)

    await asyncio.gather(*(place(index) for index in range(HOLDS)))
    # Overdue by the time the worker has started (well over a second).

    log_path = tmp_path / "worker.log"
    env = {
        **os.environ,
        "SLOTPOOL_DATABASE_URL": database_url,
        "SLOTPOOL_SECRET_KEYS": TEST_SECRET_KEY,
        "SLOTPOOL_LOG_LEVEL": "INFO",
        # One long sweep of many small batches: the signal lands between two of them.
        "SLOTPOOL_EXPIRE_BATCH_SIZE": "1",
        "SLOTPOOL_EXPIRE_INTERVAL_SECONDS": "600",
        "SLOTPOOL_EXPIRE_TIME_BUDGET_SECONDS": "600",
        "SLOTPOOL_SHUTDOWN_GRACE_SECONDS": str(GRACE_SECONDS),
    }
    with log_path.open("wb") as log:
        arguments = ["worker"] if command == "worker" else ["serve", "--port", str(free_port())]
        worker = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "app", *arguments, cwd=ROOT, env=env, stdout=log, stderr=log
        )
    try:
        await poll(lambda: _expired_any(runtime), until=True, timeout=30)
        worker.send_signal(signal.SIGTERM)
        signalled = time.monotonic()
        # uvicorn (serve) re-raises the signal once it has shut down cleanly.
        assert await asyncio.wait_for(worker.wait(), timeout=GRACE_SECONDS + 10) in (0, -signal.SIGTERM)
        took = time.monotonic() - signalled
    finally:
        if worker.returncode is None:
            worker.kill()
            await worker.wait()

    text = log_path.read_text()
    assert "Traceback" not in text, text[-3000:]
    lines = log_lines(log_path)
    loud = [line for line in lines if line.get("level") in ("error", "critical")]
    assert loud == [], loud
    stopped = [line for line in lines if line.get("event") == "scheduler.stopped"]
    assert [line["cancelled"] for line in stopped] == [0], stopped
    assert took < GRACE_SECONDS, f"exit took {took:.1f} s"

    # Stopped mid-sweep: some holds expired, each once, and the rest wait for the next sweeper.
    per_hold = await expired_events(runtime)
    assert set(per_hold.values()) == {1}
    assert 0 < len(per_hold) < HOLDS
    assert await active_count(runtime) == HOLDS - len(per_hold)
    assert await check_invariants(runtime) == []


async def _expired_any(runtime: Runtime) -> bool:
    return bool(await expired_events(runtime))
