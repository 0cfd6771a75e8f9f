"""Every query of the carrier sync and of carrier notifications.

Counters of the inventory change here only through conditional UPDATEs evaluated by the
database (DESIGN section 4): a raise sets ``units_total`` only where it is still below the new
figure, and the carrier's own figure is swapped compare-and-set, so two syncs racing on the same
allotment apply a change once and record it once.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import and_, func, insert, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from app.db import table_of
from app.dbtypes import UtcDateTime
from app.dialects import insert_ignoring_conflicts
from app.inventory.repository import AnyRow, allotments, carriers, sailings
from app.sync.models import (
    AllotmentOffer,
    AllotmentRelease,
    CarrierAccount,
    CarrierBooking,
    CarrierNotification,
    CarrierSyncState,
    SailingCarrierState,
    SyncChange,
)
from carriers.base import SailingKey

carrier_accounts = table_of(CarrierAccount)
sync_states = table_of(CarrierSyncState)
sailing_states = table_of(SailingCarrierState)
offers = table_of(AllotmentOffer)
changes = table_of(SyncChange)
carrier_bookings = table_of(CarrierBooking)
notifications = table_of(CarrierNotification)
allotment_releases = table_of(AllotmentRelease)
# A carrier booking in one of these never moves again, whatever arrives late.
FINAL_CARRIER_STATUSES = ("rejected", "declined", "cancelled", "completed")


# --- carriers -------------------------------------------------------------------------------


async def carriers_to_sync(conn: AsyncConnection, scac: str | None = None) -> list[AnyRow]:
    """Carrier rows (all, or the one with ``scac``), ordered by SCAC."""
    query = select(carriers).order_by(carriers.c.scac)
    if scac is not None:
        query = query.where(carriers.c.scac == scac)
    return list((await conn.execute(query)).all())


# --- sailings -------------------------------------------------------------------------------


async def find_sailing(
    conn: AsyncConnection,
    carrier_id: uuid.UUID,
    voyage_number: str,
    port_of_loading: str,
    port_of_discharge: str,
) -> AnyRow | None:
    """A sailing by its natural key, with what the carrier last said of it (None if never)."""
    query = (
        select(sailings, sailing_states.c.carrier_status)
        .outerjoin(sailing_states, sailing_states.c.sailing_id == sailings.c.id)
        .where(
            sailings.c.carrier_id == carrier_id,
            sailings.c.voyage_number == voyage_number,
            sailings.c.port_of_loading == port_of_loading,
            sailings.c.port_of_discharge == port_of_discharge,
        )
    )
    return (await conn.execute(query)).first()


class StoredSailing(msgspec.Struct, kw_only=True, frozen=True):
    """A sailing as the sync last left it: what an unchanged offer is compared with."""

    etd: datetime
    eta: datetime
    cut_offs: dict[str, str]
    vessel_name: str
    carrier_status: str | None
    units_offered: dict[str, int | None]


async def carrier_snapshot(
    conn: AsyncConnection, carrier_id: uuid.UUID, scac: str
) -> dict[SailingKey, StoredSailing]:
    """Every sailing of a carrier with the carrier's last figures, in two queries, by key."""
    query = (
        select(sailings, sailing_states.c.carrier_status)
        .outerjoin(sailing_states, sailing_states.c.sailing_id == sailings.c.id)
        .where(sailings.c.carrier_id == carrier_id)
    )
    rows = (await conn.execute(query)).all()
    figures: dict[uuid.UUID, dict[str, int | None]] = {row.id: {} for row in rows}
    units = (
        select(allotments.c.sailing_id, allotments.c.size_type, offers.c.units_offered)
        .join(sailings, sailings.c.id == allotments.c.sailing_id)
        .outerjoin(offers, offers.c.allotment_id == allotments.c.id)
        .where(sailings.c.carrier_id == carrier_id)
    )
    for allotment in await conn.execute(units):
        figures[allotment.sailing_id][allotment.size_type] = allotment.units_offered
    return {
        SailingKey(
            carrier_scac=scac,
            voyage_number=row.voyage_number,
            port_of_loading=row.port_of_loading,
            port_of_discharge=row.port_of_discharge,
        ): StoredSailing(
            etd=row.etd,
            eta=row.eta,
            cut_offs=row.cut_offs,
            vessel_name=row.vessel_name,
            carrier_status=row.carrier_status,
            units_offered=figures[row.id],
        )
        for row in rows
    }


async def insert_sailing_if_absent(conn: AsyncConnection, values: Mapping[str, Any]) -> uuid.UUID | None:
    """Insert a discovered sailing; None when another sync inserted it first (natural key)."""
    sailing_id = uuid.uuid4()
    statement = insert_ignoring_conflicts(
        conn.dialect.name, sailings, ["carrier_id", "voyage_number", "port_of_loading", "port_of_discharge"]
    )
    result = await conn.execute(statement.values(id=sailing_id, **values).returning(sailings.c.id))
    return sailing_id if result.first() is not None else None


