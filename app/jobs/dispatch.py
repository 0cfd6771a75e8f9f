"""Dispatch carrier requests (about every second): FCL booking requests, amendments and
cancellations, and master bookings of consolidated containers (app/dispatch/service.py).

Runs overlap: a run waits for carriers' answers (up to a carrier call's timeout) and the next
must not wait for it. Overlapping runs, like replicas, lease different requests, and a
booking's requests are sent one at a time, in order.
"""

from __future__ import annotations

from app.config import Settings
from app.dispatch import service
from app.jobs.job import ScheduledJob

JOB_ID = "dispatch-carrier-requests"


def scheduled(settings: Settings) -> ScheduledJob:
    return ScheduledJob(
        id=JOB_ID,
        every_seconds=settings.dispatch_interval_seconds,
        run=service.run,
        max_instances=4,
    )
