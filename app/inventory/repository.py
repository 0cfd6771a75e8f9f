"""Every query over carriers, sailings, allotments and pools.

Counters change only here, through conditional ``UPDATE ... RETURNING`` statements: no value is
read into Python and written back (DESIGN section 4).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Table,
    Update,
    and_,
    exists,
    insert,
    literal,
    select,
    true,
    tuple_,
    update,
)
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db import table_of
from app.dbtypes import UtcDateTime
from app.domain.capacity import PoolSpace
from app.inventory.models import Allotment, Carrier, Pool, Sailing

carriers = table_of(Carrier)
sailings = table_of(Sailing)
allotments = table_of(Allotment)
pools = table_of(Pool)

AnyRow = Row[Any]

units_free = (
    allotments.c.units_total - allotments.c.units_held - allotments.c.units_booked - allotments.c.units_pooled
)
volume_free = pools.c.volume_total_dm3 - pools.c.volume_held_dm3 - pools.c.volume_booked_dm3
weight_free = pools.c.weight_total_g - pools.c.weight_held_g - pools.c.weight_booked_g


# --- carriers -------------------------------------------------------------------------------


async def insert_carrier(conn: AsyncConnection, values: Mapping[str, Any]) -> uuid.UUID:
    carrier_id = uuid.uuid4()
    await conn.execute(insert(carriers).values(id=carrier_id, **values))
    return carrier_id


async def carrier_id_by_scac(conn: AsyncConnection, scac: str) -> uuid.UUID | None:
    result = await conn.execute(select(carriers.c.id).where(carriers.c.scac == scac))
    return result.scalar_one_or_none()


async def list_carriers(conn: AsyncConnection) -> list[AnyRow]:
    return list((await conn.execute(select(carriers).order_by(carriers.c.scac))).all())


# --- sailings -------------------------------------------------------------------------------


def _sailing_columns() -> list[Any]:
    return [*sailings.c, carriers.c.scac.label("carrier_scac")]


async def insert_sailing(conn: AsyncConnection, values: Mapping[str, Any]) -> uuid.UUID:
    sailing_id = uuid.uuid4()
    await conn.execute(insert(sailings).values(id=sailing_id, **values))
    return sailing_id


async def get_sailing(conn: AsyncConnection, sailing_id: uuid.UUID) -> AnyRow | None:
    query = (
        select(*_sailing_columns())
        .join(carriers, carriers.c.id == sailings.c.carrier_id)
        .where(sailings.c.id == sailing_id)
    )
    return (await conn.execute(query)).first()


async def search_sailings(
    conn: AsyncConnection,
    *,
    now: ColumnElement[datetime],
    origin: str | None,
    destination: str | None,
    etd_from: datetime | None,
    etd_to: datetime | None,
    size_type: str | None,
    min_units: int | None,
    min_volume_dm3: int | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[AnyRow]:
    """Open sailings still before their cut-off, ordered by ETD, keyset-paginated."""
    query = (
        select(*_sailing_columns())
        .join(carriers, carriers.c.id == sailings.c.carrier_id)
        .where(sailings.c.status == "open", sailings.c.cut_off > now)
    )
    if origin:
        query = query.where(sailings.c.port_of_loading == origin)
    if destination:
        query = query.where(sailings.c.port_of_discharge == destination)
    if etd_from:
        query = query.where(sailings.c.etd >= etd_from)
    if etd_to:
        query = query.where(sailings.c.etd <= etd_to)
    if size_type or min_units:
        units_ok = allotments.c.sailing_id == sailings.c.id
        if size_type:
            units_ok = and_(units_ok, allotments.c.size_type == size_type)
        if min_units:
            units_ok = and_(units_ok, units_free >= min_units)
        query = query.where(exists().where(units_ok))
    if min_volume_dm3:
        drawable = pools.c.volume_total_dm3 - pools.c.volume_held_dm3 - pools.c.volume_booked_dm3
        space_ok = and_(
            pools.c.sailing_id == sailings.c.id,
            allotments.c.id == pools.c.allotment_id,
            drawable + units_free * pools.c.container_volume_dm3 >= min_volume_dm3,
            pools.c.size_type == size_type if size_type else true(),
        )
        query = query.where(exists().where(space_ok))
    if after is not None:
        query = query.where(
            tuple_(sailings.c.etd, sailings.c.id)
            > tuple_(literal(after[0], UtcDateTime()), literal(after[1]))
        )
    query = query.order_by(sailings.c.etd, sailings.c.id).limit(limit)
    return list((await conn.execute(query)).all())


async def allotments_of(conn: AsyncConnection, sailing_ids: Sequence[uuid.UUID]) -> list[AnyRow]:
    query = (
        select(allotments, units_free.label("units_free"))
        .where(allotments.c.sailing_id.in_(sailing_ids))
        .order_by(allotments.c.size_type)
    )
    return list((await conn.execute(query)).all())


async def pools_of(conn: AsyncConnection, sailing_ids: Sequence[uuid.UUID]) -> list[AnyRow]:
    return await _pools_where(conn, pools.c.sailing_id.in_(sailing_ids))


async def _pools_where(conn: AsyncConnection, condition: ColumnElement[bool]) -> list[AnyRow]:
    """Pools with their free space and how many containers they may still draw."""
    query = (
        select(
            pools,
            volume_free.label("volume_free_dm3"),
            weight_free.label("weight_free_g"),
            units_free.label("units_drawable"),
        )
        .join(allotments, allotments.c.id == pools.c.allotment_id)
        .where(condition)
        .order_by(pools.c.size_type)
    )
    return list((await conn.execute(query)).all())


class PoolCounters(msgspec.Struct, frozen=True, kw_only=True):
    """A pool's free space, the size of its containers and how many more its allotment can give."""

    id: uuid.UUID
    allotment_id: uuid.UUID
    container_volume_dm3: int
    container_weight_g: int
    volume_free_dm3: int
    weight_free_g: int
    units_drawable: int
    closed_at: datetime | None = None

    @property
    def space(self) -> PoolSpace:
        return PoolSpace(
            free_dm3=self.volume_free_dm3,
            free_g=self.weight_free_g,
            container_dm3=self.container_volume_dm3,
            container_g=self.container_weight_g,
        )