async def set_carrier_status(conn: AsyncConnection, sailing_id: uuid.UUID, status: str, at: datetime) -> bool:
    """Record the carrier's status of a sailing; True only for the call that changed it."""
    changed = await conn.execute(
        update(sailing_states)
        .where(sailing_states.c.sailing_id == sailing_id, sailing_states.c.carrier_status != status)
        .values(carrier_status=status, updated_at=at)
        .returning(sailing_states.c.sailing_id)
    )
    if changed.first() is not None:
        return True
    # Sailings created by hand before the carrier was synced have no state row yet.
    inserted = await conn.execute(
        insert_ignoring_conflicts(conn.dialect.name, sailing_states, ["sailing_id"])
        .values(sailing_id=sailing_id, carrier_status=status, updated_at=at)
        .returning(sailing_states.c.sailing_id)
    )
    return inserted.first() is not None and status != "scheduled"


async def move_schedule(conn: AsyncConnection, sailing: AnyRow, values: Mapping[str, Any]) -> bool:
    """Write new ETD/ETA/cut-offs if the row still has the times ``sailing`` was read with."""
    result = await conn.execute(
        update(sailings)
        .where(
            sailings.c.id == sailing.id,
            sailings.c.etd == sailing.etd,
            sailings.c.eta == sailing.eta,
            sailings.c.cut_off == sailing.cut_off,
        )
        .values(dict(values))
        .returning(sailings.c.id)
    )
    return result.first() is not None


async def name_vessel(conn: AsyncConnection, sailing_id: uuid.UUID, name: str, imo: str | None) -> None:
    """The vessel of a sailing stored as to be nominated, now that the carrier names it."""
    await conn.execute(
        update(sailings)
        .where(sailings.c.id == sailing_id, sailings.c.vessel_name == "TBN")
        .values(vessel_name=name, vessel_imo=imo)
    )


async def listed_sailings_between(
    conn: AsyncConnection, carrier_id: uuid.UUID, etd_from: datetime, etd_to: datetime
) -> list[AnyRow]:
    """The carrier's sailings with ETD in the window that the carrier has not cancelled, with
    how often they were absent from its answers (None where no state is recorded yet)."""
    query = (
        select(
            sailings.c.id,
            sailings.c.voyage_number,
            sailings.c.port_of_loading,
            sailings.c.port_of_discharge,
            sailing_states.c.absent_syncs,
            sailing_states.c.absent_since,
        )
        .outerjoin(sailing_states, sailing_states.c.sailing_id == sailings.c.id)
        .where(
            sailings.c.carrier_id == carrier_id,
            sailings.c.etd > etd_from,
            sailings.c.etd < etd_to,
            or_(sailing_states.c.carrier_status.is_(None), sailing_states.c.carrier_status == "scheduled"),
        )
    )
    return list((await conn.execute(query)).all())


async def note_absence(conn: AsyncConnection, sailing_id: uuid.UUID, at: datetime) -> AnyRow | None:
    """One more complete answer without the sailing: the count since it was first missed and
    since when (None if the carrier has cancelled it meanwhile)."""
    await conn.execute(
        insert_ignoring_conflicts(conn.dialect.name, sailing_states, ["sailing_id"]).values(
            sailing_id=sailing_id, carrier_status="scheduled", updated_at=at, absent_syncs=0
        )
    )
    result = await conn.execute(
        update(sailing_states)
        .where(sailing_states.c.sailing_id == sailing_id, sailing_states.c.carrier_status == "scheduled")
        .values(
            absent_syncs=sailing_states.c.absent_syncs + 1,
            absent_since=func.coalesce(sailing_states.c.absent_since, literal(at, UtcDateTime())),
        )
        .returning(sailing_states.c.absent_syncs, sailing_states.c.absent_since)
    )
    return result.first()


async def clear_absences(conn: AsyncConnection, sailing_ids: Sequence[uuid.UUID]) -> None:
    """Listed again: whatever absence was counted starts over."""
    if sailing_ids:
        await conn.execute(
            update(sailing_states)
            .where(sailing_states.c.sailing_id.in_(sailing_ids), sailing_states.c.absent_syncs > 0)
            .values(absent_syncs=0, absent_since=None)
        )


# --- allotments and the carrier's figures ---------------------------------------------------


