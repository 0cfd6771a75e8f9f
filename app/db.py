"""Engine, naming convention and the unit of work.

Services open every transaction through :func:`transaction` and commit explicitly; nothing
commits behind their back, so a failed commit surfaces as an error and is never answered 2xx.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, cast

import msgspec
from sqlalchemy import MetaData, Table, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.orm import DeclarativeBase

from app.config import Settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def table_of(model: type[Base]) -> Table:
    """A model's Core table: the hot paths use Core statements, not the ORM unit of work."""
    return cast(Table, model.__table__)


# Execution option naming a transaction that only reads: SQLite then takes a deferred BEGIN
# and lets writers through; every other transaction there is BEGIN IMMEDIATE.
READ_ONLY = "slotpool_read_only"


def _encode_json(value: Any) -> str:
    return msgspec.json.encode(value).decode()


# JSON columns (event payloads, cargo) through msgspec: several times faster than the stdlib.
_JSON_CODEC: dict[str, Any] = {"json_serializer": _encode_json, "json_deserializer": msgspec.json.decode}


def create_engine(settings: Settings, **overrides: Any) -> AsyncEngine:
    """The process's engine: a small pool on PostgreSQL, WAL and BEGIN IMMEDIATE on SQLite."""
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        return _create_sqlite_engine(settings, url.database, **overrides)
    options: dict[str, Any] = {
        **_JSON_CODEC,
        "pool_size": settings.db_pool_size,
        "max_overflow": settings.db_max_overflow,
        "pool_pre_ping": False,
        "isolation_level": "READ COMMITTED",
    }
    options.update(overrides)
    return create_async_engine(url, **options)


def _create_sqlite_engine(settings: Settings, database: str | None, **overrides: Any) -> AsyncEngine:
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    options: dict[str, Any] = {
        **_JSON_CODEC,
        "connect_args": {"timeout": settings.sqlite_busy_timeout_ms / 1000},
    }
    if database and database != ":memory:":
        # Each connection is a thread of the driver's: a fixed pool, as on PostgreSQL.
        options.update(pool_size=settings.db_pool_size, max_overflow=settings.db_max_overflow)
    options.update(overrides)
    engine = create_async_engine(settings.database_url, **options)
    busy_timeout = settings.sqlite_busy_timeout_ms
    _WRITERS[engine.sync_engine] = _Writers(busy_timeout / 1000)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the driver so that BEGIN is ours to emit.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


class _Writers:
    """SQLite admits one writer at a time. This process's writers queue here and each starts the
    moment the one before commits, instead of polling at the busy handler's sleeps (1 ms up to
    100 ms apart), which were most of a write's latency under load. The busy timeout still
    arbitrates between processes, and bounds the wait here too."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.lock = asyncio.Lock()

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        try:
            async with asyncio.timeout(self.timeout):
                await self.lock.acquire()
        except TimeoutError:
            cause = Exception("database is locked: waited longer than the busy timeout for a writer")
            raise OperationalError("BEGIN IMMEDIATE", None, cause) from None
        try:
            yield
        finally:
            self.lock.release()


_WRITERS: weakref.WeakKeyDictionary[Engine, _Writers] = weakref.WeakKeyDictionary()


@asynccontextmanager
async def transaction(engine: AsyncEngine, *, read_only: bool = False) -> AsyncIterator[AsyncConnection]:
    """One database transaction; commits when the block ends normally, else rolls back.

    The commit happens inside the ``async with``: its failure propagates to the caller.
    """
    writers = None if read_only else _WRITERS.get(engine.sync_engine)
    async with contextlib.AsyncExitStack() as stack:
        if writers is not None:
            await stack.enter_async_context(writers.turn())
        connection = await stack.enter_async_context(engine.connect())
        if read_only:
            await connection.execution_options(**{READ_ONLY: True})
        async with connection.begin():
            yield connection


@asynccontextmanager
async def autocommit(engine: AsyncEngine, *, read_only: bool = False) -> AsyncIterator[AsyncConnection]:
    """A connection whose every statement commits by itself, for work that is atomic statement
    by statement: on PostgreSQL it saves the BEGIN and COMMIT round trips. SQLite, where those
    cost nothing, gets an ordinary transaction (and so its write lock)."""
    if engine.dialect.name != "postgresql":
        async with transaction(engine, read_only=read_only) as connection:
            yield connection
        return
    async with engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        yield connection
