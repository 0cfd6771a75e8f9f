"""Manifests: rebuild each closed sailing's manifest, store a version when it changed, send the
latest version to the carrier, and read them.

Every run of :func:`run_manifests` (the ``submit-manifests`` job, or the dispatcher of carrier
requests calling it):

1. rebuild: for each sailing with a closed pool (not departed), the manifest is built from its
   containers and their live bookings; its canonical content's sha256 is compared with the
   latest version's, and a differing one is stored as the next version (under the manifest row's
   lock, so two replicas store it once) with its three documents. Versions not sent yet are
   superseded: only the latest content goes to the carrier.
2. send: manifests whose latest version is due are claimed (``FOR UPDATE SKIP LOCKED``, then a
   lease), committed, and the version goes through the adapter's ``submit_manifest`` outside
   any transaction. The outcome is recorded while the lease is still ours: receipt and the
   carrier's decision with their events, or the failure with the next attempt (backoff, after
   ``Retry-After`` when the carrier asked), persisted so that any replica's later run retries.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime

import msgspec
import structlog
from sqlalchemy.ext.asyncio import AsyncConnection
from stdnum import iso6346

from app.accounts.actor import Actor
from app.carrier_adapters.cache import CarrierAdapters
from app.db import transaction
from app.domain.errors import InvalidRequest, NotFound
from app.events import outbox
from app.manifests import repository
from app.manifests.build import build_manifest, canonical, checksum, house_bill_count
from app.manifests.render import render
from app.manifests.repository import ClaimedVersion, ClosedSailing, ManifestRow, VersionRow
from app.manifests.schemas import (
    ContainerEquipment,
    ContainerEquipmentView,
    Decision,
    DeliveryState,
    ManifestFormat,
    ManifestPage,
    ManifestRound,
    ManifestVersionView,
    ManifestView,
)
from app.pagination import decode_cursor, page_of
from app.runtime import Runtime
from app.webhooks.schedule import retry_wait
from carriers.base import (
    CarrierError,
    Manifest,
    ManifestReceipt,
    PermanentCarrierError,
    RetryableCarrierError,
    SailingKey,
)

log = structlog.get_logger("slotpool.manifests")
# At most this many versions sent per run: the rest wait for the next run (or replica).
SENDS_PER_RUN = 20


async def run_manifests(rt: Runtime, carrier_adapters: CarrierAdapters | None = None) -> ManifestRound:
    """Rebuild every closed sailing's manifest, then send what is due. Safe on every replica."""
    report = ManifestRound()
    await refresh_manifests(rt, report)
    await submit_due_manifests(rt, carrier_adapters or rt.carriers, report)
    return report


# --- versions -------------------------------------------------------------------------------


async def refresh_manifests(rt: Runtime, report: ManifestRound) -> None:
    async with transaction(rt.engine, read_only=True) as conn:
        closed = await repository.closed_sailings(conn, rt.clock.now_sql(rt.dialect))
    for sailing in closed:
        report.sailings += 1
        if await _refresh(rt, sailing):
            report.versions_stored += 1