async def allotments_with_offers(conn: AsyncConnection, sailing_id: uuid.UUID) -> list[AnyRow]:
    """A sailing's allotments with the carrier's last figure (None where never recorded) and
    when units of it were last given back to the carrier (None if never)."""
    last_release = (
        select(func.max(allotment_releases.c.released_at))
        .where(
            allotment_releases.c.allotment_id == allotments.c.id,
            allotment_releases.c.state == "released",
        )
        .scalar_subquery()
    )
    query = (
        select(allotments, offers.c.units_offered, last_release.label("last_released_at"))
        .outerjoin(offers, offers.c.allotment_id == allotments.c.id)
        .where(allotments.c.sailing_id == sailing_id)
        .order_by(allotments.c.size_type)
    )
    return list((await conn.execute(query)).all())


async def insert_allotment_if_absent(conn: AsyncConnection, values: Mapping[str, Any]) -> uuid.UUID | None:
    allotment_id = uuid.uuid4()
    statement = insert_ignoring_conflicts(conn.dialect.name, allotments, ["sailing_id", "size_type"])
    result = await conn.execute(statement.values(id=allotment_id, **values).returning(allotments.c.id))
    return allotment_id if result.first() is not None else None


async def record_offer(conn: AsyncConnection, allotment_id: uuid.UUID, units: int, at: datetime) -> bool:
    """First figure of an allotment; False when one is recorded already."""
    statement = insert_ignoring_conflicts(conn.dialect.name, offers, ["allotment_id"])
    result = await conn.execute(
        statement.values(allotment_id=allotment_id, units_offered=units, updated_at=at).returning(
            offers.c.allotment_id
        )
    )
    return result.first() is not None


async def swap_offer(
    conn: AsyncConnection, allotment_id: uuid.UUID, old: int, new: int, at: datetime
) -> bool:
    """Replace the carrier's figure ``old`` by ``new``; True only for the call that did it."""
    result = await conn.execute(
        update(offers)
        .where(offers.c.allotment_id == allotment_id, offers.c.units_offered == old)
        .values(units_offered=new, updated_at=at)
        .returning(offers.c.allotment_id)
    )
    return result.first() is not None


async def raise_total(conn: AsyncConnection, allotment_id: uuid.UUID, units: int) -> bool:
    """Lift ``units_total`` to ``units`` where it is lower; never lowers it (that is the
    scheduler's, after it has released holds and rolled bookings)."""
    result = await conn.execute(
        update(allotments)
        .where(allotments.c.id == allotment_id, allotments.c.units_total < units)
        .values(units_total=units)
        .returning(allotments.c.id)
    )
    return result.first() is not None


# --- recorded changes -----------------------------------------------------------------------


async def record_changes(conn: AsyncConnection, rows: Sequence[Mapping[str, Any]]) -> None:
    if rows:
        await conn.execute(insert(changes), [dict(row) for row in rows])


async def unhandled_changes(
    conn: AsyncConnection, *, kinds: Sequence[str] | None = None, limit: int = 100, lock: bool = False
) -> list[AnyRow]:
    """Oldest changes not handled yet. ``lock`` locks them (``FOR UPDATE SKIP LOCKED`` on
    PostgreSQL) so that replicas of the scheduler each take different ones."""
    query = (
        select(changes, carriers.c.scac.label("carrier_scac"))
        .join(carriers, carriers.c.id == changes.c.carrier_id)
        .where(changes.c.handled_at.is_(None))
        .order_by(changes.c.id)
        .limit(limit)
    )
    if kinds is not None:
        query = query.where(changes.c.kind.in_(kinds))
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update(of=changes, skip_locked=True)
    return list((await conn.execute(query)).all())


async def mark_changes_handled(conn: AsyncConnection, change_ids: Sequence[int], at: datetime) -> int:
    """Mark changes handled; returns how many were still unhandled."""
    if not change_ids:
        return 0
    result = await conn.execute(
        update(changes)
        .where(changes.c.id.in_(change_ids), changes.c.handled_at.is_(None))
        .values(handled_at=at)
        .returning(changes.c.id)
    )
    return len(result.all())


async def changes_of_carrier(conn: AsyncConnection, carrier_id: uuid.UUID) -> list[AnyRow]:
    query = select(changes).where(changes.c.carrier_id == carrier_id).order_by(changes.c.id)
    return list((await conn.execute(query)).all())


# --- health ---------------------------------------------------------------------------------


async def record_sync_success(conn: AsyncConnection, carrier_id: uuid.UUID, at: datetime) -> None:
    await _ensure_sync_state(conn, carrier_id)
    await conn.execute(
        update(sync_states)
        .where(sync_states.c.carrier_id == carrier_id)
        .values(last_attempt_at=at, last_success_at=at, last_error=None, consecutive_failures=0)
    )


async def record_sync_failure(conn: AsyncConnection, carrier_id: uuid.UUID, error: str, at: datetime) -> None:
    await _ensure_sync_state(conn, carrier_id)
    await conn.execute(
        update(sync_states)
        .where(sync_states.c.carrier_id == carrier_id)
        .values(
            last_attempt_at=at,
            last_error=error[:500],
            consecutive_failures=sync_states.c.consecutive_failures + 1,
        )
    )


