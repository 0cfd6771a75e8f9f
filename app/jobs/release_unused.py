"""Release unused allotment (hourly): give unsold containers back to carriers once their
release deadline (ETD minus ``carriers.release_deadline_days``) has passed, before ETD.

Single leader for recording what is due (one ``allotment_releases`` row per allotment and
deadline, unique ``release_id``); the carrier calls then happen outside any transaction. Two
replicas sending the same pending release at once is harmless: the carrier deduplicates on the
``release_id`` and only one of them confirms it (conditional on the row still being pending),
so ``units_total`` drops once.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from app.config import Settings
from app.jobs.job import ScheduledJob
from app.jobs.leader import Skipped, run_as_leader
from app.reconcile.release import record_due_releases, send_pending_releases
from app.reconcile.schemas import ReleaseReport
from app.runtime import Runtime

JOB_ID = "release-unused-allotment"
LEADER_KEY = 0x5107_0003


def scheduled(settings: Settings) -> ScheduledJob:
    return ScheduledJob(
        id=JOB_ID, every_seconds=settings.release_interval_seconds, run=run, leader_key=LEADER_KEY
    )


async def run(rt: Runtime) -> ReleaseReport | Skipped:
    """Record due releases (as leader), then send every pending one."""

    async def record(conn: AsyncConnection) -> int:
        return await record_due_releases(rt, conn)

    recorded = await run_as_leader(rt, LEADER_KEY, record)
    if isinstance(recorded, Skipped):
        return recorded
    report = await send_pending_releases(rt, rt.carriers)
    report.recorded = recorded
    return report
