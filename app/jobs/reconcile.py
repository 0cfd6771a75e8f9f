"""Reconcile (every minute): apply carrier changes recorded by any sync, including those an
operator triggered, without waiting for the next scheduled sync.

Safe on every replica at once without a leader: each change is claimed with ``FOR UPDATE SKIP
LOCKED`` and marked handled in the transaction that carries it out. Carrier bookings are polled
by the sync job only (one replica calls the carriers).
"""

from __future__ import annotations

from app.config import Settings
from app.jobs.job import ScheduledJob
from app.reconcile.schemas import ReconcileReport
from app.reconcile.service import reconcile
from app.runtime import Runtime

JOB_ID = "reconcile"


def scheduled(settings: Settings) -> ScheduledJob:
    return ScheduledJob(id=JOB_ID, every_seconds=settings.reconcile_interval_seconds, run=run)


async def run(rt: Runtime) -> ReconcileReport:
    return await reconcile(rt)
