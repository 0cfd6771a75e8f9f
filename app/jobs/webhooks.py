"""Deliver webhooks (twice a second): sequence events into the feed, fan them out to endpoints,
send what is due (app/webhooks/delivery.py).

Runs overlap: a run waits for its endpoints' answers (up to the attempt timeout), and the next
run must not wait for it, or one slow endpoint would delay every other. Each run serves only
endpoints no other worker holds, so overlapping runs never send to one endpoint at once.
"""

from __future__ import annotations

import math

from app.config import Settings
from app.jobs.job import ScheduledJob
from app.webhooks import delivery

JOB_ID = "deliver-webhooks"


def scheduled(settings: Settings) -> ScheduledJob:
    # A run lasts at most about five attempt timeouts (claiming stops after one, the last batch
    # may take four rounds): enough instances that ticks are never skipped meanwhile.
    overlapping = math.ceil(5 * settings.webhook_timeout_seconds / settings.webhook_interval_seconds) + 2
    return ScheduledJob(
        id=JOB_ID,
        every_seconds=settings.webhook_interval_seconds,
        run=delivery.run,
        max_instances=overlapping,
    )
