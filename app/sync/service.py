"""Use cases of the carrier sync: pull every carrier's sailings, record what changed, keep health.

The scheduler calls :func:`sync_all` every few minutes and then acts on the recorded changes
(:func:`pending_changes`, ``repository.unhandled_changes`` / ``mark_changes_handled``). Carrier
calls happen outside any transaction. The carrier's stored sailings are read once; an offer that
changes nothing is left alone, a changed sailing is applied in a short transaction of its own,
new sailings in batches; one bad sailing or one broken carrier never undoes or blocks the
others.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

import structlog
from sqlalchemy.exc import SQLAlchemyError

from app.carrier_adapters.cache import CarrierAdapters
from app.db import transaction
from app.domain.errors import NotFound
from app.events.idempotency import Finish
from app.inventory.repository import AnyRow
from app.runtime import Runtime
from app.sync import absence, offers, repository
from app.sync.models import CHANGE_KINDS
from app.sync.schemas import (
    CarrierHealthView,
    CarrierSyncNotice,
    Health,
    NoticeStatus,
    SyncChangeView,
    SyncReport,
)
from carriers.base import SailingKey, SailingOffer, ScheduleAnswer, ScheduleQuery
from carriers.fanout import CarrierNotice, fan_out, retrying

log = structlog.get_logger("slotpool.sync")

# Adapters whose carriers drop a cancelled sailing from their schedules instead of listing it
# as cancelled (carriers/README.md, dcsa): absence from their answers may mean cancellation.
CANCELS_BY_ABSENCE = frozenset({"dcsa"})
# New sailings inserted per transaction.
DISCOVERY_BATCH = 50


async def sync_all(
    rt: Runtime, carrier_adapters: CarrierAdapters, finish: Finish | None = None
) -> SyncReport:
    """Sync every carrier once; a carrier that fails or times out is reported, not raised."""
    return await _sync(rt, carrier_adapters, None, finish)


async def sync_carrier(
    rt: Runtime, carrier_adapters: CarrierAdapters, scac: str, finish: Finish | None = None
) -> SyncReport:
    """Sync one carrier now; NotFound if there is no carrier with this SCAC."""
    return await _sync(rt, carrier_adapters, scac, finish)


async def _sync(
    rt: Runtime, carrier_adapters: CarrierAdapters, scac: str | None, finish: Finish | None
) -> SyncReport:
    async with carrier_adapters.sync_lock:
        started = rt.clock.app_now()
        async with transaction(rt.engine, read_only=True) as conn:
            rows = await repository.carriers_to_sync(conn, scac)
        if scac is not None and not rows:
            raise NotFound("carrier", scac)
        adapters, refused = await carrier_adapters.adapters_for_rows(rt, rows)
        notices: dict[str, CarrierSyncNotice] = {}
        for row in rows:
            if row.scac in refused:
                notices[row.scac] = await _failed(rt, row, _notice(row.scac, "error", refused[row.scac]))
        window_end = started + timedelta(days=carrier_adapters.window_days)
        query = ScheduleQuery(etd_from=started, etd_to=window_end)
        result = await fan_out(
            list(adapters.values()),
            lambda adapter: retrying(
                lambda: adapter.schedules(query),
                attempts=carrier_adapters.attempts,
                backoff=carrier_adapters.backoff,
            ),
            timeout=carrier_adapters.timeout,
            breakers=carrier_adapters.breakers,
        )
        by_scac = {notice.scac: notice for notice in result.notices}
        for row in rows:
            if row.scac in notices:
                continue
            fanned = by_scac[row.scac]
            if fanned.status != "ok":
                notices[row.scac] = await _failed(rt, row, _from_fan_out(fanned))
                continue
            notices[row.scac] = await _apply(rt, row, result.results[row.scac], fanned, (started, window_end))
    report = SyncReport(
        started_at=started,
        changes=_count(notices.values()),
        carriers=[notices[row.scac] for row in rows],
    )
    if finish is not None:
        async with transaction(rt.engine) as conn:
            await finish(conn, report)
    return report


def _count(notices: Iterable[CarrierSyncNotice]) -> dict[str, int]:
    total: Counter[str] = Counter(dict.fromkeys(CHANGE_KINDS, 0))
    for notice in notices:
        total.update(notice.changes)
    return dict(total)


def _notice(
    scac: str, status: NoticeStatus, detail: str | None, elapsed_ms: float = 0.0
) -> CarrierSyncNotice:
    return CarrierSyncNotice(
        scac=scac,
        status=status,
        detail=detail,
        elapsed_ms=round(elapsed_ms, 1),
        sailings_seen=0,
        changes={},
        skipped=[],
        complete=None,
    )


def _from_fan_out(notice: CarrierNotice) -> CarrierSyncNotice:
    return _notice(notice.scac, notice.status, notice.detail, notice.elapsed_ms)


async def _failed(rt: Runtime, row: AnyRow, notice: CarrierSyncNotice) -> CarrierSyncNotice:
    """Count a failure in the carrier's health; an open breaker is a skip, not a new failure."""
    log.warning("carrier.sync_failed", scac=row.scac, status=notice.status, detail=notice.detail)
    if notice.status != "circuit_open":
        async with transaction(rt.engine) as conn:
            await repository.record_sync_failure(
                conn, row.id, f"{notice.status}: {notice.detail}", rt.clock.app_now()
            )
    return notice