async def pool_counters(conn: AsyncConnection, pool_id: uuid.UUID) -> PoolCounters:
    row = (await _pools_where(conn, pools.c.id == pool_id))[0]
    return PoolCounters(**{name: row._mapping[name] for name in PoolCounters.__struct_fields__})


async def free_units(conn: AsyncConnection, allotment_id: uuid.UUID) -> int:
    """Units of the allotment nobody holds, booked or pooled."""
    query = select(units_free).where(allotments.c.id == allotment_id)
    return int((await conn.execute(query)).scalar_one())


async def insert_allotment(conn: AsyncConnection, values: Mapping[str, Any]) -> uuid.UUID:
    allotment_id = uuid.uuid4()
    await conn.execute(insert(allotments).values(id=allotment_id, **values))
    return allotment_id


async def allotment_by_size_type(
    conn: AsyncConnection, sailing_id: uuid.UUID, size_type: str
) -> AnyRow | None:
    query = select(allotments).where(
        allotments.c.sailing_id == sailing_id, allotments.c.size_type == size_type
    )
    return (await conn.execute(query)).first()


async def insert_pool(conn: AsyncConnection, values: Mapping[str, Any]) -> uuid.UUID:
    pool_id = uuid.uuid4()
    await conn.execute(insert(pools).values(id=pool_id, **values))
    return pool_id


# --- counters -------------------------------------------------------------------------------


def adjustment(
    table: Table,
    row_id: uuid.UUID | BindParameter[Any],
    deltas: Mapping[str, int | BindParameter[Any]],
    *,
    when: ColumnElement[bool] | None = None,
) -> Update:
    """``UPDATE table SET counter = counter + delta ... WHERE id = :id [AND when] RETURNING id``.

    The condition is evaluated by the database on the row it updates, so concurrent callers
    can never both pass it on the same free space.
    """
    statement = update(table).where(table.c.id == row_id)
    if when is not None:
        statement = statement.where(when)
    statement = statement.values({name: table.c[name] + delta for name, delta in deltas.items()})
    return statement.returning(table.c.id)


async def adjust(
    conn: AsyncConnection,
    table: Table,
    row_id: uuid.UUID,
    deltas: Mapping[str, int],
    *,
    when: ColumnElement[bool] | None = None,
) -> bool:
    """Add ``deltas`` to counters of one row if ``when`` holds; True when the row changed."""
    result = await conn.execute(adjustment(table, row_id, deltas, when=when))
    return result.first() is not None


def units_available(units: int | BindParameter[Any]) -> ColumnElement[bool]:
    return units_free >= units


def space_available(
    volume_dm3: int | BindParameter[Any], weight_g: int | BindParameter[Any]
) -> ColumnElement[bool]:
    return and_(volume_free >= volume_dm3, weight_free >= weight_g)


def pool_open() -> ColumnElement[bool]:
    """The pool has not closed at its LCL cut-off (app.consolidation closes it)."""
    is_open: ColumnElement[bool] = pools.c.closed_at.is_(None)
    return is_open


async def lock_open_pool(conn: AsyncConnection, pool_id: uuid.UUID) -> bool:
    """Lock the pool's row if it is still open; False when it has closed. Taken after the
    booking row (the lock order), so a change racing the close waits for it and then sees it."""
    query = select(pools.c.id).where(pools.c.id == pool_id, pool_open()).with_for_update()
    return (await conn.execute(query)).first() is not None


async def draw_container(conn: AsyncConnection, pool: PoolCounters) -> bool:
    """Move one unsold container from the allotment into the pool, in the caller's transaction."""
    drawn = await adjust(conn, allotments, pool.allotment_id, {"units_pooled": 1}, when=units_free >= 1)
    if not drawn:
        return False
    await adjust(
        conn,
        pools,
        pool.id,
        {
            "containers": 1,
            "volume_total_dm3": pool.container_volume_dm3,
            "weight_total_g": pool.container_weight_g,
        },
    )
    return True


async def lock_pool(conn: AsyncConnection, pool_id: uuid.UUID) -> None:
    """Take the pool's row lock first, so that slow LCL paths always lock pool before allotment."""
    await conn.execute(select(pools.c.id).where(pools.c.id == pool_id).with_for_update())