async def _refresh(rt: Runtime, sailing: ClosedSailing) -> bool:
    async with transaction(rt.engine, read_only=True) as conn:
        boxes, bills = await repository.consolidated(conn, sailing.sailing_id)
        known = await repository.latest_checksum(conn, sailing.sailing_id, sailing.carrier_id)
    key = SailingKey(
        carrier_scac=sailing.scac,
        voyage_number=sailing.voyage_number,
        port_of_loading=sailing.port_of_loading,
        port_of_discharge=sailing.port_of_discharge,
    )
    manifest = build_manifest(key, boxes, bills)
    if not manifest.containers:
        # Nothing aboard (every booking cancelled or rolled): no manifest to send; the carrier
        # hears of it through the master bookings' cancellation.
        return False
    content = canonical(manifest)
    digest = checksum(content)
    if digest == known:
        return False  # unchanged: the usual case, decided without rendering or a write
    at = rt.clock.app_now()
    # Rendered before the transaction: pure work that holds no lock. A version already stored
    # with this checksum (by another replica meanwhile) makes it wasted, never wrong.
    documents = render(
        manifest,
        kind=sailing.adapter_kind,
        carrier_settings=sailing.adapter_settings,
        settings=rt.settings,
        control_reference=digest[:14].upper(),
        prepared_at=at,
    )
    async with transaction(rt.engine) as conn:
        manifest_id, latest = await repository.lock_manifest(conn, sailing.sailing_id, sailing.carrier_id, at)
        if latest and await repository.checksum_of(conn, manifest_id, latest) == digest:
            return False
        await repository.add_version(
            conn,
            {
                "id": uuid.uuid4(),
                "manifest_id": manifest_id,
                "number": latest + 1,
                "checksum": digest,
                "content": content.decode(),
                "document_dcsa": None if documents.dcsa is None else documents.dcsa.decode(),
                "document_edifact": documents.edifact,
                "document_csv": documents.csv,
                "render_errors": documents.errors,
                "containers": len(manifest.containers),
                "house_bills": house_bill_count(manifest),
                "created_at": at,
                "delivery_state": "pending",
                "attempts": 0,
                "next_attempt_at": at,
            },
            at,
        )
    log.info(
        "manifest.version_stored", sailing_id=str(sailing.sailing_id), version=latest + 1, checksum=digest
    )
    return True


# --- sending --------------------------------------------------------------------------------


async def submit_due_manifests(rt: Runtime, carrier_adapters: CarrierAdapters, report: ManifestRound) -> None:
    """Send the latest version of every manifest that is due, one claimed batch at a time."""
    # One manifest per claim: each lease then covers one carrier call and its record, never a
    # batch of calls that could outlast it.
    for _ in range(SENDS_PER_RUN):
        token = uuid.uuid4()
        async with transaction(rt.engine) as conn:
            claimed = await repository.claim_due(
                conn,
                rt.clock.now_sql(rt.dialect),
                rt.clock.now_sql(rt.dialect, rt.settings.manifest_lease_seconds),
                token,
                1,
            )
        if not claimed:
            return
        await _submit(rt, carrier_adapters, claimed[0], token, report)


async def _submit(
    rt: Runtime,
    carrier_adapters: CarrierAdapters,
    version: ClaimedVersion,
    token: uuid.UUID,
    report: ManifestRound,
) -> None:
    manifest = msgspec.json.decode(version.content, type=Manifest)
    try:
        adapter = await carrier_adapters.adapter_for(
            rt, version.scac, version.adapter_kind, version.adapter_settings
        )
        async with asyncio.timeout(carrier_adapters.timeout):
            receipt = await adapter.submit_manifest(manifest)
    except PermanentCarrierError as error:
        await _record_refusal(rt, version, token, error.message, report)
    except (CarrierError, ValueError, TimeoutError) as error:
        retry_after = error.retry_after if isinstance(error, RetryableCarrierError) else None
        await _record_failure(rt, version, token, f"{type(error).__name__}: {error}", retry_after, report)
    else:
        await _record_receipt(rt, version, token, receipt, report)


def _event(kind: str, version: ClaimedVersion, attempts: int, **outcome: str | None) -> outbox.PendingEvent:
    return outbox.PendingEvent(
        kind,
        version.manifest_id,
        None,
        {
            "manifest_id": str(version.manifest_id),
            "version": version.number,
            "sailing_id": str(version.sailing_id),
            "carrier_scac": version.scac,
            "voyage_number": version.voyage_number,
            "checksum": version.checksum,
            "containers": version.containers,
            "house_bills": version.house_bills,
            "attempts": attempts,
            **outcome,
        },
    )


