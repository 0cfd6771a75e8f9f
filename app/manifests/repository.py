"""Every query of manifests. Lock order: a manifest row alone (nothing else is locked with it)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db import table_of
from app.dialects import insert_ignoring_conflicts
from app.domain.states import LIVE_BOOKING_STATES
from app.inventory.models import ConsolidationContainer
from app.inventory.repository import carriers, pools, sailings
from app.manifests.build import BillRow, ContainerRow
from app.manifests.models import Manifest, ManifestVersion
from app.pagination import newest_first
from app.reservations.repository import bookings
from app.sync.repository import carrier_accounts

manifests = table_of(Manifest)
versions = table_of(ManifestVersion)
containers = table_of(ConsolidationContainer)
LIVE = sorted(state.value for state in LIVE_BOOKING_STATES)


class ClosedSailing(msgspec.Struct, kw_only=True, frozen=True):
    """A sailing with a closed pool, and the carrier its manifest goes to."""

    sailing_id: uuid.UUID
    carrier_id: uuid.UUID
    scac: str
    adapter_kind: str
    adapter_settings: dict[str, Any]
    voyage_number: str
    port_of_loading: str
    port_of_discharge: str


class ManifestRow(msgspec.Struct, kw_only=True, frozen=True):
    id: uuid.UUID
    sailing_id: uuid.UUID
    carrier_id: uuid.UUID
    carrier_scac: str
    voyage_number: str
    port_of_loading: str
    port_of_discharge: str
    etd: datetime
    latest_version: int
    created_at: datetime
    updated_at: datetime


class VersionRow(msgspec.Struct, kw_only=True, frozen=True):
    id: uuid.UUID
    manifest_id: uuid.UUID
    number: int
    checksum: str
    content: str
    document_dcsa: str | None
    document_edifact: bytes | None
    document_csv: str | None
    render_errors: dict[str, Any]
    containers: int
    house_bills: int
    created_at: datetime
    delivery_state: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    submitted_at: datetime | None
    receipt_reference: str | None
    decision: str | None
    decided_at: datetime | None
    decision_reason: str | None


class ClaimedVersion(msgspec.Struct, kw_only=True, frozen=True):
    """The latest version of a manifest, claimed for sending under ``lease_token``."""

    manifest_id: uuid.UUID
    version_id: uuid.UUID
    number: int
    checksum: str
    content: str
    attempts: int
    containers: int
    house_bills: int
    sailing_id: uuid.UUID
    voyage_number: str
    scac: str
    adapter_kind: str
    adapter_settings: dict[str, Any]


def _struct(kind: type[Any], row: Any) -> Any:
    return msgspec.convert(dict(row._mapping), kind, from_attributes=False)


# --- building -------------------------------------------------------------------------------


async def closed_sailings(conn: AsyncConnection, now: ColumnElement[datetime]) -> list[ClosedSailing]:
    """Sailings not yet departed with at least one closed pool."""
    closed = select(pools.c.sailing_id).where(pools.c.closed_at.is_not(None)).distinct().scalar_subquery()
    query = (
        select(
            sailings.c.id.label("sailing_id"),
            sailings.c.carrier_id,
            carriers.c.scac,
            carriers.c.adapter_kind,
            carriers.c.adapter_settings,
            sailings.c.voyage_number,
            sailings.c.port_of_loading,
            sailings.c.port_of_discharge,
        )
        .join(carriers, carriers.c.id == sailings.c.carrier_id)
        .where(sailings.c.id.in_(closed), sailings.c.etd > now)
        .order_by(sailings.c.etd, sailings.c.id)
    )
    return [_struct(ClosedSailing, row) for row in await conn.execute(query)]


async def consolidated(
    conn: AsyncConnection, sailing_id: uuid.UUID
) -> tuple[list[ContainerRow], list[BillRow]]:
    """The containers of the sailing's closed pools, and the live bookings aboard them."""
    query = (
        select(
            containers.c.id,
            containers.c.number,
            containers.c.size_type,
            containers.c.set_point_c,
            containers.c.master_reference,
            containers.c.master_carrier_booking_number,
            containers.c.equipment_reference,
            containers.c.seal_number,
        )
        .join(pools, pools.c.id == containers.c.pool_id)
        .where(containers.c.sailing_id == sailing_id, pools.c.closed_at.is_not(None))
    )
    boxes = [_struct(ContainerRow, row) for row in await conn.execute(query)]
    if not boxes:
        return [], []
    aboard = select(
        bookings.c.reference,
        bookings.c.house_bill_number,
        bookings.c.container_id,
        bookings.c.cargo,
        bookings.c.parties,
    ).where(bookings.c.container_id.in_([box.id for box in boxes]), bookings.c.state.in_(LIVE))
    return boxes, [_struct(BillRow, row) for row in await conn.execute(aboard)]


