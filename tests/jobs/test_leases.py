"""Single-leader jobs: a replica starts a run only when the job's last start, in any replica, is
older than its interval by database time, and no other run holds its lease; every run of every
job is counted in the database."""

from __future__ import annotations

import asyncio

import httpx
import msgspec
import pytest
from sqlalchemy import select, text

from app.db import transaction
from app.jobs import repository, runs
from app.jobs.job import ScheduledJob
from app.jobs.scheduler import JobScheduler, scheduled_jobs
from app.runtime import Runtime
from tests.conftest import test_runtime as runtime_on
from tests.factories import World

INTERVAL = 100.0  # due again 95 s after its last start (app.jobs.runs.due_after)


async def nothing(rt: Runtime) -> None:
    return None


LEADER = ScheduledJob(id="test-leader", every_seconds=INTERVAL, run=nothing, single_leader=True)


async def lead_of(rt: Runtime, job: ScheduledJob = LEADER, replica: str = "replica-a") -> runs.Lead | None:
    return await runs.take_lead(rt, job, replica)


async def test_a_single_leader_job_starts_again_only_once_its_interval_has_passed_by_database_time(
    runtime: Runtime,
) -> None:
    await runs.register(runtime, [LEADER])
    first = await lead_of(runtime)
    assert first is not None
    await runs.finish(runtime, LEADER.id, first, seconds=0.1, error=None)

    assert await lead_of(runtime, replica="replica-b") is None  # ran a moment ago
    runtime.clock.advance(INTERVAL - 10)
    assert await lead_of(runtime, replica="replica-b") is None
    runtime.clock.advance(6)  # 96 s after the start: due (a tick may land a little early)
    second = await lead_of(runtime, replica="replica-b")
    assert second is not None
    assert (second.started_at - first.started_at).total_seconds() == pytest.approx(96, abs=2)


async def test_a_run_in_flight_keeps_the_job_from_starting_elsewhere_until_its_lease_lapses(
    database_url: str,
) -> None:
    async with runtime_on(database_url, job_lease_seconds=60.0) as rt:
        quick = ScheduledJob(id="test-quick", every_seconds=10.0, run=nothing, single_leader=True)
        await runs.register(rt, [quick])
        running = await lead_of(rt, quick)
        assert running is not None

        rt.clock.advance(30)  # due again, but the run still holds its lease
        assert await lead_of(rt, quick, "replica-b") is None
        rt.clock.advance(31)  # the lease lapsed: its replica died; another takes over
        taken_over = await lead_of(rt, quick, "replica-b")
        assert taken_over is not None

        # The first run's late end neither ends the new run's lease nor fails.
        await runs.finish(rt, quick.id, running, seconds=61, error=None)
        rt.clock.advance(11)
        assert await lead_of(rt, quick, "replica-c") is None


async def test_of_replicas_racing_for_a_due_job_exactly_one_starts_it(database_url: str) -> None:
    # Each replica its own engine: separate connections, as separate processes would have.
    async with runtime_on(database_url) as first:
        await runs.register(first, [LEADER])
        replicas = [first]
        try:
            for _ in range(5):
                replicas.append(await _another_replica(database_url))
            for _ in range(3):
                leads = await asyncio.gather(
                    *(lead_of(rt, replica=f"replica-{n}") for n, rt in enumerate(replicas))
                )
                started = [lead for lead in leads if lead is not None]
                assert len(started) == 1
                await runs.finish(first, LEADER.id, started[0], seconds=0.0, error=None)
                for rt in replicas:
                    rt.clock.advance(INTERVAL)
        finally:
            for rt in replicas[1:]:
                await rt.engine.dispose()


async def _another_replica(database_url: str) -> Runtime:
    manager = runtime_on(database_url)
    return await manager.__aenter__()


async def test_the_lease_is_renewed_while_a_long_run_lasts(database_url: str) -> None:
    async with runtime_on(database_url, job_lease_seconds=3.0) as rt:
        release = asyncio.Event()

        async def long_run(_: Runtime) -> None:
            await release.wait()

        job = ScheduledJob(id="test-long", every_seconds=1.0, run=long_run, single_leader=True)
        scheduler = JobScheduler(rt, [job])
        run = asyncio.create_task(scheduler._run_once(job))
        first = await _lease_until(rt, job.id, until_set=True)
        await asyncio.sleep(1.5)  # past one renewal (every third of the lease)
        renewed = await _lease_until(rt, job.id, until_set=True)
        assert renewed > first
        release.set()
        await run
        assert await _lease_row(rt, job.id) == (None, None)