async def _record_receipt(
    rt: Runtime, version: ClaimedVersion, token: uuid.UUID, receipt: ManifestReceipt, report: ManifestRound
) -> None:
    at = rt.clock.app_now()
    attempts = version.attempts + 1
    decision = "accepted" if receipt.accepted else "rejected"
    reason = None if receipt.accepted else "the carrier did not accept it"
    async with transaction(rt.engine) as conn:
        if not await repository.end_lease(conn, version.manifest_id, token, at):
            log.warning("manifest.lease_lost", manifest_id=str(version.manifest_id), version=version.number)
            return
        await repository.update_version(
            conn,
            version.version_id,
            in_flight=True,
            values={
                "delivery_state": "submitted",
                "next_attempt_at": None,
                "last_error": None,
                "submitted_at": at,
                "receipt_reference": receipt.carrier_reference[:200],
                "decision": decision,
                "decided_at": at,
                "decision_reason": reason,
            },
        )
        reference = receipt.carrier_reference[:200]
        events = [
            _event("manifest.submitted", version, attempts, receipt_reference=reference),
            _event(f"manifest.{decision}", version, attempts, receipt_reference=reference, reason=reason),
        ]
        await outbox.record(conn, events, at)
    report.submitted += 1
    if receipt.accepted:
        report.accepted += 1
    else:
        report.rejected += 1
    log.info(
        "manifest.submitted", manifest_id=str(version.manifest_id), version=version.number, decision=decision
    )


async def _record_refusal(
    rt: Runtime, version: ClaimedVersion, token: uuid.UUID, reason: str, report: ManifestRound
) -> None:
    """The carrier refused the version, or it breaks the carrier's rules and was not sent:
    retrying the same content cannot help; a changed manifest makes a new version."""
    at = rt.clock.app_now()
    async with transaction(rt.engine) as conn:
        if not await repository.end_lease(conn, version.manifest_id, token, at):
            return
        await repository.update_version(
            conn,
            version.version_id,
            in_flight=True,
            values={
                "delivery_state": "failed",
                "next_attempt_at": None,
                "last_error": reason[:1000],
                "decision": "rejected",
                "decided_at": at,
                "decision_reason": reason[:1000],
            },
        )
        event = _event("manifest.rejected", version, version.attempts + 1, reason=reason[:1000])
        await outbox.record(conn, [event], at)
    report.rejected += 1
    log.warning(
        "manifest.rejected", manifest_id=str(version.manifest_id), version=version.number, reason=reason
    )


async def _record_failure(
    rt: Runtime,
    version: ClaimedVersion,
    token: uuid.UUID,
    error: str,
    retry_after: float | None,
    report: ManifestRound,
) -> None:
    at = rt.clock.app_now()
    attempts = version.attempts + 1
    give_up = attempts >= rt.settings.manifest_max_attempts
    wait = max(retry_after or 0.0, retry_wait(attempts))
    async with transaction(rt.engine) as conn:
        if not await repository.end_lease(conn, version.manifest_id, token, at):
            return
        await repository.update_version(
            conn,
            version.version_id,
            in_flight=False,
            values={
                "delivery_state": "failed" if give_up else "pending",
                "next_attempt_at": None if give_up else rt.clock.now_sql(rt.dialect, wait),
                "last_error": error[:1000],
            },
        )
        if give_up:
            reason = f"not delivered after {attempts} attempts: {error}"[:1000]
            await outbox.record(conn, [_event("manifest.rejected", version, attempts, reason=reason)], at)
    if give_up:
        report.given_up += 1
    else:
        report.retrying += 1
    log.warning(
        "manifest.submit_failed", manifest_id=str(version.manifest_id), attempts=attempts, error=error
    )


# --- reading --------------------------------------------------------------------------------


