"""The dispatcher's queries beyond the request outbox: carriers, master bookings to request,
and linking a carrier's booking to ours."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db import table_of
from app.dialects import insert_ignoring_conflicts
from app.inventory.models import ConsolidationContainer
from app.inventory.repository import AnyRow, carriers
from app.sync.repository import carrier_bookings

containers = table_of(ConsolidationContainer)


async def carrier_of(conn: AsyncConnection, carrier_id: uuid.UUID) -> AnyRow:
    query = select(carriers.c.scac, carriers.c.adapter_kind, carriers.c.adapter_settings).where(
        carriers.c.id == carrier_id
    )
    return (await conn.execute(query)).one()


async def any_master_to_request(conn: AsyncConnection) -> bool:
    query = select(exists().where(containers.c.master_status == "to_request"))
    return (await conn.execute(query)).scalar_one() is True


async def take_masters_to_request(conn: AsyncConnection, limit: int) -> list[AnyRow]:
    """Containers whose master booking is still to request, moved to ``requested`` (the caller
    records the request in the same transaction): each is taken once, by one replica."""
    candidates = select(containers.c.id).where(containers.c.master_status == "to_request").limit(limit)
    if conn.dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    ids = list((await conn.execute(candidates)).scalars())
    if not ids:
        return []
    statement = (
        update(containers)
        .where(containers.c.id.in_(ids), containers.c.master_status == "to_request")
        .values(master_status="requested")
        .returning(*containers.c)
    )
    return list((await conn.execute(statement)).all())


async def record_master_error(conn: AsyncConnection, container_id: uuid.UUID, detail: dict[str, Any]) -> None:
    await conn.execute(update(containers).where(containers.c.id == container_id).values(master_detail=detail))


async def link_carrier_booking(conn: AsyncConnection, values: dict[str, Any]) -> None:
    """Make sure the carrier's booking is known, linked to our booking (a notification may have
    stored it first, without the link)."""
    inserted = insert_ignoring_conflicts(
        conn.dialect.name, carrier_bookings, ["carrier_id", "carrier_reference"]
    )
    await conn.execute(inserted.values(id=uuid.uuid4(), **values))
    if values.get("booking_reference") is not None:
        await conn.execute(
            update(carrier_bookings)
            .where(
                carrier_bookings.c.carrier_id == values["carrier_id"],
                carrier_bookings.c.carrier_reference == values["carrier_reference"],
                carrier_bookings.c.booking_reference.is_(None),
            )
            .values(booking_reference=values["booking_reference"])
        )
