"""The process's scheduler: APScheduler 3 ``AsyncIOScheduler``, in-memory job store, fixed job ids.

Created and started inside the Litestar lifespan (or ``slotpool worker``), never at import time.
Jobs keep no state in the scheduler: every replica schedules every job, and the jobs themselves
make that safe (row claims, single-leader locks). Adding a job is one module with a
``scheduled(settings)`` function, listed in :data:`JOBS`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import structlog
from apscheduler.executors.asyncio import AsyncIOExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from app.config import Settings
from app.jobs import expire_holds, purge, reconcile, release_unused, sync_carriers, webhooks
from app.jobs.job import ScheduledJob
from app.runtime import Runtime

log = structlog.get_logger("slotpool.jobs")

# Every job this service runs; carrier sync, cut-off closing, allotment release and webhook
# delivery join here as one module each.
JOBS: tuple[Callable[[Settings], ScheduledJob], ...] = (
    expire_holds.scheduled,
    purge.scheduled,
    sync_carriers.scheduled,
    reconcile.scheduled,
    release_unused.scheduled,
    webhooks.scheduled,
)


def scheduled_jobs(settings: Settings) -> list[ScheduledJob]:
    """The jobs for these settings; ids and leader keys are checked to be unique."""
    jobs = [make(settings) for make in JOBS]
    _require_unique([job.id for job in jobs], "job id")
    _require_unique([job.leader_key for job in jobs if job.leader_key is not None], "leader key")
    return jobs


def _require_unique(values: Sequence[object], what: str) -> None:
    if len(set(values)) != len(values):
        raise ValueError(f"duplicate {what} among scheduled jobs: {values}")


class JobScheduler:
    """Runs :class:`ScheduledJob` bodies on their intervals in the current event loop."""

    def __init__(self, rt: Runtime, jobs: Sequence[ScheduledJob]) -> None:
        self.rt = rt
        self.jobs = list(jobs)
        self._runs: set[asyncio.Task[Any]] = set()
        self._scheduler: AsyncIOScheduler | None = None

    @property
    def apscheduler(self) -> AsyncIOScheduler | None:
        """The APScheduler instance while started, for inspection."""
        return self._scheduler

    @property
    def running(self) -> bool:
        return self._scheduler is not None and bool(self._scheduler.running)

    def job_ids(self) -> list[str]:
        assert self._scheduler is not None, "not started"
        return [job.id for job in self._scheduler.get_jobs()]

    def start(self) -> None:
        """Create the APScheduler instance on the running loop; every job runs once at start
        (catching up whatever came due while no replica ran), then on its interval."""
        settings = self.rt.settings
        # APScheduler logs every run at INFO: at one run a second that drowns the service's log.
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        scheduler = AsyncIOScheduler(
            event_loop=asyncio.get_running_loop(),
            jobstores={"default": MemoryJobStore()},
            executors={"default": AsyncIOExecutor()},
            job_defaults={
                # A late or missed run is one run, never a burst of catch-up runs.
                "coalesce": True,
                # Never two runs of a job in one process unless it says so (ScheduledJob).
                "max_instances": 1,
                "misfire_grace_time": settings.job_misfire_grace_seconds,
            },
            timezone=UTC,
        )
        now = datetime.now(UTC)
        for job in self.jobs:
            scheduler.add_job(
                self._body(job),
                trigger=IntervalTrigger(seconds=job.every_seconds, timezone=UTC),
                id=job.id,
                name=job.id,
                next_run_time=now,
                max_instances=job.max_instances,
            )
        scheduler.start()
        self._scheduler = scheduler
        log.info("scheduler.started", jobs=[job.id for job in self.jobs])

    async def stop(self) -> None:
        """Stop scheduling and cancel runs in flight, then wait until they have unwound.

        Cancelling is safe: a job's transactions roll back whole (ScheduledJob's contract).
        """
        if self._scheduler is None:
            return
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        self._scheduler = None
        runs = list(self._runs)
        for run in runs:
            run.cancel()
        # APScheduler cancels without awaiting; wait here so the engine outlives the runs.
        await asyncio.gather(*runs, return_exceptions=True)
        log.info("scheduler.stopped", cancelled=len(runs))

    def _body(self, job: ScheduledJob) -> Callable[[], Coroutine[Any, Any, None]]:
        async def run() -> None:
            task = asyncio.current_task()
            assert task is not None
            self._runs.add(task)
            try:
                await job.run(self.rt)
            except Exception:
                # The next tick tries again; a failing job must not stop the others.
                log.exception("job.failed", job=job.id)
            finally:
                self._runs.discard(task)

        return run


@asynccontextmanager
async def running_scheduler(
    rt: Runtime, jobs: Sequence[ScheduledJob] | None = None
) -> AsyncIterator[JobScheduler]:
    """A started scheduler (the service's jobs unless ``jobs`` is given), stopped on exit."""
    scheduler = JobScheduler(rt, scheduled_jobs(rt.settings) if jobs is None else jobs)
    scheduler.start()
    try:
        yield scheduler
    finally:
        await scheduler.stop()
