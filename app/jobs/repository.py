"""Every query of job leases, runs and counters (app/jobs/models.py)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import msgspec
from sqlalchemy import ColumnElement, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db import table_of
from app.dialects import insert_ignoring_conflicts, upsert
from app.jobs.models import JobLease, JobRun, JobStats

leases = table_of(JobLease)
runs = table_of(JobRun)
stats = table_of(JobStats)


class Registration(msgspec.Struct, frozen=True, kw_only=True):
    job: str
    every_seconds: float
    single_leader: bool


class StatsRow(msgspec.Struct, frozen=True, kw_only=True):
    job: str
    every_seconds: float
    single_leader: bool
    registered_at: datetime
    runs: int
    failures: int
    last_started_at: datetime | None
    last_finished_at: datetime | None
    last_success_at: datetime | None
    last_error_at: datetime | None
    last_error: str | None
    last_duration_ms: int | None
    last_replica: str | None


class RunRow(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    job: str
    replica: str
    started_at: datetime
    finished_at: datetime | None
    outcome: str
    duration_ms: int | None
    error: str | None


async def register(conn: AsyncConnection, jobs: Sequence[Registration], now: ColumnElement[datetime]) -> None:
    """A counters row for every job (its interval as this scheduler runs it), and a lease row
    for every single-leader job; existing rows keep their counters and last start."""
    if not jobs:
        return
    dialect = conn.dialect.name
    registered = upsert(dialect, stats, ["job"], ["every_seconds", "single_leader"])
    for job in jobs:
        values = {**msgspec.structs.asdict(job), "registered_at": now, "runs": 0, "failures": 0}
        await conn.execute(registered.values(values))
    leaders = [{"job": job.job} for job in jobs if job.single_leader]
    if leaders:
        await conn.execute(insert_ignoring_conflicts(dialect, leases, ["job"]), leaders)


async def take_lease(
    conn: AsyncConnection,
    job: str,
    run_id: uuid.UUID,
    replica: str,
    *,
    now: ColumnElement[datetime],
    started_before: ColumnElement[datetime],
    lease_until: ColumnElement[datetime],
) -> datetime | None:
    """Start a run of ``job`` if its last start is before ``started_before`` and no lease is
    live at ``now``: one conditional UPDATE, so of replicas racing one wins (the others find
    the row changed once its lock is theirs). The run's start (database time), or None."""
    statement = (
        update(leases)
        .where(
            leases.c.job == job,
            or_(leases.c.last_started_at.is_(None), leases.c.last_started_at <= started_before),
            or_(leases.c.lease_until.is_(None), leases.c.lease_until <= now),
        )
        .values(run_id=run_id, holder=replica, lease_until=lease_until, last_started_at=now)
        .returning(leases.c.last_started_at)
    )
    started: datetime | None = (await conn.execute(statement)).scalar_one_or_none()
    return started


async def renew_lease(
    conn: AsyncConnection, job: str, run_id: uuid.UUID, lease_until: ColumnElement[datetime]
) -> bool:
    """Push the lease of this run further; False when the run no longer holds it."""
    statement = (
        update(leases)
        .where(leases.c.job == job, leases.c.run_id == run_id)
        .values(lease_until=lease_until)
        .returning(leases.c.job)
    )
    return (await conn.execute(statement)).first() is not None


async def end_lease(conn: AsyncConnection, job: str, run_id: uuid.UUID) -> None:
    """The run is over: the next due tick of any replica may start the job again."""
    await conn.execute(
        update(leases)
        .where(leases.c.job == job, leases.c.run_id == run_id)
        .values(run_id=None, holder=None, lease_until=None)
    )


async def insert_run(
    conn: AsyncConnection, run_id: uuid.UUID, job: str, replica: str, started_at: datetime
) -> None:
    await conn.execute(
        insert(runs).values(id=run_id, job=job, replica=replica, started_at=started_at, outcome="running")
    )


async def finish_run(
    conn: AsyncConnection,
    run_id: uuid.UUID,
    *,
    outcome: str,
    duration_ms: int,
    error: str | None,
    now: ColumnElement[datetime],
) -> None:
    await conn.execute(
        update(runs)
        .where(runs.c.id == run_id)
        .values(outcome=outcome, duration_ms=duration_ms, error=error, finished_at=now)
    )


async def prune_runs(conn: AsyncConnection, job: str, before: ColumnElement[datetime]) -> None:
    """Forget this job's runs started before ``before`` (the index on job and start finds them)."""
    await conn.execute(delete(runs).where(runs.c.job == job, runs.c.started_at < before))


async def count_run(
    conn: AsyncConnection,
    job: str,
    *,
    replica: str,
    duration_ms: int,
    error: str | None,
    now: ColumnElement[datetime],
    started: ColumnElement[datetime],
) -> None:
    """Add one run to the job's counters: one UPDATE of its row, whatever the outcome."""
    values: dict[str, object] = {
        "runs": stats.c.runs + 1,
        "last_started_at": started,
        "last_finished_at": now,
        "last_duration_ms": duration_ms,
        "last_replica": replica,
    }
    if error is None:
        values["last_success_at"] = now
    else:
        values.update(failures=stats.c.failures + 1, last_error_at=now, last_error=error[:500])
    await conn.execute(update(stats).where(stats.c.job == job).values(values))


async def all_stats(conn: AsyncConnection) -> list[StatsRow]:
    rows = await conn.execute(select(stats).order_by(stats.c.job))
    return [StatsRow(**row._asdict()) for row in rows]


async def recent_runs(conn: AsyncConnection, job: str, limit: int) -> list[RunRow]:
    query = select(runs).where(runs.c.job == job).order_by(runs.c.started_at.desc()).limit(limit)
    return [RunRow(**row._asdict()) for row in await conn.execute(query)]


async def database_now(conn: AsyncConnection, now: ColumnElement[datetime]) -> datetime:
    moment: datetime = (await conn.execute(select(now))).scalar_one()
    return moment
