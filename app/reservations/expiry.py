"""Expiring overdue holds in bulk: set-based statements, event payloads built by the database.

The sweeper may face a backlog of a hundred thousand holds; building each ``hold.expired``
payload in Python would cost more than the database work itself. So one statement per batch
on PostgreSQL (lock, expire, write the events, sum what goes back to each counter), and a few
set-based statements on SQLite. The payload is the hold as the API shows it
(app.reservations.views.hold_view); a test pins the two together field by field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    Numeric,
    String,
    Text,
    case,
    cast,
    func,
    insert,
    literal,
    null,
    select,
    type_coerce,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db import table_of
from app.domain.capacity import Quantity
from app.domain.states import Load
from app.events.models import OutboxEvent
from app.reservations.models import ACTIVE
from app.reservations.repository import holds, overdue

outbox = table_of(OutboxEvent)
EVENT_COLUMNS = ["event_id", "type", "subject_id", "organisation_id", "payload", "created_at"]


class ReleasedSpace:
    """What one counter row gets back from a batch of expired holds."""

    __slots__ = ("count", "quantity")

    def __init__(self, row: Any) -> None:
        self.count = int(row.count)
        self.quantity = Quantity(
            load=Load(row.load),
            allotment_id=row.allotment_id,
            pool_id=row.pool_id,
            units=int(row.units),
            volume_dm3=int(row.volume_dm3),
            weight_g=int(row.weight_g),
        )


def _overdue(now: ColumnElement[datetime], counter: ColumnElement[bool] | None, limit: int | None) -> Any:
    query = select(holds.c.id).where(overdue(now))
    if counter is not None:
        query = query.where(counter)
    if limit is not None:
        query = query.order_by(holds.c.expires_at).limit(limit)
    # Holds another transaction has locked (being confirmed, released, swept) are left to it.
    return query.with_for_update(skip_locked=True)


def _sums(rows: Any) -> Any:
    return select(
        rows.c.load,
        rows.c.allotment_id,
        rows.c.pool_id,
        func.count().label("count"),
        func.sum(rows.c.units).label("units"),
        func.sum(rows.c.volume_dm3).label("volume_dm3"),
        func.sum(rows.c.weight_g).label("weight_g"),
    ).group_by(rows.c.load, rows.c.allotment_id, rows.c.pool_id)


async def expire_overdue(
    conn: AsyncConnection,
    now: ColumnElement[datetime],
    *,
    counter: ColumnElement[bool] | None = None,
    limit: int | None = None,
) -> list[ReleasedSpace]:
    """Expire overdue active holds (at most ``limit``, oldest first), write one ``hold.expired``
    event each, and return per counter row what the caller must give back."""
    if conn.dialect.name == "postgresql":
        return await _expire_postgresql(conn, now, counter, limit)
    return await _expire_sqlite(conn, now, counter, limit)


async def _expire_postgresql(
    conn: AsyncConnection,
    now: ColumnElement[datetime],
    counter: ColumnElement[bool] | None,
    limit: int | None,
) -> list[ReleasedSpace]:
    # A CTE runs once, so the LIMIT holds (an IN-subquery may be re-run per outer row).
    due = _overdue(now, counter, limit).cte("due")
    expired = (
        update(holds)
        .where(holds.c.id == due.c.id, holds.c.state == ACTIVE)
        .values(state="expired", ended_at=now)
        .returning(*holds.c)
        .cte("expired")
    )
    events = insert(outbox).from_select(
        EVENT_COLUMNS,
        select(
            func.gen_random_uuid(),
            literal("hold.expired"),
            cast(expired.c.id, Text),
            expired.c.organisation_id,
            type_coerce(_payload(expired.c, _PostgresFormat()), JSON),
            expired.c.ended_at,
        ),
    )
    statement = _sums(expired).add_cte(events.cte("events"))
    return [ReleasedSpace(row) for row in await conn.execute(statement)]


async def _expire_sqlite(
    conn: AsyncConnection,
    now: ColumnElement[datetime],
    counter: ColumnElement[bool] | None,
    limit: int | None,
) -> list[ReleasedSpace]:
    # SQLite has no DML in CTEs. Its writers are serialized and "now" is read once, so the same
    # bounded subquery picks the same holds for each statement below (no id lists to bind).
    moment = (await conn.execute(select(now))).scalar_one()
    batch = holds.c.id.in_(
        _overdue(literal(moment, holds.c.expires_at.type), counter, limit).order_by(holds.c.id)
    )
    sums = [ReleasedSpace(row) for row in await conn.execute(_sums(select(holds).where(batch).subquery()))]
    if not sums:
        return []
    await conn.execute(
        insert(outbox).from_select(
            EVENT_COLUMNS,
            select(
                func.lower(func.hex(func.randomblob(16))),
                literal("hold.expired"),
                _sqlite_uuid(holds.c.id),
                holds.c.organisation_id,
                type_coerce(_payload(holds.c, _SqliteFormat()), JSON),
                literal(moment, holds.c.ended_at.type),
            ).where(batch),
        )
    )
    await conn.execute(update(holds).where(batch).values(state="expired", ended_at=moment))
    return sums


def _payload(c: Any, fmt: _PostgresFormat | _SqliteFormat) -> Any:
    """The hold view (app.reservations.schemas.HoldView) as JSON built in SQL."""
    lcl = c.load == "LCL"
    return fmt.object(
        "id", fmt.uuid(c.id),
        "sailing_id", fmt.uuid(c.sailing_id),
        "organisation_id", fmt.uuid(c.organisation_id),
        "placed_by", case((c.placed_by_id.is_(None), null()), else_=fmt.uuid(c.placed_by_id)),
        "load", c.load,
        "size_type", c.size_type,
        "units", case((lcl, null()), else_=c.units),
        "cbm", case((lcl, fmt.milli(c.volume_dm3)), else_=null()),
        "kg", case((lcl, fmt.milli(c.weight_g)), else_=null()),
        "price", fmt.money(c.price, c.currency),
        "rate", fmt.money(c.rate, c.currency),
        "minimum", case((lcl, fmt.money(c.minimum, c.currency)), else_=null()),
        "state", literal("expired"),
        "created_at", fmt.timestamp(c.created_at),
        "expires_at", fmt.timestamp(c.expires_at),
    )  # fmt: skip


class _PostgresFormat:
    """Values spelled as msgspec spells them: UUID and decimals as strings, RFC 3339 UTC times."""

    def object(self, *pairs: Any) -> Any:
        return func.json_build_object(*pairs)

    def uuid(self, column: Any) -> Any:
        return cast(column, Text)

    def milli(self, column: Any) -> Any:
        return cast(cast(cast(column, Numeric) / 1000, Numeric(20, 3)), Text)

    def money(self, amount: Any, currency: Any) -> Any:
        return func.json_build_object("amount", cast(amount, Text), "currency", currency)

    def timestamp(self, column: Any) -> Any:
        utc = func.timezone("UTC", column)
        whole = func.to_char(utc, 'YYYY-MM-DD"T"HH24:MI:SS')
        micro = func.to_char(utc, "US")
        fraction = case((micro == "000000", literal("")), else_=literal(".").concat(micro))
        return whole.concat(fraction).concat("Z")


class _SqliteFormat:
    def object(self, *pairs: Any) -> Any:
        return func.json_object(*pairs)

    def uuid(self, column: Any) -> Any:
        return _sqlite_uuid(column)

    def milli(self, column: Any) -> Any:
        return func.printf("%.3f", column / 1000.0)

    def money(self, amount: Any, currency: Any) -> Any:
        # Amounts are NUMERIC(14, 2): SQLAlchemy gives them two places, so does this.
        return func.json_object("amount", func.printf("%.2f", amount), "currency", currency)

    def timestamp(self, column: Any) -> Any:
        # Stored as 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC); msgspec omits a zero fraction.
        text = cast(column, String)
        whole = func.replace(func.substr(text, 1, 19), " ", "T")
        fraction = case((func.substr(text, 21, 6) == "000000", literal("")), else_=func.substr(text, 20, 7))
        return whole.concat(fraction).concat("Z")


def _sqlite_uuid(column: Any) -> Any:
    """SQLite stores a UUID as 32 hex digits; the API spells it with hyphens."""
    text = cast(column, String)
    parts = [
        func.substr(text, start, length) for start, length in ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))
    ]
    joined: Any = parts[0]
    for part in parts[1:]:
        joined = joined.concat("-").concat(part)
    return func.lower(joined)
