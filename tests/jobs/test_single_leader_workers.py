"""Three ``slotpool worker`` processes on one PostgreSQL, started at different times, with a 2 s
carrier sync: together they sync about once per 2 s (not three times as often), and a failing
job shows in ``GET /v1/admin/jobs`` and in each worker's ``/metrics``."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.carrier_adapters.repository import counters as carrier_counters
from app.db import transaction
from app.jobs.repository import runs
from app.runtime import Runtime
from tests.factories import World
from tests.jobs.test_expire_holds import poll
from tests.live_server import ROOT, free_port

pytestmark = pytest.mark.concurrency
WINDOW_SECONDS = 12.0
SYNC_INTERVAL = 2.0


async def start_worker(database_url: str, log: Path, port: int) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "SLOTPOOL_DATABASE_URL": database_url,
        "SLOTPOOL_SYNC_INTERVAL_SECONDS": str(SYNC_INTERVAL),
        "SLOTPOOL_WORKER_PORT": str(port),
        "SLOTPOOL_LOG_LEVEL": "INFO",
    }
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "app", "worker", cwd=ROOT, env=env, stdout=out, stderr=out
        )
    await poll(lambda: _started(log), until=True, timeout=30)
    return process


async def _started(log: Path) -> bool:
    return b'"worker.started"' in log.read_bytes()


async def carrier_calls_and_runs(runtime: Runtime) -> tuple[int, int]:
    """Schedule calls the simulated carrier counted (in the database, whoever called), and
    recorded runs of the sync."""
    async with transaction(runtime.engine, read_only=True) as conn:
        recorded = select(func.count()).select_from(runs).where(runs.c.job == "sync-carriers")
        return await carrier_calls(conn), (await conn.execute(recorded)).scalar_one()


async def carrier_calls(conn: AsyncConnection) -> int:
    calls = select(func.sum(carrier_counters.c.value)).where(carrier_counters.c.name == "syncs")
    return int((await conn.execute(calls)).scalar_one() or 0)


def samples(exposition: str, name: str) -> list[tuple[dict[str, str], float]]:
    return [
        (sample.labels, sample.value)
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
        if sample.name == name
    ]


async def test_three_workers_sync_carriers_once_per_interval_between_them_and_show_a_failing_job(
    runtime: Runtime, world: World, database_url: str, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("several worker processes share PostgreSQL; SQLite is the one-process default")
    # The purge job fails at every run: its table is away.
    async with transaction(runtime.engine) as conn:
        await conn.execute(text("ALTER TABLE idempotency_records RENAME TO idempotency_records_away"))
    ports = [free_port() for _ in range(3)]
    processes = []
    try:
        for index, port in enumerate(ports):
            processes.append(await start_worker(database_url, tmp_path / f"worker-{index}.log", port))
            await asyncio.sleep(0.7)  # started at different times: their ticks fall apart
        # The window: all three running, for 12 s.
        calls_before, runs_before = await carrier_calls_and_runs(runtime)
        await asyncio.sleep(WINDOW_SECONDS)
        calls_after, runs_after = await carrier_calls_and_runs(runtime)
        expositions = []
        async with httpx.AsyncClient(timeout=10) as http:
            for port in ports:
                answer = await http.get(f"http://127.0.0.1:{port}/metrics")
                assert answer.status_code == 200
                expositions.append(answer.text)
                assert (await http.get(f"http://127.0.0.1:{port}/health")).status_code == 200
                assert (await http.get(f"http://127.0.0.1:{port}/ready")).status_code == 200
        # The workers go on syncing while they are scraped one after the other.
        calls_scraped, _ = await carrier_calls_and_runs(runtime)
    finally:
        for process in processes:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                await asyncio.wait_for(process.wait(), timeout=15)
            except TimeoutError:
                process.kill()
                await process.wait()

    calls, sync_runs = calls_after - calls_before, runs_after - runs_before
    print(f"in {WINDOW_SECONDS:.0f} s: {calls} carrier schedule calls, {sync_runs} sync runs recorded")
    # About one sync per 2 s, never one per worker per 2 s (18).
    assert 4 <= calls <= 9, calls
    assert sync_runs == calls  # each recorded run called the carrier once
    schedule_calls = sum(
        value
        for exposition in expositions
        for labels, value in samples(exposition, "slotpool_carrier_calls_total")
        if labels["operation"] == "schedules"
    )
    # The metric counts the real calls: every call made before the scrapes began (one may have
    # been in flight, counted by the carrier as it came in, by the metric as it answered), and
    # none that was not made by the time they ended.
    assert calls_after - 1 <= schedule_calls <= calls_scraped, (calls_after, schedule_calls, calls_scraped)
    async with transaction(runtime.engine, read_only=True) as conn:
        total_calls = await carrier_calls(conn)

    purge_failures = sum(
        value
        for exposition in expositions
        for labels, value in samples(exposition, "slotpool_job_failures_total")
        if labels["job"] == "purge"
    )
    assert purge_failures == 1  # single leader: one worker ran it, once (daily)
    listing = await client.get("/v1/admin/jobs", headers=world.operator.headers)
    jobs = {job["job"]: job for job in listing.json()["jobs"]}
    assert (jobs["purge"]["runs"], jobs["purge"]["failures"]) == (1, 1)
    assert "idempotency_records" in jobs["purge"]["last_error"]
    assert jobs["sync-carriers"]["runs"] == total_calls
    assert jobs["sync-carriers"]["failures"] == 0
    assert jobs["expire-holds"]["runs"] >= 3 * 5  # every worker sweeps, every second