async def lock_manifest(
    conn: AsyncConnection, sailing_id: uuid.UUID, carrier_id: uuid.UUID, at: datetime
) -> tuple[uuid.UUID, int]:
    """(id, latest version) of the sailing's manifest, created if new, locked for the rest of
    the transaction (SQLite: the write transaction is the lock)."""
    await conn.execute(
        insert_ignoring_conflicts(conn.dialect.name, manifests, ["sailing_id", "carrier_id"]).values(
            id=uuid.uuid4(),
            sailing_id=sailing_id,
            carrier_id=carrier_id,
            latest_version=0,
            created_at=at,
            updated_at=at,
        )
    )
    query = select(manifests.c.id, manifests.c.latest_version).where(
        manifests.c.sailing_id == sailing_id, manifests.c.carrier_id == carrier_id
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = (await conn.execute(query)).one()
    return row.id, row.latest_version


async def latest_checksum(conn: AsyncConnection, sailing_id: uuid.UUID, carrier_id: uuid.UUID) -> str | None:
    """The checksum of the latest version of the sailing's manifest, None before the first."""
    query = (
        select(versions.c.checksum)
        .join(
            manifests,
            and_(manifests.c.id == versions.c.manifest_id, manifests.c.latest_version == versions.c.number),
        )
        .where(manifests.c.sailing_id == sailing_id, manifests.c.carrier_id == carrier_id)
    )
    found: str | None = (await conn.execute(query)).scalar_one_or_none()
    return found


async def checksum_of(conn: AsyncConnection, manifest_id: uuid.UUID, number: int) -> str | None:
    query = select(versions.c.checksum).where(
        versions.c.manifest_id == manifest_id, versions.c.number == number
    )
    found: str | None = (await conn.execute(query)).scalar_one_or_none()
    return found


async def add_version(conn: AsyncConnection, values: dict[str, Any], at: datetime) -> None:
    """Store the next version; versions still waiting to be sent are superseded by it (only the
    latest content is worth sending)."""
    await conn.execute(
        update(versions)
        .where(versions.c.manifest_id == values["manifest_id"], versions.c.delivery_state == "pending")
        .values(delivery_state="superseded", next_attempt_at=None)
    )
    await conn.execute(versions.insert().values(values))
    await conn.execute(
        update(manifests)
        .where(manifests.c.id == values["manifest_id"])
        .values(latest_version=values["number"], updated_at=at)
    )


# --- sending --------------------------------------------------------------------------------


def _lease_free(now: ColumnElement[datetime]) -> ColumnElement[bool]:
    return or_(manifests.c.lease_until.is_(None), manifests.c.lease_until < now)


async def claim_due(
    conn: AsyncConnection,
    now: ColumnElement[datetime],
    lease_until: ColumnElement[datetime],
    token: uuid.UUID,
    limit: int,
) -> list[ClaimedVersion]:
    """Claim manifests whose latest version is due for sending: rows locked ``FOR UPDATE SKIP
    LOCKED`` on PostgreSQL (SQLite: the write transaction), then leased to ``token`` by a
    conditional UPDATE, so a replica never takes a manifest another one is sending."""
    due = (
        select(manifests.c.id)
        .join(
            versions,
            and_(versions.c.manifest_id == manifests.c.id, versions.c.number == manifests.c.latest_version),
        )
        .where(versions.c.delivery_state == "pending", versions.c.next_attempt_at <= now, _lease_free(now))
        .order_by(versions.c.next_attempt_at, manifests.c.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        due = due.with_for_update(of=manifests, skip_locked=True)
    ids = list((await conn.execute(due)).scalars())
    if not ids:
        return []
    claimed = await conn.execute(
        update(manifests)
        .where(manifests.c.id.in_(ids), _lease_free(now))
        .values(lease_token=token, lease_until=lease_until)
        .returning(manifests.c.id)
    )
    taken = list(claimed.scalars())
    if not taken:
        return []
    query = (
        select(
            manifests.c.id.label("manifest_id"),
            versions.c.id.label("version_id"),
            versions.c.number,
            versions.c.checksum,
            versions.c.content,
            versions.c.attempts,
            versions.c.containers,
            versions.c.house_bills,
            sailings.c.id.label("sailing_id"),
            sailings.c.voyage_number,
            carriers.c.scac,
            carriers.c.adapter_kind,
            carriers.c.adapter_settings,
        )
        .join(
            versions,
            and_(versions.c.manifest_id == manifests.c.id, versions.c.number == manifests.c.latest_version),
        )
        .join(sailings, sailings.c.id == manifests.c.sailing_id)
        .join(carriers, carriers.c.id == manifests.c.carrier_id)
        .where(manifests.c.id.in_(taken))
        .order_by(manifests.c.id)
    )
    return [_struct(ClaimedVersion, row) for row in await conn.execute(query)]


async def end_lease(conn: AsyncConnection, manifest_id: uuid.UUID, token: uuid.UUID, at: datetime) -> bool:
    """Give the claim back; False when it was no longer ours (it lapsed and was taken over)."""
    result = await conn.execute(
        update(manifests)
        .where(manifests.c.id == manifest_id, manifests.c.lease_token == token)
        .values(lease_token=None, lease_until=None, updated_at=at)
    )
    return bool(result.rowcount)


async def update_version(
    conn: AsyncConnection, version_id: uuid.UUID, *, values: dict[str, Any], in_flight: bool
) -> None:
    """Record an attempt's outcome. What the carrier did with a version (``in_flight``) is
    recorded even when a later version superseded it meanwhile; a failure of a superseded
    version leaves it superseded (it is never retried: the later version is sent instead)."""
    states = ["pending", "superseded"] if in_flight else ["pending"]
    await conn.execute(
        update(versions)
        .where(versions.c.id == version_id, versions.c.delivery_state.in_(states))
        .values(**values, attempts=versions.c.attempts + 1)
    )


# --- reading --------------------------------------------------------------------------------


def _manifest_query() -> Any:
    return select(
        manifests.c.id,
        manifests.c.sailing_id,
        manifests.c.carrier_id,
        carriers.c.scac.label("carrier_scac"),
        sailings.c.voyage_number,
        sailings.c.port_of_loading,
        sailings.c.port_of_discharge,
        sailings.c.etd,
        manifests.c.latest_version,
        manifests.c.created_at,
        manifests.c.updated_at,
    ).select_from(
        manifests.join(sailings, sailings.c.id == manifests.c.sailing_id).join(
            carriers, carriers.c.id == manifests.c.carrier_id
        )
    )


async def carriers_of_organisation(conn: AsyncConnection, organisation_id: uuid.UUID) -> list[uuid.UUID]:
    query = select(carrier_accounts.c.carrier_id).where(carrier_accounts.c.organisation_id == organisation_id)
    return list((await conn.execute(query)).scalars())


async def list_manifests(
    conn: AsyncConnection,
    *,
    carrier_ids: Sequence[uuid.UUID] | None,
    sailing_id: uuid.UUID | None,
    etd_from: datetime | None,
    etd_to: datetime | None,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[ManifestRow]:
    """Manifests newest first (``limit`` of them), of ``carrier_ids`` only unless None."""
    query = _manifest_query().where(manifests.c.latest_version > 0)
    if carrier_ids is not None:
        query = query.where(manifests.c.carrier_id.in_(list(carrier_ids)))
    if sailing_id is not None:
        query = query.where(manifests.c.sailing_id == sailing_id)
    if etd_from is not None:
        query = query.where(sailings.c.etd >= etd_from)
    if etd_to is not None:
        query = query.where(sailings.c.etd <= etd_to)
    query = newest_first(query, manifests, before).limit(limit)
    return [_struct(ManifestRow, row) for row in await conn.execute(query)]


async def get_manifest(
    conn: AsyncConnection, manifest_id: uuid.UUID, carrier_ids: Sequence[uuid.UUID] | None
) -> ManifestRow | None:
    query = _manifest_query().where(manifests.c.id == manifest_id, manifests.c.latest_version > 0)
    if carrier_ids is not None:
        query = query.where(manifests.c.carrier_id.in_(list(carrier_ids)))
    row = (await conn.execute(query)).first()
    return None if row is None else _struct(ManifestRow, row)


async def versions_of(conn: AsyncConnection, manifest_id: uuid.UUID) -> list[VersionRow]:
    query = select(versions).where(versions.c.manifest_id == manifest_id).order_by(versions.c.number.desc())
    return [_struct(VersionRow, row) for row in await conn.execute(query)]


async def version_of(conn: AsyncConnection, manifest_id: uuid.UUID, number: int) -> VersionRow | None:
    query = select(versions).where(versions.c.manifest_id == manifest_id, versions.c.number == number)
    row = (await conn.execute(query)).first()
    return None if row is None else _struct(VersionRow, row)


async def record_equipment(
    conn: AsyncConnection, container_id: uuid.UUID, equipment_reference: str, seal_number: str, at: datetime
) -> Any:
    """Set a consolidated container's number and seal; None when there is no such container."""
    result = await conn.execute(
        update(containers)
        .where(containers.c.id == container_id)
        .values(equipment_reference=equipment_reference, seal_number=seal_number, updated_at=at)
        .returning(
            containers.c.id,
            containers.c.sailing_id,
            containers.c.number,
            containers.c.master_reference,
            containers.c.equipment_reference,
            containers.c.seal_number,
        )
    )
    return result.first()