async def _ensure_sync_state(conn: AsyncConnection, carrier_id: uuid.UUID) -> None:
    statement = insert_ignoring_conflicts(conn.dialect.name, sync_states, ["carrier_id"])
    await conn.execute(statement.values(carrier_id=carrier_id, consecutive_failures=0))


async def carrier_health(conn: AsyncConnection) -> list[AnyRow]:
    """Every carrier with its sync state (None columns where it was never synced)."""
    query = (
        select(
            carriers.c.id,
            carriers.c.scac,
            carriers.c.name,
            carriers.c.adapter_kind,
            sync_states.c.last_attempt_at,
            sync_states.c.last_success_at,
            sync_states.c.last_error,
            sync_states.c.consecutive_failures,
        )
        .outerjoin(sync_states, sync_states.c.carrier_id == carriers.c.id)
        .order_by(carriers.c.scac)
    )
    return list((await conn.execute(query)).all())


# --- carrier accounts and notifications -----------------------------------------------------


async def link_carrier_account(conn: AsyncConnection, values: Mapping[str, Any]) -> bool:
    """Link a carrier to its organisation; False if the carrier or organisation is linked."""
    statement = insert_ignoring_conflicts(conn.dialect.name, carrier_accounts, ["carrier_id"])
    result = await conn.execute(statement.values(dict(values)).returning(carrier_accounts.c.carrier_id))
    return result.first() is not None


async def carrier_with_account(conn: AsyncConnection, scac: str) -> AnyRow | None:
    """The carrier with ``scac``, the organisation linked to it and how its notifications are
    signed (None where not linked)."""
    query = (
        select(
            carriers.c.id,
            carriers.c.scac,
            carrier_accounts.c.organisation_id,
            carrier_accounts.c.signature_secret_sealed,
            carrier_accounts.c.signature_header,
        )
        .outerjoin(carrier_accounts, carrier_accounts.c.carrier_id == carriers.c.id)
        .where(carriers.c.scac == scac)
    )
    return (await conn.execute(query)).first()


async def record_notification(conn: AsyncConnection, values: Mapping[str, Any]) -> bool:
    """Insert a received notification; False when this carrier sent this event id before."""
    statement = insert_ignoring_conflicts(conn.dialect.name, notifications, ["carrier_id", "event_id"])
    result = await conn.execute(statement.values(id=uuid.uuid4(), **values).returning(notifications.c.id))
    return result.first() is not None


async def report_carrier_booking(conn: AsyncConnection, values: Mapping[str, Any]) -> AnyRow | None:
    """Store the carrier's status of a booking; the row when anything changed, else None.

    A report older than the one stored (``reported_at``) changes nothing, and neither does
    anything after a final status (rejected, declined, cancelled, completed): notifications
    arrive out of order, and a late confirmation must not reopen a cancelled booking."""
    statement = insert_ignoring_conflicts(
        conn.dialect.name, carrier_bookings, ["carrier_id", "carrier_reference"]
    )
    inserted = await conn.execute(statement.values(id=uuid.uuid4(), **values).returning(*carrier_bookings.c))
    row = inserted.first()
    if row is not None:
        return row
    number = values.get("carrier_booking_number")
    differs = carrier_bookings.c.status != values["status"]
    if number is not None:
        differs = or_(
            differs,
            carrier_bookings.c.carrier_booking_number.is_(None),
            carrier_bookings.c.carrier_booking_number != number,
        )
    reported_at = values.get("reported_at")
    in_order: ColumnElement[bool] = carrier_bookings.c.status.not_in(FINAL_CARRIER_STATUSES)
    if reported_at is not None:
        in_order = and_(
            in_order,
            or_(carrier_bookings.c.reported_at.is_(None), carrier_bookings.c.reported_at <= reported_at),
        )
    updated = await conn.execute(
        update(carrier_bookings)
        .where(
            and_(
                carrier_bookings.c.carrier_id == values["carrier_id"],
                carrier_bookings.c.carrier_reference == values["carrier_reference"],
                differs,
                in_order,
            )
        )
        .values(
            status=values["status"],
            carrier_booking_number=number
            if number is not None
            else carrier_bookings.c.carrier_booking_number,
            reason=values.get("reason"),
            updated_at=values["updated_at"],
            reported_at=func.coalesce(literal(reported_at, UtcDateTime()), carrier_bookings.c.reported_at),
        )
        .returning(*carrier_bookings.c)
    )
    return updated.first()


async def carrier_booking(
    conn: AsyncConnection, carrier_id: uuid.UUID, carrier_reference: str
) -> AnyRow | None:
    query = select(carrier_bookings).where(
        carrier_bookings.c.carrier_id == carrier_id, carrier_bookings.c.carrier_reference == carrier_reference
    )
    return (await conn.execute(query)).first()
