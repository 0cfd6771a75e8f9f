"""Giving unsold containers back to carriers before their release deadline (~hourly).

A sailing's allotment is due once ``etd - carrier.release_deadline_days`` has passed (and
before ETD, while the sailing is open). Then:

1. record: an ``allotment_releases`` row ``pending`` with the units unsold right now under the
   deterministic ``release_id = f"{allotment_id}:{deadline date}"`` (unique), before any call,
   so an allotment is released at most once per deadline whatever runs, retries or replicas.
   Units freed after that (holds that expired later, bookings cancelled) are unsold again once
   the earlier release is confirmed: a later run records them as the allotment's next release,
   ``f"{allotment_id}:{deadline date}:{n}"`` for the n-th (2, 3...). A release is recorded only
   while none of the allotment's is pending (a pending one's units are still counted unsold
   until confirmed), so no unit is in two releases;
2. send: every pending release goes to ``adapter.release_units`` outside any transaction; a
   failure is counted on the row and retried on the next run under the same ``release_id``,
   which the carrier deduplicates (it may have acted on a call whose answer was lost);
3. confirm: in one transaction the row becomes ``released`` (conditional on ``pending``, so
   only one run confirms) and ``units_total`` drops by the released units still unsold, with a
   conditional UPDATE. If the carrier took back more than is still unsold (sold between 1 and
   3), its figure drops by all it took and an ``allotment.cut`` change is recorded: the next
   reconcile pass releases holds or rolls bookings for the difference.
"""

from __future__ import annotations

import asyncio
import uuid

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from app.carrier_adapters.cache import CarrierAdapters
from app.db import transaction
from app.events import outbox
from app.inventory.repository import AnyRow
from app.reconcile import repository
from app.reconcile.schemas import ReleaseReport
from app.runtime import Runtime
from app.sync import repository as sync_repository
from carriers.base import CarrierError, ReleaseReceipt, SailingKey, UnitRelease

log = structlog.get_logger("slotpool.reconcile")


async def record_due_releases(rt: Runtime, conn: AsyncConnection) -> int:
    """Record a pending release for every allotment past its deadline with unsold units."""
    due = await repository.allotments_due_for_release(conn, rt.clock.now_sql(rt.dialect), rt.dialect)
    recorded = 0
    for allotment in due:
        release_id = await _next_release_id(conn, allotment.id, allotment.deadline_date)
        if release_id is None:
            continue
        recorded += await repository.record_pending_release(
            conn,
            {
                "id": uuid.uuid4(),
                "release_id": release_id,
                "allotment_id": allotment.id,
                "units": allotment.units_unsold,
                "state": "pending",
                "attempts": 0,
                "created_at": rt.clock.app_now(),
            },
        )
    return recorded


async def _next_release_id(conn: AsyncConnection, allotment_id: uuid.UUID, deadline_date: str) -> str | None:
    """The id of the allotment's next release at this deadline, or None while one is pending.

    Deterministic: replicas (or a retried run) computing it at once collide on its unique
    index, and only one records it."""
    earlier = await repository.releases_of(conn, allotment_id)
    if any(release.state == "pending" for release in earlier):
        return None
    first = f"{allotment_id}:{deadline_date}"
    made = sum(1 for r in earlier if r.release_id == first or r.release_id.startswith(f"{first}:"))
    return first if made == 0 else f"{first}:{made + 1}"


async def send_pending_releases(rt: Runtime, carrier_adapters: CarrierAdapters) -> ReleaseReport:
    """Call the carrier for every pending release and confirm those it answered."""
    report = ReleaseReport()
    async with transaction(rt.engine, read_only=True) as conn:
        pending = await repository.pending_releases(conn)
    for release in pending:
        try:
            receipt = await _send(rt, carrier_adapters, release)
        except (CarrierError, ValueError, TimeoutError) as error:
            report.failed += 1
            log.warning("allotment.release_failed", release_id=release.release_id, error=str(error))
            async with transaction(rt.engine) as conn:
                await repository.record_release_failure(conn, release.id, f"{type(error).__name__}: {error}")
            continue
        if await _confirm(rt, release, receipt):
            report.released += 1
            report.units_released += receipt.units_released
    return report


async def _send(rt: Runtime, carrier_adapters: CarrierAdapters, release: AnyRow) -> ReleaseReceipt:
    adapter = await carrier_adapters.adapter_for(
        rt, release.scac, release.adapter_kind, release.adapter_settings
    )
    request = UnitRelease(
        release_id=release.release_id,
        sailing=SailingKey(
            carrier_scac=release.scac,
            voyage_number=release.voyage_number,
            port_of_loading=release.port_of_loading,
            port_of_discharge=release.port_of_discharge,
        ),
        size_type=release.size_type,
        units=release.units,
    )
    async with asyncio.timeout(carrier_adapters.timeout):
        return await adapter.release_units(request)


async def _confirm(rt: Runtime, release: AnyRow, receipt: ReleaseReceipt) -> bool:
    at = rt.clock.app_now()
    async with transaction(rt.engine) as conn:
        unsold = await repository.lock_allotment_unsold(conn, release.allotment_id)
        withdrawn = min(receipt.units_released, unsold)
        if not await repository.confirm_release(conn, release.id, receipt.units_released, withdrawn, at):
            return False  # another run confirmed it first
        if withdrawn:
            lowered = await repository.lower_total(conn, release.allotment_id, withdrawn)
            assert lowered, "unsold units vanished under the allotment's lock"
        await repository.lower_offered(conn, release.allotment_id, receipt.units_released, at)
        if receipt.units_released > withdrawn:
            await _record_overdraw(conn, release, receipt.units_released - withdrawn, at)
        event = outbox.PendingEvent(
            "allotment.released",
            release.allotment_id,
            None,
            {
                "release_id": release.release_id,
                "allotment_id": str(release.allotment_id),
                "carrier_scac": release.scac,
                "voyage_number": release.voyage_number,
                "size_type": release.size_type,
                "units_requested": release.units,
                "units_released": receipt.units_released,
            },
        )
        await outbox.record(conn, [event], at)
    log.info("allotment.released", release_id=release.release_id, units=receipt.units_released)
    return True


async def _record_overdraw(conn: AsyncConnection, release: AnyRow, units: int, at: object) -> None:
    """The carrier took back units sold meanwhile: a cut for the reconcile pass to carry out."""
    allotment = (await repository.lock_allotments(conn, [release.allotment_id]))[0]
    carrier_id = await _carrier_of(conn, allotment.sailing_id)
    await sync_repository.record_changes(
        conn,
        [
            {
                "carrier_id": carrier_id,
                "sailing_id": allotment.sailing_id,
                "size_type": allotment.size_type,
                "kind": "allotment.cut",
                "detail": {"release_id": release.release_id, "units_short": units},
                "detected_at": at,
            }
        ],
    )


async def _carrier_of(conn: AsyncConnection, sailing_id: uuid.UUID) -> uuid.UUID:
    row = await repository.sailing_with_carrier_status(conn, sailing_id)
    assert row is not None
    carrier_id: uuid.UUID = row.carrier_id
    return carrier_id