def _view(row: ManifestRow) -> ManifestView:
    return ManifestView(
        id=row.id,
        sailing_id=row.sailing_id,
        carrier_scac=row.carrier_scac,
        voyage_number=row.voyage_number,
        port_of_loading=row.port_of_loading,
        port_of_discharge=row.port_of_discharge,
        etd=row.etd,
        latest_version=row.latest_version,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def version_view(row: VersionRow) -> ManifestVersionView:
    documents = {
        ManifestFormat.DCSA: row.document_dcsa,
        ManifestFormat.EDIFACT: row.document_edifact,
        ManifestFormat.CSV: row.document_csv,
    }
    return ManifestVersionView(
        number=row.number,
        checksum=row.checksum,
        containers=row.containers,
        house_bills=row.house_bills,
        formats=[kind for kind, document in documents.items() if document is not None],
        render_errors={str(k): str(v) for k, v in row.render_errors.items()},
        created_at=row.created_at,
        delivery_state=DeliveryState(row.delivery_state),
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
        submitted_at=row.submitted_at,
        receipt_reference=row.receipt_reference,
        decision=None if row.decision is None else Decision(row.decision),
        decided_at=row.decided_at,
        decision_reason=row.decision_reason,
    )


async def _scope(conn: AsyncConnection, actor: Actor) -> list[uuid.UUID] | None:
    """The carriers whose manifests ``actor`` reads: every one for an operator, else those
    its organisation is linked to (none for any other organisation)."""
    if actor.sees_everything:
        return None
    return await repository.carriers_of_organisation(conn, actor.organisation_id)


async def list_manifests(
    rt: Runtime,
    actor: Actor,
    *,
    sailing_id: uuid.UUID | None,
    etd_from: datetime | None,
    etd_to: datetime | None,
    cursor: str | None,
    limit: int,
) -> ManifestPage:
    if etd_from is not None and etd_to is not None and etd_from > etd_to:
        raise InvalidRequest("etd_from", "etd_from is after etd_to")
    before = decode_cursor(cursor)
    async with transaction(rt.engine, read_only=True) as conn:
        carrier_ids = await _scope(conn, actor)
        rows = await repository.list_manifests(
            conn,
            carrier_ids=carrier_ids,
            sailing_id=sailing_id,
            etd_from=etd_from,
            etd_to=etd_to,
            before=before,
            limit=limit + 1,
        )
    page, next_cursor = page_of(rows, limit, lambda row: (row.created_at, row.id))
    return ManifestPage(items=[_view(row) for row in page], next_cursor=next_cursor)


async def get_manifest(rt: Runtime, actor: Actor, manifest_id: uuid.UUID) -> tuple[ManifestView, VersionRow]:
    """The manifest and its latest version; another carrier's manifest is NotFound."""
    async with transaction(rt.engine, read_only=True) as conn:
        row = await repository.get_manifest(conn, manifest_id, await _scope(conn, actor))
        if row is None:
            raise NotFound("manifest", manifest_id)
        latest = await repository.version_of(conn, manifest_id, row.latest_version)
    assert latest is not None, "a manifest's latest version is stored with it"
    return _view(row), latest


async def list_versions(rt: Runtime, actor: Actor, manifest_id: uuid.UUID) -> list[ManifestVersionView]:
    async with transaction(rt.engine, read_only=True) as conn:
        if await repository.get_manifest(conn, manifest_id, await _scope(conn, actor)) is None:
            raise NotFound("manifest", manifest_id)
        rows = await repository.versions_of(conn, manifest_id)
    return [version_view(row) for row in rows]


async def get_version(rt: Runtime, actor: Actor, manifest_id: uuid.UUID, number: int) -> VersionRow:
    async with transaction(rt.engine, read_only=True) as conn:
        if await repository.get_manifest(conn, manifest_id, await _scope(conn, actor)) is None:
            raise NotFound("manifest", manifest_id)
        row = await repository.version_of(conn, manifest_id, number)
    if row is None:
        raise NotFound("manifest version", f"{manifest_id}/{number}")
    return row


async def record_equipment(
    rt: Runtime, container_id: uuid.UUID, given: ContainerEquipment
) -> ContainerEquipmentView:
    """An operator records the box and seal of a consolidated container; the next run of the
    manifest job stores the manifest's next version with them (and sends it)."""
    if not iso6346.is_valid(given.equipment_reference):
        raise InvalidRequest(
            "equipment_reference", f"{given.equipment_reference} fails its ISO 6346 check digit"
        )
    async with transaction(rt.engine) as conn:
        row = await repository.record_equipment(
            conn, container_id, given.equipment_reference, given.seal_number, rt.clock.app_now()
        )
    if row is None:
        raise NotFound("container", container_id)
    return ContainerEquipmentView(
        container_id=row.id,
        sailing_id=row.sailing_id,
        number=row.number,
        master_reference=row.master_reference,
        equipment_reference=row.equipment_reference,
        seal_number=row.seal_number,
    )
