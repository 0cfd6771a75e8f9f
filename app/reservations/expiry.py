"""Expiring overdue holds in bulk: set-based statements, event payloads built by the database.

The sweeper may face a backlog of a hundred thousand holds; building each ``hold.expired``
payload in Python would cost more than the database work itself. So one statement per batch
on PostgreSQL (lock, expire, write the events, sum what goes back to each counter), and a few
set-based statements on SQLite. The payload is the hold as the API shows it
(app.reservations.views.hold_view); a test pins the two together field by field.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    Insert,
    Integer,
    Numeric,
    Select,
    String,
    Text,
    Update,
    bindparam,
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

from app.clock import database_now
from app.db import table_of
from app.domain.capacity import Quantity
from app.domain.states import Load
from app.events.models import OutboxEvent
from app.reservations.models import ACTIVE
from app.reservations.repository import holds, on_counter, overdue

outbox = table_of(OutboxEvent)
EVENT_COLUMNS = ["event_id", "type", "subject_id", "organisation_id", "payload", "created_at"]


class ReleasedSpace:
    """What one counter row gets back from a batch of expired holds."""

    __slots__ = ("count", "lags", "quantity")

    def __init__(self, row: Any) -> None:
        self.count = int(row.count)
        # Seconds from each hold's expires_at to its expiry, for the metrics.
        self.lags = [float(lag) for lag in (row.lags or "").split(",") if lag]
        self.quantity = Quantity(
            load=Load(row.load),
            allotment_id=row.allotment_id,
            pool_id=row.pool_id,
            units=int(row.units),
            volume_dm3=int(row.volume_dm3),
            weight_g=int(row.weight_g),
        )


# Which overdue holds a batch takes: all, or those counted on one counter (``counter_id``), the
# allotment's FCL holds or the pool's; and whether at most ``batch_limit`` of them.
Scope = tuple[Load | None, bool]


def _due(now: ColumnElement[datetime], scope: Scope) -> Select[Any]:
    counter_load, limited = scope
    query = select(holds.c.id).where(overdue(now))
    if counter_load is not None:
        query = query.where(on_counter(counter_load, bindparam("counter_id")))
    if limited:
        query = query.order_by(holds.c.expires_at).limit(bindparam("batch_limit", type_=Integer))
    # Holds another transaction has locked (being confirmed, released, swept) are left to it.
    return query.with_for_update(skip_locked=True)


def _sums(rows: Any, lags: ColumnElement[Any]) -> Any:
    """What goes back to each counter row, and ``lags``: the expiry lags of its holds
    (seconds from expires_at to expiry) aggregated as comma-separated text."""
    return select(
        rows.c.load,
        rows.c.allotment_id,
        rows.c.pool_id,
        func.count().label("count"),
        func.sum(rows.c.units).label("units"),
        func.sum(rows.c.volume_dm3).label("volume_dm3"),
        func.sum(rows.c.weight_g).label("weight_g"),
        lags.label("lags"),
    ).group_by(rows.c.load, rows.c.allotment_id, rows.c.pool_id)


async def expire_overdue(
    conn: AsyncConnection,
    shift: float,
    *,
    counter: Quantity | None = None,
    limit: int | None = None,
) -> list[ReleasedSpace]:
    """Expire holds overdue by database time shifted by ``shift`` (:meth:`app.clock.Clock.shift`),
    all or those counted on ``counter``'s counter row, at most ``limit`` of them, oldest first;
    write one ``hold.expired`` event each, and return per counter row what the caller must give
    back. The statements are built once per dialect and scope: lazy reclaim runs them on every
    refused hold."""
    scope: Scope = (counter.load if counter is not None else None, limit is not None)
    params: dict[str, Any] = {"clock_shift": shift}
    if counter is not None:
        params["counter_id"] = counter.counter_id
    if limit is not None:
        params["batch_limit"] = limit
    if conn.dialect.name == "postgresql":
        return [ReleasedSpace(row) for row in await conn.execute(_expire_postgresql(scope), params)]
    return await _expire_sqlite(conn, scope, params)


@functools.cache
def _expire_postgresql(scope: Scope) -> Select[Any]:
    now = database_now("postgresql")
    # A CTE runs once, so the LIMIT holds (an IN-subquery may be re-run per outer row).
    due = _due(now, scope).cte("due")
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
    lag = func.extract("epoch", expired.c.ended_at - expired.c.expires_at)
    lags = func.string_agg(cast(lag, Text), ",")
    statement: Select[Any] = _sums(expired, lags).add_cte(events.cte("events"))
    return statement


async def _expire_sqlite(conn: AsyncConnection, scope: Scope, params: dict[str, Any]) -> list[ReleasedSpace]:
    # SQLite has no DML in CTEs. Its writers are serialized and "now" is read once, so the same
    # bounded subquery picks the same holds for each statement below (no id lists to bind).
    moment = (await conn.execute(_now_sqlite, params)).scalar_one()
    params = {**params, "moment": moment}
    sums_of, events_of, expire = _expire_sqlite_statements(scope)
    sums = [ReleasedSpace(row) for row in await conn.execute(sums_of, params)]
    if not sums:
        return []
    await conn.execute(events_of, params)
    await conn.execute(expire, params)
    return sums


_now_sqlite = select(database_now("sqlite"))


@functools.cache
def _expire_sqlite_statements(scope: Scope) -> tuple[Select[Any], Insert, Update]:
    moment = bindparam("moment", type_=holds.c.expires_at.type)
    batch = holds.c.id.in_(_due(moment, scope).order_by(holds.c.id))
    batch_rows = select(holds).where(batch).subquery()
    lag = (func.julianday(moment) - func.julianday(batch_rows.c.expires_at)) * 86400.0
    sums = _sums(batch_rows, func.group_concat(lag))
    events = insert(outbox).from_select(
        EVENT_COLUMNS,
        select(
            func.lower(func.hex(func.randomblob(16))),
            literal("hold.expired"),
            _sqlite_uuid(holds.c.id),
            holds.c.organisation_id,
            type_coerce(_payload(holds.c, _SqliteFormat()), JSON),
            moment,
        ).where(batch),
    )
    expire = update(holds).where(batch).values(state="expired", ended_at=moment)
    return sums, events, expire


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
