"""The reconcile pass: apply every unhandled carrier change once, then poll carrier bookings.

Each change is locked (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so concurrent passes on any
number of replicas take different ones), carried out and marked handled in one transaction:
its effects and its ``handled_at`` commit together or not at all. A change that fails, or that
could not be completed (a hold placed while its cut was planned), stays unhandled for the next
pass; the pass moves on past it.
"""

from __future__ import annotations

from collections import Counter

import structlog
from sqlalchemy.exc import SQLAlchemyError

from app.carrier_adapters.cache import CarrierAdapters
from app.db import transaction
from app.domain.errors import DomainError
from app.events.idempotency import Finish
from app.reconcile import repository
from app.reconcile.carrier_bookings import poll_carrier_bookings
from app.reconcile.changes import ChangeOutcome, apply_change
from app.reconcile.schemas import ReconcileReport
from app.runtime import Runtime
from app.sync import repository as sync_repository

log = structlog.get_logger("slotpool.reconcile")


async def reconcile(
    rt: Runtime, adapters: CarrierAdapters | None = None, finish: Finish | None = None
) -> ReconcileReport:
    """Apply pending carrier changes; with the carrier ``adapters``, also poll unsettled carrier
    bookings."""
    report = ReconcileReport(started_at=rt.clock.app_now(), changes_handled={})
    handled: Counter[str] = Counter()
    after = 0
    while True:
        taken_before = after
        try:
            async with transaction(rt.engine) as conn:
                change = await repository.lock_next_change(conn, after)
                if change is None:
                    break
                after = change.id
                outcome = await apply_change(rt, conn, change)
                if outcome.complete:
                    await sync_repository.mark_changes_handled(conn, [change.id], rt.clock.app_now())
        except (SQLAlchemyError, DomainError):
            # Rolled back whole; the change stays unhandled and the next pass tries again.
            log.exception("reconcile.change_failed", change_id=after)
            if after == taken_before:
                break  # taking the change failed: the database is unwell, try next pass
            report.changes_left += 1
            continue
        _count(report, outcome)
        if outcome.complete:
            handled[change.kind] += 1
        else:
            report.changes_left += 1
    report.changes_handled = dict(handled)
    if adapters is not None:
        report.carrier_bookings = await poll_carrier_bookings(rt, adapters)
    if handled or report.changes_left:
        log.info("reconcile.done", handled=dict(handled), left=report.changes_left)
    if finish is not None:
        async with transaction(rt.engine) as conn:
            await finish(conn, report)
    return report


def _count(report: ReconcileReport, outcome: ChangeOutcome) -> None:
    report.holds_released += outcome.shrink.holds_released
    report.bookings_rolled += outcome.shrink.bookings_rolled
    report.alternatives_offered += outcome.shrink.alternatives_offered
    report.alternatives_unavailable += outcome.shrink.alternatives_unavailable
    report.holds_capped += outcome.holds_capped
    report.bookings_told += outcome.bookings_told