async def _lease_row(rt: Runtime, job: str) -> tuple[object, object]:
    async with transaction(rt.engine, read_only=True) as conn:
        row = (
            await conn.execute(
                select(repository.leases.c.holder, repository.leases.c.lease_until).where(
                    repository.leases.c.job == job
                )
            )
        ).first()
    return (None, None) if row is None else (row.holder, row.lease_until)


async def _lease_until(rt: Runtime, job: str, *, until_set: bool) -> object:
    for _ in range(100):
        _, until = await _lease_row(rt, job)
        if until is not None or not until_set:
            return until
        await asyncio.sleep(0.05)
    raise AssertionError("the run never took its lease")


async def test_runs_are_recorded_and_a_failing_job_shows_in_the_admin_listing(
    runtime: Runtime, world: World, client: httpx.AsyncClient
) -> None:
    async def failing(_: Runtime) -> None:
        raise RuntimeError("carrier feed unreadable")

    broken = ScheduledJob(id="test-broken", every_seconds=1.0, run=failing, single_leader=True)
    steady = ScheduledJob(id="test-steady", every_seconds=1.0, run=nothing)
    scheduler = JobScheduler(runtime, [broken, steady])
    for _ in range(3):
        await scheduler._run_once(steady)
    await scheduler._run_once(broken)
    await scheduler._run_once(broken)  # not due again yet: no second run

    answer = await client.get("/v1/admin/jobs", headers=world.operator.headers)
    assert answer.status_code == 200, answer.text
    jobs = {job["job"]: job for job in answer.json()["jobs"]}
    assert jobs["test-broken"]["runs"] == 1
    assert jobs["test-broken"]["failures"] == 1
    assert jobs["test-broken"]["last_error"] == "RuntimeError: carrier feed unreadable"
    assert jobs["test-broken"]["last_error_at"] is not None
    assert jobs["test-broken"]["last_success_at"] is None
    assert (jobs["test-steady"]["runs"], jobs["test-steady"]["failures"]) == (3, 0)
    assert jobs["test-steady"]["last_success_at"] is not None
    assert jobs["test-steady"]["overdue"] is False
    assert jobs["sync-carriers"]["runs"] == 0  # scheduled by the service, never run here

    async with transaction(runtime.engine, read_only=True) as conn:
        recorded = await repository.recent_runs(conn, "test-broken", 10)
        assert await repository.recent_runs(conn, "test-steady", 10) == []  # counters only
    assert [(run.outcome, run.error) for run in recorded] == [
        ("failed", "RuntimeError: carrier feed unreadable")
    ]

    shipper = await client.get("/v1/admin/jobs", headers=world.shipper.headers)
    assert shipper.status_code == 403


async def test_health_of_jobs_answers_503_naming_a_job_without_recent_success(
    runtime: Runtime, client: httpx.AsyncClient
) -> None:
    settings = msgspec.structs.replace(runtime.settings, sync_interval_seconds=30.0)
    rt = Runtime(settings=settings, engine=runtime.engine, clock=runtime.clock)
    jobs = scheduled_jobs(settings)
    await runs.register(rt, jobs)
    for job in jobs:
        await runs.finish(rt, job.id, None, seconds=0.01, error=None)

    ok = await client.get("/health/jobs")
    assert ok.status_code == 200, ok.text
    assert ok.json() == {"status": "ok", "overdue": []}

    runtime.clock.advance(120)  # every job but the daily and hourly ones is overdue now
    overdue = await client.get("/health/jobs")
    assert overdue.status_code == 503
    assert "sync-carriers" in overdue.json()["overdue"]
    assert "purge" not in overdue.json()["overdue"]


async def test_no_transaction_stays_open_while_a_leader_waits_on_a_carrier(
    runtime: Runtime, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("pg_stat_activity shows the sessions left in a transaction")
    calling = asyncio.Event()
    answered = asyncio.Event()

    async def carrier_call(_: Runtime) -> None:
        calling.set()
        await answered.wait()  # as long as a slow carrier takes to answer

    job = ScheduledJob(id="test-carrier", every_seconds=60.0, run=carrier_call, single_leader=True)
    run = asyncio.create_task(JobScheduler(runtime, [job])._run_once(job))
    await asyncio.wait_for(calling.wait(), timeout=10)
    open_elsewhere = await _transactions_left_open(runtime)
    # Control: the check does see a transaction left open while something waits.
    async with transaction(runtime.engine) as waiting:
        await waiting.execute(select(1))
        seen_by_control = await _transactions_left_open(runtime)
    answered.set()
    await run
    assert seen_by_control == 1
    assert open_elsewhere == 0
    assert await _lease_row(runtime, job.id) == (None, None)


async def _transactions_left_open(rt: Runtime) -> int:
    query = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"
    )
    async with transaction(rt.engine, read_only=True) as conn:
        return int((await conn.execute(query)).scalar_one())
