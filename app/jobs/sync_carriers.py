"""Sync carriers (every few minutes): pull every carrier's schedules and allocations, then run a
reconcile pass (cuts, schedule changes, cancellations; carrier booking statuses polled).

Single leader: on PostgreSQL the run happens only on the replica that takes the advisory lock,
so carriers are called once per round, not once per replica (the sync and the reconcile pass
would be correct on all replicas at once anyway: changes are recorded compare-and-set and
applied under row claims). The lock's transaction does nothing else and holds no row lock while
carriers are called. SQLite is one process: the run just happens (holding a write transaction
open there would block the sync's own writes).
"""

from __future__ import annotations

import msgspec
import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from app.config import Settings
from app.jobs.job import ScheduledJob
from app.jobs.leader import Skipped, run_as_leader
from app.reconcile.schemas import ReconcileReport
from app.reconcile.service import reconcile
from app.runtime import Runtime
from app.sync.schemas import SyncReport
from app.sync.service import sync_all

JOB_ID = "sync-carriers"
LEADER_KEY = 0x5107_0002
log = structlog.get_logger("slotpool.jobs")


class SyncRound(msgspec.Struct, kw_only=True):
    sync: SyncReport
    reconcile: ReconcileReport


def scheduled(settings: Settings) -> ScheduledJob:
    return ScheduledJob(
        id=JOB_ID, every_seconds=settings.sync_interval_seconds, run=run, leader_key=LEADER_KEY
    )


async def run(rt: Runtime) -> SyncRound | Skipped:
    if rt.dialect != "postgresql":
        return await sync_and_reconcile(rt)

    async def lead(_conn: AsyncConnection) -> SyncRound:
        return await sync_and_reconcile(rt)

    return await run_as_leader(rt, LEADER_KEY, lead)


async def sync_and_reconcile(rt: Runtime) -> SyncRound:
    """One round: every carrier synced, then every recorded change applied."""
    synced = await sync_all(rt, rt.carriers)
    reconciled = await reconcile(rt, rt.carriers)
    return SyncRound(sync=synced, reconcile=reconciled)