async def _apply(
    rt: Runtime,
    row: AnyRow,
    answer: ScheduleAnswer,
    fanned: CarrierNotice,
    window: tuple[datetime, datetime],
) -> CarrierSyncNotice:
    notice = _from_fan_out(fanned)
    notice.skipped += answer.problems
    kinds: Counter[str] = Counter()
    seen: set[SailingKey] = set()
    discovered: list[SailingOffer] = []
    try:
        async with transaction(rt.engine, read_only=True) as conn:
            stored = await repository.carrier_snapshot(conn, row.id, row.scac)
        for offer in answer.offers:
            problem = offers.offer_problem(offer, row.scac)
            if problem is not None:
                notice.skipped.append(
                    f"{offer.voyage_number} {offer.port_of_loading}-{offer.port_of_discharge}: {problem}"
                )
                continue
            seen.add(offer.key)
            if offer.key not in stored:
                discovered.append(offer)
                continue
            if offers.unchanged(stored[offer.key], offer):
                continue  # most sailings, most syncs: nothing to write, no transaction
            async with transaction(rt.engine) as conn:
                kinds.update(await offers.apply_offer(conn, row.id, offer, rt.clock.app_now()))
        notice.skipped += await _discover(rt, row, discovered, kinds)
        # Only an answer known whole may count an absence: a page that failed, a route or an
        # offer skipped could be exactly the missing sailing.
        notice.complete = answer.complete and not notice.skipped
        if row.adapter_kind in CANCELS_BY_ABSENCE:
            incomplete = None if notice.complete else f"answer incomplete: {notice.skipped[0]}"
            kinds.update(await absence.judge_absences(rt, row, seen, window, incomplete, answer.lanes))
    except SQLAlchemyError as error:
        log.exception("carrier.sync_apply_failed", scac=row.scac)
        notice.status = "error"
        notice.detail = f"applying the carrier's sailings failed: {type(error).__name__}"
    notice.sailings_seen = len(answer.offers)
    notice.changes = dict(kinds)
    async with transaction(rt.engine) as conn:
        if notice.status == "ok":
            await repository.record_sync_success(conn, row.id, rt.clock.app_now())
        else:
            await repository.record_sync_failure(conn, row.id, f"error: {notice.detail}", rt.clock.app_now())
    log.info(
        "carrier.synced",
        scac=row.scac,
        sailings=len(answer.offers),
        complete=notice.complete,
        changes=dict(kinds),
        skipped=len(notice.skipped),
    )
    return notice


async def _discover(rt: Runtime, row: AnyRow, new: Sequence[SailingOffer], kinds: Counter[str]) -> list[str]:
    """Insert new sailings ``DISCOVERY_BATCH`` to a transaction: nobody holds space on a sailing
    not stored yet, so a longer transaction blocks no sale, and a carrier's first sync commits
    a few dozen times instead of once per sailing. A batch that fails is applied again one
    sailing at a time, so that one bad sailing keeps only itself out; those are returned, with
    why, as skipped."""
    skipped: list[str] = []
    for start in range(0, len(new), DISCOVERY_BATCH):
        batch = new[start : start + DISCOVERY_BATCH]
        try:
            async with transaction(rt.engine) as conn:
                found: Counter[str] = Counter()
                for offer in batch:
                    found.update(await offers.apply_offer(conn, row.id, offer, rt.clock.app_now()))
            kinds.update(found)
            continue
        except SQLAlchemyError:
            log.warning("carrier.discovery_batch_failed", scac=row.scac, sailings=len(batch))
        for offer in batch:
            try:
                async with transaction(rt.engine) as conn:
                    kinds.update(await offers.apply_offer(conn, row.id, offer, rt.clock.app_now()))
            except SQLAlchemyError as error:
                log.exception("carrier.discovery_failed", scac=row.scac, voyage=offer.voyage_number)
                where = f"{offer.voyage_number} {offer.port_of_loading}-{offer.port_of_discharge}"
                skipped.append(f"{where}: could not be stored ({type(error).__name__})")
    return skipped


async def carrier_health(rt: Runtime, carrier_adapters: CarrierAdapters) -> list[CarrierHealthView]:
    """Every carrier's sync health and circuit breaker state."""
    async with transaction(rt.engine, read_only=True) as conn:
        rows = await repository.carrier_health(conn)
    views = []
    for row in rows:
        failures = row.consecutive_failures or 0
        health: Health = "unknown" if row.last_attempt_at is None else "unhealthy" if failures else "healthy"
        views.append(
            CarrierHealthView(
                scac=row.scac,
                name=row.name,
                adapter_kind=row.adapter_kind,
                health=health,
                last_attempt_at=row.last_attempt_at,
                last_success_at=row.last_success_at,
                last_error=row.last_error,
                consecutive_failures=failures,
                breaker=carrier_adapters.breaker_state(row.scac),
            )
        )
    return views


async def pending_changes(
    rt: Runtime, *, kinds: Sequence[str] | None = None, limit: int = 100
) -> list[SyncChangeView]:
    """Changes not handled yet, oldest first (read only; the reconcile pass locks each one it
    carries out, ``app.reconcile.repository.lock_next_change``, in its own transaction)."""
    async with transaction(rt.engine, read_only=True) as conn:
        rows = await repository.unhandled_changes(conn, kinds=kinds, limit=limit)
    return [change_view(row) for row in rows]


def change_view(row: AnyRow) -> SyncChangeView:
    return SyncChangeView(
        id=row.id,
        carrier_scac=row.carrier_scac,
        sailing_id=row.sailing_id,
        size_type=row.size_type,
        kind=row.kind,
        detail=row.detail,
        detected_at=row.detected_at,
    )


async def mark_handled(rt: Runtime, change_ids: Sequence[int]) -> int:
    """Mark changes handled in a transaction of their own; how many were still pending."""
    async with transaction(rt.engine) as conn:
        return await repository.mark_changes_handled(conn, change_ids, rt.clock.app_now())
