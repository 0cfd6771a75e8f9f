"""Every query of the carrier adapters' store: their releases, counters and documents, by
carrier."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Uuid, column, select, table, update
from sqlalchemy.ext.asyncio import AsyncConnection

from app.carrier_adapters.models import CarrierCounter, CarrierDocument, CarrierRelease
from app.db import table_of
from app.dialects import insert_ignoring_conflicts, upsert

carrier_releases = table_of(CarrierRelease)
counters = table_of(CarrierCounter)
documents = table_of(CarrierDocument)
# The carriers' ids by SCAC, read without the inventory's models: the adapters sit below every
# feature of the app.
carriers = table("carriers", column("id", Uuid()), column("scac"))
AnyRow = Row[Any]


async def carrier_id_of(conn: AsyncConnection, scac: str) -> uuid.UUID | None:
    found: uuid.UUID | None = (
        await conn.execute(select(carriers.c.id).where(carriers.c.scac == scac))
    ).scalar_one_or_none()
    return found


async def keep_carrier_release(conn: AsyncConnection, values: Mapping[str, Any]) -> AnyRow:
    """Insert a carrier's release unless its release id is kept; the kept row either way."""
    statement = insert_ignoring_conflicts(conn.dialect.name, carrier_releases, ["carrier_id", "release_id"])
    await conn.execute(statement.values(id=uuid.uuid4(), **values))
    query = select(carrier_releases).where(
        carrier_releases.c.carrier_id == values["carrier_id"],
        carrier_releases.c.release_id == values["release_id"],
    )
    return (await conn.execute(query)).one()


async def carrier_releases_of(
    conn: AsyncConnection, carrier_id: uuid.UUID, key: tuple[str, str, str] | None = None
) -> list[AnyRow]:
    """A carrier's releases (of one sailing: voyage, POL, POD), oldest first."""
    query = (
        select(carrier_releases)
        .where(carrier_releases.c.carrier_id == carrier_id)
        .order_by(carrier_releases.c.released_at, carrier_releases.c.release_id)
    )
    if key is not None:
        voyage, pol, pod = key
        query = query.where(
            carrier_releases.c.voyage_number == voyage,
            carrier_releases.c.port_of_loading == pol,
            carrier_releases.c.port_of_discharge == pod,
        )
    return list((await conn.execute(query)).all())


async def next_counter(conn: AsyncConnection, carrier_id: uuid.UUID, name: str) -> int:
    """The counter's next value. The UPDATE takes the row's lock, so concurrent callers each
    get their own number."""
    await conn.execute(
        insert_ignoring_conflicts(conn.dialect.name, counters, ["carrier_id", "name"]).values(
            carrier_id=carrier_id, name=name, value=0
        )
    )
    result = await conn.execute(
        update(counters)
        .where(counters.c.carrier_id == carrier_id, counters.c.name == name)
        .values(value=counters.c.value + 1)
        .returning(counters.c.value)
    )
    return int(result.scalar_one())


async def counter_value(conn: AsyncConnection, carrier_id: uuid.UUID, name: str) -> int:
    query = select(counters.c.value).where(counters.c.carrier_id == carrier_id, counters.c.name == name)
    return int((await conn.execute(query)).scalar_one_or_none() or 0)


async def load_document(conn: AsyncConnection, carrier_id: uuid.UUID, key: str) -> bytes | None:
    query = select(documents.c.value).where(documents.c.carrier_id == carrier_id, documents.c.key == key)
    value: bytes | None = (await conn.execute(query)).scalar_one_or_none()
    return value


async def save_document(
    conn: AsyncConnection, carrier_id: uuid.UUID, key: str, value: bytes, at: datetime
) -> None:
    statement = upsert(conn.dialect.name, documents, ["carrier_id", "key"], ["value", "updated_at"])
    await conn.execute(statement.values(carrier_id=carrier_id, key=key, value=value, updated_at=at))
