"""Statements compiled once and run on the driver's own connection: the hold path's few.

SQLAlchemy's work around each execution (execution context, events, parameter and result
objects) costs more CPU than PostgreSQL spends on a hold's statements; on the hottest path it
was most of the server's time per hold. A :class:`Prepared` statement is still built with Core
and compiled by SQLAlchemy, once per dialect; on PostgreSQL it then runs on the asyncpg
connection of an engine connection, with the same bind and result processors SQLAlchemy would
apply and asyncpg's own prepared-statement cache. Its errors are raised as SQLAlchemy's
``IntegrityError`` (constraints) and ``OperationalError`` (lost connections, deadlocks,
serialization failures, timeouts), any other database error as ``DBAPIError``: the classes the
API's problem handlers tell apart. A connection that broke is invalidated as SQLAlchemy would. On SQLite it
runs through SQLAlchemy as usual.

On the driver's connection a statement runs outside any transaction, so it must be atomic by
itself: only a connection of :func:`app.db.autocommit` runs it there, any other through
SQLAlchemy, in its transaction.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple, cast

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import Dialect
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement, Executable
from sqlalchemy.types import TypeDecorator

Processor = Callable[[Any], Any] | None

# asyncpg errors that mean "the connection is gone" (or in a state it cannot leave: a backend
# terminated while the connection sat in the pool), and those that mean "try again".
_DISCONNECTS = (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, asyncpg.InternalClientError, OSError)
_OPERATIONAL = (
    *_DISCONNECTS,
    asyncpg.TransactionRollbackError,
    asyncpg.QueryCanceledError,
    asyncpg.LockNotAvailableError,
)


class _Compiled(NamedTuple):
    sql: str
    names: tuple[str, ...]  # the parameter behind $1, $2 ...
    defaults: Mapping[str, Any]  # values the statement carries itself (literals in it)
    processors: tuple[Processor, ...]
    row: Callable[..., Any]  # result rows as named tuples
    results: tuple[Processor, ...]


class Prepared:
    """One Core statement, to run many times with new parameters (see the module's doc)."""

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._compiled: _Compiled | None = None  # for PostgreSQL, the one dialect it runs itself

    async def fetch(self, conn: AsyncConnection, params: Mapping[str, Any]) -> Sequence[Any]:
        """Every row the statement returns, each with its columns as attributes."""
        if conn.dialect.name != "postgresql" or not _autocommits(conn):
            return list((await conn.execute(self.statement, dict(params))).all())
        compiled = self._compiled or self._compile(conn.dialect)
        driver = await _driver_connection(conn)
        try:
            records = await driver.fetch(compiled.sql, *_arguments(compiled, params))
        except (asyncpg.PostgresError, *_DISCONNECTS) as error:
            if isinstance(error, _DISCONNECTS):
                await conn.invalidate()
            raise _as_sqlalchemy_error(compiled.sql, error) from error
        return _rows(compiled, records)

    async def first(self, conn: AsyncConnection, params: Mapping[str, Any]) -> Any | None:
        rows = await self.fetch(conn, params)
        return rows[0] if rows else None

    def _compile(self, dialect: Dialect) -> _Compiled:
        compiled = cast(ClauseElement, self.statement).compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        assert compiled.positiontup is not None
        names = tuple(compiled.positiontup)
        binds = {name: compiled.binds[name] for name in names}
        columns = [(entry.keyname, entry.type) for entry in compiled._result_columns]
        result = _Compiled(
            sql=compiled.string,
            names=names,
            defaults={name: bind.value for name, bind in binds.items() if bind.value is not None},
            processors=tuple(
                bind.type.dialect_impl(dialect).bind_processor(dialect) for bind in binds.values()
            ),
            row=namedtuple("Row", [name for name, _ in columns], rename=True),
            results=tuple(_result_processor(type_, dialect) for _, type_ in columns),
        )
        self._compiled = result
        return result


def _result_processor(type_: Any, dialect: Dialect) -> Processor:
    """asyncpg decodes every base type into what SQLAlchemy's asyncpg dialect returns for it;
    only the project's own types (TypeDecorators: UTC datetimes) process results further."""
    if not isinstance(type_, TypeDecorator):
        return None
    processor: Processor = type_.dialect_impl(dialect).result_processor(dialect, None)
    return processor


async def _driver_connection(conn: AsyncConnection) -> Any:
    sync = conn.sync_connection
    if sync is None or sync.invalidated:
        # Reconnecting may need the database: SQLAlchemy does that inside its greenlet.
        return (await conn.get_raw_connection()).driver_connection
    # A live connection hands its driver connection over without I/O, and without the greenlet
    # round trip that get_raw_connection() costs on every statement.
    return sync.connection.driver_connection


def _autocommits(conn: AsyncConnection) -> bool:
    """On the driver's connection the statement would escape the caller's transaction: inside
    one, it goes through SQLAlchemy."""
    return bool(
        conn.sync_connection is not None
        and conn.sync_connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT"
    )


def _arguments(compiled: _Compiled, params: Mapping[str, Any]) -> list[Any]:
    """The driver's positional arguments, through SQLAlchemy's bind processors."""
    return [
        value if process is None else process(value)
        for value, process in zip(_values(compiled, params), compiled.processors, strict=True)
    ]


def _rows(compiled: _Compiled, records: Sequence[Any]) -> list[Any]:
    """The driver's records as named rows, through SQLAlchemy's result processors."""
    if not any(compiled.results):
        return [compiled.row(*record) for record in records]
    return [
        compiled.row(*(v if p is None else p(v) for v, p in zip(record, compiled.results, strict=True)))
        for record in records
    ]


def _values(compiled: _Compiled, params: Mapping[str, Any]) -> list[Any]:
    values = []
    for name in compiled.names:
        if name in params:
            values.append(params[name])
        elif name in compiled.defaults:
            values.append(compiled.defaults[name])
        else:
            # SQLAlchemy would fill a column default here; a hot statement gets every value.
            raise KeyError(f"no value for the parameter {name!r}")
    return values


def _as_sqlalchemy_error(sql: str, error: Exception) -> DBAPIError:
    if isinstance(error, asyncpg.IntegrityConstraintViolationError):
        return IntegrityError(sql, None, error)
    if isinstance(error, _OPERATIONAL):
        return OperationalError(sql, None, error, connection_invalidated=isinstance(error, _DISCONNECTS))
    return DBAPIError(sql, None, error)
