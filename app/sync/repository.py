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

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db import table_of
from app.dialects import insert_ignoring_conflicts
from app.inventory.repository import AnyRow, allotments, carriers, sailings
from app.sync.models import (
    AllotmentOffer,
    CarrierAccount,
    CarrierBooking,
    CarrierNotification,
    CarrierSyncState,
    SailingCarrierState,
    SyncChange,
)

carrier_accounts = table_of(CarrierAccount)
sync_states = table_of(CarrierSyncState)
sailing_states = table_of(SailingCarrierState)
offers = table_of(AllotmentOffer)
changes = table_of(SyncChange)
carrier_bookings = table_of(CarrierBooking)
notifications = table_of(CarrierNotification)


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


async def listed_sailings_between(
    conn: AsyncConnection, carrier_id: uuid.UUID, etd_from: datetime, etd_to: datetime
) -> list[AnyRow]:
    """The carrier's sailings with ETD in the window that the carrier has not cancelled."""
    query = (
        select(
            sailings.c.id, sailings.c.voyage_number, sailings.c.port_of_loading, sailings.c.port_of_discharge
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


# --- allotments and the carrier's figures ---------------------------------------------------


async def allotments_with_offers(conn: AsyncConnection, sailing_id: uuid.UUID) -> list[AnyRow]:
    """A sailing's allotments with the carrier's last figure (None where never recorded)."""
    query = (
        select(allotments, offers.c.units_offered)
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


async def link_carrier_account(
    conn: AsyncConnection, carrier_id: uuid.UUID, organisation_id: uuid.UUID, at: datetime
) -> bool:
    """Link a carrier to its organisation; False if the carrier or organisation is linked."""
    statement = insert_ignoring_conflicts(conn.dialect.name, carrier_accounts, ["carrier_id"])
    result = await conn.execute(
        statement.values(carrier_id=carrier_id, organisation_id=organisation_id, created_at=at).returning(
            carrier_accounts.c.carrier_id
        )
    )
    return result.first() is not None


async def carrier_with_account(conn: AsyncConnection, scac: str) -> AnyRow | None:
    """The carrier with ``scac`` and the organisation linked to it (None if none)."""
    query = (
        select(carriers.c.id, carriers.c.scac, carrier_accounts.c.organisation_id)
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
    """Store the carrier's status of a booking; the row when anything changed, else None."""
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
    updated = await conn.execute(
        update(carrier_bookings)
        .where(
            and_(
                carrier_bookings.c.carrier_id == values["carrier_id"],
                carrier_bookings.c.carrier_reference == values["carrier_reference"],
                differs,
            )
        )
        .values(
            status=values["status"],
            carrier_booking_number=number
            if number is not None
            else carrier_bookings.c.carrier_booking_number,
            reason=values.get("reason"),
            updated_at=values["updated_at"],
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
