"""Runs of scheduled jobs in the database: leases of single-leader jobs, counters of every job.

A single-leader job starts in one replica per interval: a short transaction takes the job's
lease row by a conditional UPDATE (its last start at least :func:`due_after` ago by database
time, no live lease) and records the run. The run then goes on with no transaction open; a
task renews the lease every third of ``job_lease_seconds`` while the run lasts, and a last
short transaction records the outcome and ends the lease. A replica that dies mid-run leaves a
lease that lapses after ``job_lease_seconds``; the next due tick of any replica runs the job.

Every run of every job (the 1 s sweeper too) adds to its ``job_stats`` row with one UPDATE.
"""

from __future__ import annotations

import asyncio
import functools
import os
import socket
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Final

import msgspec
import structlog

from app.db import autocommit, transaction
from app.jobs import repository
from app.jobs.job import ScheduledJob
from app.jobs.repository import Registration
from app.runtime import Runtime

log = structlog.get_logger("slotpool.jobs")
JOB_RUN_RETENTION_DAYS: Final = 7
# A job is overdue when it has not succeeded for its interval times ``job_overdue_intervals``,
# and never sooner than this: a slow minute of a 1 s job is not an outage.
OVERDUE_FLOOR_SECONDS: Final = 60.0


def replica_id() -> str:
    """This process among the replicas: host and process id (read at each call: after a fork
    the child is another replica)."""
    return f"{socket.gethostname()}:{os.getpid()}"[:100]


def due_after(every_seconds: float) -> float:
    """How long after the last start a single-leader job may start again: its interval, less
    a fifth of it (at most 5 s), so that a replica's tick landing a few milliseconds early by
    the database clock still finds the job due and the interval does not double."""
    return every_seconds - min(every_seconds * 0.2, 5.0)


class Lead(msgspec.Struct, frozen=True, kw_only=True):
    """A run of a single-leader job this replica started."""

    job: str
    run_id: uuid.UUID
    started_at: datetime


async def register(rt: Runtime, jobs: Sequence[ScheduledJob]) -> None:
    """Rows for these jobs (counters, leases), made when a scheduler starts."""
    registrations = [
        Registration(job=job.id, every_seconds=job.every_seconds, single_leader=job.single_leader)
        for job in jobs
    ]
    async with transaction(rt.engine) as conn:
        await repository.register(conn, registrations, rt.clock.now_sql(rt.dialect))


async def take_lead(rt: Runtime, job: ScheduledJob, replica: str) -> Lead | None:
    """Start a run of ``job`` here if it is due and no other run holds its lease; None if not."""
    run_id = uuid.uuid4()
    clock, dialect = rt.clock, rt.dialect
    async with transaction(rt.engine) as conn:
        started = await repository.take_lease(
            conn,
            job.id,
            run_id,
            replica,
            now=clock.now_sql(dialect),
            started_before=clock.now_sql(dialect, -due_after(job.every_seconds)),
            lease_until=clock.now_sql(dialect, rt.settings.job_lease_seconds),
        )
        if started is None:
            return None
        await repository.insert_run(conn, run_id, job.id, replica, started)
    return Lead(job=job.id, run_id=run_id, started_at=started)


@asynccontextmanager
async def kept(rt: Runtime, lead: Lead | None) -> AsyncIterator[None]:
    """While the block runs, renew ``lead``'s lease every third of its length (nothing for a
    job that is not single-leader)."""
    if lead is None:
        yield
        return
    renewal = asyncio.create_task(_renew(rt, lead))
    try:
        yield
    finally:
        renewal.cancel()
        await asyncio.gather(renewal, return_exceptions=True)


