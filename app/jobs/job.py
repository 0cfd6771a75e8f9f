"""What a job module hands to the scheduler."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from app.runtime import Runtime


@dataclass(frozen=True)
class ScheduledJob:
    """A job body run every ``every_seconds`` under a fixed id.

    ``run`` must be safe on every replica at once: it locks its work row by row (``SKIP LOCKED``),
    or the job is ``single_leader``: then the scheduler starts it only when its last start, in
    any replica, is older than the interval by database time, and only while no other replica's
    run holds its lease (app/jobs/runs.py); the body holds no transaction across outside calls.
    ``run`` may be cancelled at any await; it must leave nothing half done when it is.
    ``max_instances``: runs of it one process may have in flight at once (a job whose runs wait
    on slow outside calls overlaps them, instead of making the next run wait).
    """

    id: str
    every_seconds: float
    run: Callable[[Runtime], Awaitable[object]]
    single_leader: bool = False
    max_instances: int = 1
