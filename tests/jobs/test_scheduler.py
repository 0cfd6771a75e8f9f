"""The scheduler: fixed job ids and defaults, started by the app's lifespan only when enabled,
and stopped cleanly even while a job is running."""

from __future__ import annotations

import asyncio
import time

import msgspec
from sqlalchemy import select

from app.config import Settings
from app.jobs import dispatch, expire_holds, purge, webhooks
from app.jobs.job import ScheduledJob
from app.jobs.scheduler import running_scheduler, scheduled_jobs
from app.main import create_app
from app.reservations.invariants import check_invariants
from app.runtime import Runtime
from tests.conftest import test_runtime as runtime_with
from tests.factories import World
from tests.jobs.holds import active_count, place_fcl
from tests.jobs.test_expire_holds import poll


def test_the_service_schedules_each_job_under_a_fixed_id_single_leader_where_it_must_be() -> None:
    settings = Settings(expire_interval_seconds=1.0, purge_interval_seconds=86_400)
    jobs = {job.id: job for job in scheduled_jobs(settings)}

    assert {expire_holds.JOB_ID, purge.JOB_ID} <= set(jobs)
    assert (expire_holds.JOB_ID, purge.JOB_ID) == ("expire-holds", "purge")
    assert jobs["expire-holds"].every_seconds == 1.0
    assert not jobs["expire-holds"].single_leader  # row claims, not a leader
    assert jobs["purge"].every_seconds == 86_400
    leaders = {job_id for job_id, job in jobs.items() if job.single_leader}
    assert {"purge", "sync-carriers", "release-unused-allotment"} <= leaders
    assert not leaders & {"expire-holds", "reconcile", "deliver-webhooks"}


async def test_jobs_run_with_coalescing_one_instance_and_a_misfire_grace(runtime: Runtime) -> None:
    settings = msgspec.structs.replace(runtime.settings, job_misfire_grace_seconds=17)
    rt = Runtime(settings=settings, engine=runtime.engine, clock=runtime.clock)

    async with running_scheduler(rt) as scheduler:
        assert scheduler.apscheduler is not None
        jobs = scheduler.apscheduler.get_jobs()
        assert sorted(job.id for job in jobs) == sorted(job.id for job in scheduled_jobs(settings))
        overlapping = {job.id: job.max_instances for job in scheduled_jobs(settings)}
        for job in jobs:
            assert (job.coalesce, job.misfire_grace_time) == (True, 17)
            assert job.max_instances == overlapping[job.id]
        # One instance each, but webhook delivery: its runs overlap (a slow endpoint's answer
        # must not delay the next run), as many as can be in flight within five timeouts.
        # The dispatcher's too (a slow carrier's answer must not hold back the others' requests).
        overlapped = (webhooks.JOB_ID, dispatch.JOB_ID)
        assert {i for job_id, i in overlapping.items() if job_id not in overlapped} == {1}
        assert overlapping[webhooks.JOB_ID] == 102
        assert overlapping[dispatch.JOB_ID] == 4

    assert not scheduler.running


async def test_the_app_lifespan_runs_the_jobs_only_when_the_scheduler_is_enabled(
    runtime: Runtime, world: World
) -> None:
    await place_fcl(runtime, world.shipper, world.sailing.id, ttl_seconds=60)
    runtime.clock.advance(61)
    disabled = create_app(runtime=runtime)
    async with disabled.lifespan():
        assert getattr(disabled.state, "scheduler", None) is None
    assert await active_count(runtime) == 1

    settings = msgspec.structs.replace(runtime.settings, scheduler_enabled=True)
    enabled = create_app(runtime=Runtime(settings=settings, engine=runtime.engine, clock=runtime.clock))
    async with enabled.lifespan():
        scheduler = enabled.state.scheduler
        assert scheduler.running
        await poll(lambda: active_count(runtime), until=0)

    assert not scheduler.running
    assert await check_invariants(runtime) == []


async def test_stopping_cancels_a_run_still_in_flight_after_the_grace_and_waits_for_it_to_unwind(
    database_url: str,
) -> None:
    async with runtime_with(database_url, shutdown_grace_seconds=0.2) as runtime:
        await _cancels_a_long_run(runtime)


async def _cancels_a_long_run(runtime: Runtime) -> None:
    started = asyncio.Event()
    unwound: list[str] = []

    async def long_run(rt: Runtime) -> None:
        async with rt.engine.connect() as conn:
            await conn.execute(select(1))
            started.set()
            try:
                await asyncio.Event().wait()
            finally:
                unwound.append("cancelled")

    job = ScheduledJob(id="test-long-run", every_seconds=3600, run=long_run)
    async with running_scheduler(runtime, [job]) as scheduler:
        await asyncio.wait_for(started.wait(), timeout=10)
        assert scheduler.job_ids() == ["test-long-run"]

    # The run had unwound (and returned its connection) before the scheduler said it stopped.
    assert unwound == ["cancelled"]
    assert runtime.engine.pool.checkedout() == 0  # type: ignore[attr-defined]


async def test_stopping_lets_a_run_finish_its_batch_within_the_grace_without_cancelling_it(
    runtime: Runtime,
) -> None:
    started = asyncio.Event()
    finished: list[str] = []

    async def batches(rt: Runtime) -> None:
        started.set()
        # A job that checks ``rt.stopping`` between batches, as the hold sweeper does.
        while not rt.stopping.is_set():
            async with rt.engine.connect() as conn:
                await conn.execute(select(1))
            await asyncio.sleep(0.01)
        finished.append("after its batch")

    job = ScheduledJob(id="test-batches", every_seconds=3600, run=batches)
    began = time.monotonic()
    async with running_scheduler(runtime, [job]):
        await asyncio.wait_for(started.wait(), timeout=10)

    assert finished == ["after its batch"]
    assert time.monotonic() - began < runtime.settings.shutdown_grace_seconds
