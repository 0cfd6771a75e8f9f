"""The process's scheduler: APScheduler 3 ``AsyncIOScheduler``, in-memory job store, fixed job ids.

Created and started inside the Litestar lifespan (or ``slotpool worker``), never at import time.
Jobs keep no state in the scheduler: every replica schedules every job, and the jobs themselves
make that safe (rows locked with SKIP LOCKED, single-leader locks). Every job is listed in
:data:`JOBS`: a job with work of its own is a module of this package with a
``scheduled(settings)`` function; a job that only runs a feature's service is defined here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import msgspec
import structlog
from apscheduler.executors.asyncio import AsyncIOExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.ext.asyncio import AsyncConnection

from app.config import Settings
from app.jobs import expire_holds, purge, webhooks
from app.jobs.job import ScheduledJob
from app.jobs.leader import Skipped, run_as_leader
from app.manifests.schemas import ManifestRound
from app.manifests.service import run_manifests
from app.reconcile.release import record_due_releases, send_pending_releases
from app.reconcile.schemas import ReconcileReport, ReleaseReport
from app.reconcile.service import reconcile
from app.runtime import Runtime
from app.sync.schemas import SyncReport
from app.sync.service import sync_all

log = structlog.get_logger("slotpool.jobs")
# Advisory lock keys of the single-leader jobs defined here (purge has its own).
SYNC_LEADER_KEY = 0x5107_0002
RELEASE_LEADER_KEY = 0x5107_0003


class SyncRound(msgspec.Struct, kw_only=True):
    sync: SyncReport
    reconcile: ReconcileReport


async def sync_carriers(rt: Runtime) -> SyncRound | Skipped:
    """Pull every carrier's schedules and allocations, then run a reconcile pass (cuts,
    schedule changes, cancellations; carrier booking statuses polled).

    Single leader on PostgreSQL, so that carriers are called once per round, not once per
    replica (the round would be correct on all replicas at once anyway: changes are recorded
    compare-and-set and applied under row locks). The lock's transaction does nothing else and
    holds no row lock while carriers are called. SQLite is one process: the round just runs
    (holding a write transaction open there would block the sync's own writes).
    """
    if rt.dialect != "postgresql":
        return await _sync_and_reconcile(rt)

    async def lead(_conn: AsyncConnection) -> SyncRound:
        return await _sync_and_reconcile(rt)

    return await run_as_leader(rt, SYNC_LEADER_KEY, lead)


async def _sync_and_reconcile(rt: Runtime) -> SyncRound:
    synced = await sync_all(rt, rt.carriers)
    reconciled = await reconcile(rt, rt.carriers)
    return SyncRound(sync=synced, reconcile=reconciled)


async def release_unused_allotment(rt: Runtime) -> ReleaseReport | Skipped:
    """Give unsold containers back to carriers once their release deadline (ETD minus
    ``carriers.release_deadline_days``) has passed, before ETD.

    The leader records what is due (one ``allotment_releases`` row per allotment and deadline,
    unique ``release_id``); the carrier calls then happen outside any transaction. Two replicas
    sending the same pending release is harmless: the carrier deduplicates on the
    ``release_id`` and only one of them confirms it, so ``units_total`` drops once.
    """

    async def record(conn: AsyncConnection) -> int:
        return await record_due_releases(rt, conn)

    recorded = await run_as_leader(rt, RELEASE_LEADER_KEY, record)
    if isinstance(recorded, Skipped):
        return recorded
    report = await send_pending_releases(rt, rt.carriers)
    report.recorded = recorded
    return report


async def reconcile_changes(rt: Runtime) -> ReconcileReport:
    """Apply carrier changes recorded by any sync (an operator's too) without waiting for the
    next scheduled sync; safe on every replica: each change is locked with ``SKIP LOCKED``.
    Carrier bookings are polled by the sync job only: one replica calls the carriers."""
    return await reconcile(rt)


async def submit_manifests(rt: Runtime) -> ManifestRound:
    """Rebuild the consolidated manifest of every closed sailing, store a new version when its
    content changed, and send due versions to carriers. Safe on every replica: a version is
    stored under its manifest's row lock, and a manifest is sent under a lease taken with
    ``SKIP LOCKED``. Part of dispatching carrier requests (DESIGN section 5): the dispatcher
    may call ``run_manifests`` itself and this job go."""
    return await run_manifests(rt)


def _job(
    job_id: str,
    every: Callable[[Settings], float],
    run: Callable[[Runtime], Awaitable[object]],
    leader_key: int | None = None,
) -> Callable[[Settings], ScheduledJob]:
    """A job whose body is a service of its feature, run every ``every(settings)`` seconds."""

    def scheduled(settings: Settings) -> ScheduledJob:
        return ScheduledJob(id=job_id, every_seconds=every(settings), run=run, leader_key=leader_key)

    return scheduled


# Every job this service runs; cut-off closing joins here.
JOBS: tuple[Callable[[Settings], ScheduledJob], ...] = (
    expire_holds.scheduled,
    purge.scheduled,
    _job("sync-carriers", lambda s: s.sync_interval_seconds, sync_carriers, SYNC_LEADER_KEY),
    _job("reconcile", lambda s: s.reconcile_interval_seconds, reconcile_changes),
    _job(
        "release-unused-allotment",
        lambda s: s.release_interval_seconds,
        release_unused_allotment,
        RELEASE_LEADER_KEY,
    ),
    webhooks.scheduled,
    _job("submit-manifests", lambda s: s.manifest_interval_seconds, submit_manifests),
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
