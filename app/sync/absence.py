"""Sailings a carrier stops listing: when absence means cancellation, and when it does not.

A DCSA carrier drops a cancelled sailing from its schedules rather than listing it as
cancelled, but a sailing is also missing from an answer when a page failed, a route could not
be read, or the carrier had a bad minute. So absence cancels only when both hold:

- the sailing was missing from ``SLOTPOOL_SYNC_ABSENT_SYNCS_TO_CANCEL`` consecutive *complete*
  answers (a listing in between starts the count over), and
- it has been missing for ``SLOTPOOL_SYNC_ABSENT_HOURS_TO_CANCEL`` since first missed.

An incomplete answer counts nothing. Every decision is recorded in the sync's change log:
``sailing.absent`` (counted or not, and why not cancelled yet) or
``sailing.cancelled_by_carrier`` with the reason.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from app.db import transaction
from app.inventory.repository import AnyRow
from app.runtime import Runtime
from app.sync import offers, repository
from carriers.base import SailingKey

# Sailings this close to either end of the window may fall outside the carrier's own date
# filter (DCSA searches by date), so their absence proves nothing.
WINDOW_MARGIN = timedelta(days=1)


async def judge_absences(
    rt: Runtime,
    carrier: AnyRow,
    seen: set[SailingKey],
    window: tuple[datetime, datetime],
    incomplete: str | None,
    lanes: list[str] | None = None,
) -> list[str]:
    """Count (or, for an ``incomplete`` answer, only note) the absence of every listed sailing
    of ``carrier`` not ``seen`` (on ``lanes``, when the answer covered only those); cancel
    those absent long enough. The kinds recorded."""
    async with transaction(rt.engine, read_only=True) as conn:
        listed = await repository.listed_sailings_between(
            conn, carrier.id, window[0] + WINDOW_MARGIN, window[1] - WINDOW_MARGIN
        )
    if lanes is not None:
        listed = [s for s in listed if f"{s.port_of_loading}-{s.port_of_discharge}" in lanes]
    back = [s.id for s in listed if _key(carrier.scac, s) in seen and (s.absent_syncs or 0) > 0]
    if back:
        async with transaction(rt.engine) as conn:
            await repository.clear_absences(conn, back)
    kinds: list[str] = []
    for sailing in listed:
        if _key(carrier.scac, sailing) in seen:
            continue
        async with transaction(rt.engine) as conn:
            found = await _judge(rt, conn, carrier.id, sailing, incomplete)
            await repository.record_changes(conn, found)
        kinds += [change["kind"] for change in found]
    return kinds


def _key(scac: str, sailing: AnyRow) -> SailingKey:
    return SailingKey(
        carrier_scac=scac,
        voyage_number=sailing.voyage_number,
        port_of_loading=sailing.port_of_loading,
        port_of_discharge=sailing.port_of_discharge,
    )


async def _judge(
    rt: Runtime, conn: AsyncConnection, carrier_id: uuid.UUID, sailing: AnyRow, incomplete: str | None
) -> list[offers.Change]:
    now = rt.clock.app_now()
    needed = rt.settings.sync_absent_syncs_to_cancel
    margin = timedelta(hours=rt.settings.sync_absent_hours_to_cancel)
    if incomplete is not None:
        reason = f"not counted: {incomplete}"
        counted = sailing.absent_syncs or 0
        return [
            offers.change(
                carrier_id,
                sailing.id,
                "sailing.absent",
                now,
                counted=False,
                absent_syncs=counted,
                reason=reason,
            )
        ]
    noted = await repository.note_absence(conn, sailing.id, now)
    if noted is None:
        return []  # the carrier cancelled it meanwhile: that change is recorded already
    since: datetime = noted.absent_since
    missing_for = now - since
    story = f"absent from {noted.absent_syncs} consecutive complete answers since {since.isoformat()}"
    if noted.absent_syncs >= needed and missing_for >= margin:
        return await offers.cancel(conn, carrier_id, sailing.id, now, reason=story)
    waiting = []
    if noted.absent_syncs < needed:
        waiting.append(f"{needed} answers needed")
    if missing_for < margin:
        waiting.append(f"not before {(since + margin).isoformat()}")
    reason = f"{story}; not cancelled: {', '.join(waiting)}"
    return [
        offers.change(
            carrier_id,
            sailing.id,
            "sailing.absent",
            now,
            counted=True,
            absent_syncs=noted.absent_syncs,
            absent_since=since.isoformat(),
            reason=reason,
        )
    ]
