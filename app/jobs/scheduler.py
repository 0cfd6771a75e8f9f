"""The process's scheduler: APScheduler 3 ``AsyncIOScheduler``, in-memory job store, fixed job ids.

Created and started inside the Litestar lifespan (or ``slotpool worker``), never at import time.
Jobs keep no state in the scheduler: every replica schedules every job, and the jobs themselves
make that safe (rows locked with SKIP LOCKED), or the scheduler does for a single-leader job (a
lease row in the database, app/jobs/runs.py). Every run is counted in the database and in the
metrics. Every job is listed in
:data:`JOBS`: a job with work of its own is a module of this package with a
``scheduled(settings)`` function; a job that only runs a feature's service is defined here.
"""

from __future__ import annotations

import asyncio
import logging
import time
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

from app import metrics
from app.config import Settings
from app.consolidation.service import close_due_pools
from app.database_status import describe, is_unavailable
from app.db import transaction
from app.jobs import dispatch, expire_holds, purge, runs, webhooks
from app.jobs.job import ScheduledJob
from app.manifests.schemas import ManifestRound
from app.manifests.service import run_manifests
from app.reconcile.release import record_due_releases, send_pending_releases
from app.reconcile.schemas import ReconcileReport, ReleaseReport
from app.reconcile.service import reconcile
from app.runtime import Runtime
from app.sync.schemas import SyncReport
from app.sync.service import sync_all

log = structlog.get_logger("slotpool.jobs")


class SyncRound(msgspec.Struct, kw_only=True):
    sync: SyncReport
    reconcile: ReconcileReport


async def sync_carriers(rt: Runtime) -> SyncRound:
    """Pull every carrier's schedules and allocations, then run a reconcile pass (cuts,
    schedule changes, cancellations; carrier booking statuses polled).

    Single leader (its ScheduledJob says so), so that carriers are called once per interval
    across all replicas, not once per replica (the round would be correct on all replicas at
    once anyway: changes are recorded compare-and-set and applied under row locks). No
    transaction is open while carriers are called.
    """
    return await _sync_and_reconcile(rt)


async def _sync_and_reconcile(rt: Runtime) -> SyncRound:
    synced = await sync_all(rt, rt.carriers)
    reconciled = await reconcile(rt, rt.carriers)
    return SyncRound(sync=synced, reconcile=reconciled)


async def release_unused_allotment(rt: Runtime) -> ReleaseReport:
    """Give unsold containers back to carriers once their release deadline (ETD minus
    ``carriers.release_deadline_days``) has passed, before ETD, and again for units freed
    later (holds that expired after the deadline).

    Single leader. What is due is recorded first (``allotment_releases`` rows with
    deterministic, unique ``release_id``s) in one short transaction; the carrier calls then
    happen outside any transaction. A pending release sent twice is harmless: the carrier
    deduplicates on the ``release_id`` and only one run confirms it, so ``units_total`` drops
    once.
    """
    async with transaction(rt.engine) as conn:
        recorded = await record_due_releases(rt, conn)
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
    *,
    single_leader: bool = False,
) -> Callable[[Settings], ScheduledJob]:
    """A job whose body is a service of its feature, run every ``every(settings)`` seconds."""

    def scheduled(settings: Settings) -> ScheduledJob:
        return ScheduledJob(id=job_id, every_seconds=every(settings), run=run, single_leader=single_leader)

    return scheduled


# Every job this service runs.
JOBS: tuple[Callable[[Settings], ScheduledJob], ...] = (
    expire_holds.scheduled,
    purge.scheduled,
    _job("sync-carriers", lambda s: s.sync_interval_seconds, sync_carriers, single_leader=True),
    _job("reconcile", lambda s: s.reconcile_interval_seconds, reconcile_changes),
    _job(
        "release-unused-allotment",
        lambda s: s.release_interval_seconds,
        release_unused_allotment,
        single_leader=True,
    ),
    # LCL pools at their LCL cut-off: safe on every replica (each close locks its pool).
    _job("close-pools", lambda s: s.close_pools_interval_seconds, close_due_pools),
    webhooks.scheduled,
    dispatch.scheduled,
    _job("submit-manifests", lambda s: s.manifest_interval_seconds, submit_manifests),
)


