"""Tables of the scheduled jobs: leases of single-leader jobs, their runs, and per-job counters.

``job_leases``: one row per single-leader job. A replica starts a run only by a conditional
UPDATE of that row (its last start older than the interval by database time, no live lease):
under the row's lock, in a transaction of its own, so all replicas together start the job once
per interval. The lease (``lease_until``, renewed while the run lasts) keeps a second run from
starting while the first is still going; no transaction stays open during the run.

``job_runs``: one row per run of a single-leader job (minutes apart at least): who ran it, when,
how it ended. Kept ``JOB_RUN_RETENTION_DAYS``.

``job_stats``: one row per job, counters and the last start, success and error, updated once
per run of every job (the 1 s sweeper included: one UPDATE of one row, not a row per run).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Float, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.dbtypes import UtcDateTime

OUTCOMES = ("running", "succeeded", "failed", "cancelled")


class JobLease(Base):
    __tablename__ = "job_leases"

    job: Mapped[str] = mapped_column(String(64), primary_key=True)
    # The run holding the lease (its job_runs id), the replica that runs it, and until when.
    run_id: Mapped[uuid.UUID | None]
    holder: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_started_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class JobRun(Base):
    __tablename__ = "job_runs"
    __table_args__ = (
        CheckConstraint(f"outcome IN {OUTCOMES!r}", name="outcome"),
        Index("ix_job_runs_job_started_at", "job", "started_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    job: Mapped[str] = mapped_column(String(64))
    replica: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    outcome: Mapped[str] = mapped_column(String(16))
    duration_ms: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(String(500))


class JobStats(Base):
    __tablename__ = "job_stats"
    __table_args__ = (CheckConstraint("runs >= failures AND failures >= 0", name="counts"),)

    job: Mapped[str] = mapped_column(String(64), primary_key=True)
    # The interval the last scheduler that registered the job runs it at.
    every_seconds: Mapped[float] = mapped_column(Float())
    single_leader: Mapped[bool]
    registered_at: Mapped[datetime] = mapped_column(UtcDateTime())
    runs: Mapped[int] = mapped_column(BigInteger, default=0)
    failures: Mapped[int] = mapped_column(BigInteger, default=0)
    last_started_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_success_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_error_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_error: Mapped[str | None] = mapped_column(String(500))
    last_duration_ms: Mapped[int | None]
    last_replica: Mapped[str | None] = mapped_column(String(100))