async def _renew(rt: Runtime, lead: Lead) -> None:
    lease = rt.settings.job_lease_seconds
    while True:
        await asyncio.sleep(lease / 3)
        try:
            async with transaction(rt.engine) as conn:
                held = await repository.renew_lease(
                    conn, lead.job, lead.run_id, rt.clock.now_sql(rt.dialect, lease)
                )
        except Exception as error:  # the database is away: try again at the next third
            log.warning("job.lease_not_renewed", job=lead.job, error=f"{type(error).__name__}: {error}")
            continue
        if not held:
            # Taken over after a lapse (this process stalled longer than the lease): the run
            # goes on, since stopping it midway is worse, and says so.
            log.warning("job.lease_lost", job=lead.job, run_id=str(lead.run_id))
            return


async def finish(
    rt: Runtime,
    job: str,
    lead: Lead | None,
    *,
    seconds: float,
    error: str | None,
    cancelled: bool = False,
) -> None:
    """Record a finished run: its row and the end of its lease (single-leader jobs), and the
    job's counters, in one short transaction (autocommit for the counters alone)."""
    duration_ms = round(seconds * 1000)
    clock, dialect, replica = rt.clock, rt.dialect, replica_id()
    now = clock.now_sql(dialect)
    count_run = functools.partial(
        repository.count_run,
        job=job,
        replica=replica,
        duration_ms=duration_ms,
        error=error,
        now=now,
        started=clock.now_sql(dialect, -seconds),
    )
    if lead is None:
        async with autocommit(rt.engine) as conn:
            await count_run(conn)
        return
    outcome = "cancelled" if cancelled else ("failed" if error is not None else "succeeded")
    async with transaction(rt.engine) as conn:
        await repository.finish_run(
            conn, lead.run_id, outcome=outcome, duration_ms=duration_ms, error=error, now=now
        )
        await repository.end_lease(conn, job, lead.run_id)
        if not cancelled:
            await count_run(conn)
        await repository.prune_runs(conn, job, clock.now_sql(dialect, -JOB_RUN_RETENTION_DAYS * 86400.0))


class JobStatus(msgspec.Struct, kw_only=True):
    """One job as the operator watches it (``GET /v1/admin/jobs``)."""

    job: str
    every_seconds: float
    single_leader: bool
    runs: int
    failures: int
    last_started_at: datetime | None
    last_finished_at: datetime | None
    last_success_at: datetime | None
    last_error_at: datetime | None
    last_error: str | None
    last_duration_ms: int | None
    last_replica: str | None
    overdue: bool
    overdue_after_seconds: float


async def statuses(rt: Runtime, scheduled: Sequence[ScheduledJob]) -> list[JobStatus]:
    """Every job registered in the database by a scheduler, and every job ``scheduled`` here
    (never run yet if it has no row), with whether it is overdue by database time."""
    async with transaction(rt.engine, read_only=True) as conn:
        rows = {row.job: row for row in await repository.all_stats(conn)}
        now = await repository.database_now(conn, rt.clock.now_sql(rt.dialect))
    factor = rt.settings.job_overdue_intervals
    found = []
    for job in scheduled:
        if job.id not in rows:
            found.append(_never_run(job, factor))
    for row in rows.values():
        limit = max(row.every_seconds * factor, OVERDUE_FLOOR_SECONDS)
        since = row.last_success_at or row.registered_at
        found.append(
            JobStatus(
                **{
                    name: getattr(row, name)
                    for name in JobStatus.__struct_fields__
                    if name not in ("overdue", "overdue_after_seconds")
                },
                overdue=now - since > timedelta(seconds=limit),
                overdue_after_seconds=limit,
            )
        )
    return sorted(found, key=lambda status: status.job)


def _never_run(job: ScheduledJob, factor: float) -> JobStatus:
    """A job this process would schedule that no scheduler has registered: overdue."""
    return JobStatus(
        job=job.id,
        every_seconds=job.every_seconds,
        single_leader=job.single_leader,
        runs=0,
        failures=0,
        last_started_at=None,
        last_finished_at=None,
        last_success_at=None,
        last_error_at=None,
        last_error=None,
        last_duration_ms=None,
        last_replica=None,
        overdue=True,
        overdue_after_seconds=max(job.every_seconds * factor, OVERDUE_FLOOR_SECONDS),
    )