def scheduled_jobs(settings: Settings) -> list[ScheduledJob]:
    """The jobs for these settings; ids are checked to be unique (a single-leader job's lease
    is its id's row)."""
    jobs = [make(settings) for make in JOBS]
    _require_unique([job.id for job in jobs], "job id")
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
        # Jobs whose last run found the database unavailable: said once, not every tick.
        self._paused: set[str] = set()
        self._registered = False
        self._registering = asyncio.Lock()

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
        self.rt.stopping.clear()
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
        """Stop scheduling, let runs in flight finish the batch in hand (``rt.stopping``) for up
        to ``shutdown_grace_seconds``, cancel the ones still running, and wait until all have
        unwound; the engine outlives them.

        Cancelling is safe: a job's transactions roll back whole (ScheduledJob's contract). It
        is the last resort: a cancelled query can leave the driver logging about the connection.
        """
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is None:
            return
        self.rt.stopping.set()
        if scheduler.running:
            # Paused, not shut down: APScheduler's shutdown cancels the runs it started.
            scheduler.pause()
        # A run submitted just before the pause registers itself at its first step.
        await asyncio.sleep(0)
        runs = list(self._runs)
        late: set[asyncio.Task[Any]] = set()
        if runs:
            _, late = await asyncio.wait(runs, timeout=self.rt.settings.shutdown_grace_seconds)
        for run in late:
            run.cancel()
        await asyncio.gather(*runs, return_exceptions=True)
        if scheduler.running:
            scheduler.shutdown(wait=False)
        log.info("scheduler.stopped", finished=len(runs) - len(late), cancelled=len(late))

    def _body(self, job: ScheduledJob) -> Callable[[], Coroutine[Any, Any, None]]:
        async def run() -> None:
            task = asyncio.current_task()
            assert task is not None
            self._runs.add(task)
            try:
                await self._run_once(job)
            except asyncio.CancelledError:
                # Shutdown past its grace: the transaction in flight rolled back whole and the
                # next start carries on. Not an error, and nothing for APScheduler to report.
                log.info("job.cancelled", job=job.id)
            finally:
                self._runs.discard(task)

        return run

    async def _run_once(self, job: ScheduledJob) -> None:
        """One tick: for a single-leader job, start a run only if it is due across replicas;
        run the body; record the run (database counters, metrics)."""
        rt = self.rt
        lead: runs.Lead | None = None
        try:
            await self._register()
            if job.single_leader:
                lead = await runs.take_lead(rt, job, runs.replica_id())
                if lead is None:
                    return  # another replica ran it within the interval, or runs it now
        except Exception as failure:
            # The database is away: this tick fails before the body.
            metrics.observe_job(job.id, 0.0, failed=True)
            if is_unavailable(failure):
                self._waiting_for_database(job, failure)
            else:
                log.warning("job.not_started", job=job.id, error=f"{type(failure).__name__}: {failure}")
            return
        started = time.monotonic()
        error: str | None = None
        try:
            async with runs.kept(rt, lead):
                await job.run(rt)
        except asyncio.CancelledError:
            if lead is not None:
                # Free the lease now rather than when it lapses; the outcome says why.
                await self._finish(job, lead, started, None, cancelled=True)
            raise
        except Exception as failure:
            # The next tick tries again; a failing job must not stop the others.
            error = f"{type(failure).__name__}: {failure}"
            if is_unavailable(failure):
                self._waiting_for_database(job, failure)
            else:
                log.exception("job.failed", job=job.id)
        else:
            if job.id in self._paused:
                self._paused.discard(job.id)
                log.info("job.resumed", job=job.id)
            rt.database.up()
        metrics.observe_job(job.id, time.monotonic() - started, failed=error is not None)
        await self._finish(job, lead, started, error)

    async def _finish(
        self,
        job: ScheduledJob,
        lead: runs.Lead | None,
        started: float,
        error: str | None,
        *,
        cancelled: bool = False,
    ) -> None:
        seconds = time.monotonic() - started
        try:
            await runs.finish(self.rt, job.id, lead, seconds=seconds, error=error, cancelled=cancelled)
        except Exception as failure:
            if not is_unavailable(failure):  # a database away was said once already
                log.warning("job.run_not_recorded", job=job.id, error=f"{type(failure).__name__}: {failure}")

    def _waiting_for_database(self, job: ScheduledJob, failure: BaseException) -> None:
        """The database is gone (or not migrated): one line per job, not one per tick; the
        next tick tries again."""
        if job.id not in self._paused:
            self._paused.add(job.id)
            reason = describe(self.rt.settings.database_url, failure)
            log.warning("job.waiting_for_database", job=job.id, reason=reason)

    async def _register(self) -> None:
        if self._registered:
            return
        async with self._registering:
            if not self._registered:
                await runs.register(self.rt, self.jobs)
                self._registered = True


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
