"""Whether the database answers: errors that mean "unreachable or missing" told apart from the
rest, described so that an operator can act (which server, which database, how to create it),
and logged once per change of state rather than once per request or job tick."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

import asyncpg  # type: ignore[import-untyped]
import structlog
from sqlalchemy import literal, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import transaction

log = structlog.get_logger("slotpool.database")

# Errors of the connection itself (server down, refused, unknown host, shut down mid-query,
# too many clients, starting up), as opposed to an error of one statement.
_UNREACHABLE: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.AdminShutdownError,
    asyncpg.ConnectionDoesNotExistError,
)
_MISSING: tuple[type[BaseException], ...] = (asyncpg.InvalidCatalogNameError,)
_REFUSED: tuple[type[BaseException], ...] = (
    asyncpg.InvalidAuthorizationSpecificationError,
    asyncpg.InvalidPasswordError,
)


def _causes(error: BaseException) -> list[BaseException]:
    """``error``, the driver error SQLAlchemy wrapped in it, and what that was raised from."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain and len(chain) < 8:
        chain.append(current)
        orig = getattr(current, "orig", None)
        current = orig if isinstance(orig, BaseException) else (current.__cause__ or current.__context__)
    return chain


def _sqlite_unopenable(error: BaseException) -> bool:
    return isinstance(error, sqlite3.OperationalError) and "unable to open" in str(error)


def _unmigrated(error: BaseException) -> bool:
    """A table is missing: the database is there but was never migrated."""
    if isinstance(error, asyncpg.UndefinedTableError):
        return True
    return isinstance(error, sqlite3.OperationalError) and "no such table" in str(error)


def is_unavailable(error: BaseException) -> bool:
    """True when ``error`` says the database cannot be used at all (not one statement failing)."""
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    gone = _UNREACHABLE + _MISSING + _REFUSED
    return any(
        isinstance(cause, gone) or _sqlite_unopenable(cause) or _unmigrated(cause) for cause in _causes(error)
    )


def describe(database_url: str, error: BaseException) -> str:
    """One line: what is wrong with which database (never the password) and what to do."""
    url = make_url(database_url)
    causes = _causes(error)
    migrate = "run alembic upgrade head (in the image: docker run IMAGE migrate)"
    if any(_unmigrated(cause) for cause in causes):
        return f'database "{url.database}" has no tables yet ({_reason(causes)}): {migrate}'
    if url.get_backend_name() == "sqlite":
        return (
            f"cannot open the SQLite database {url.database} ({error}): check that its folder exists "
            "and is writable, or set SLOTPOOL_DATABASE_URL"
        )
    host, port, name, user = url.host or "localhost", url.port or 5432, url.database, url.username
    where = f"PostgreSQL at {host}:{port}"
    user_flag = f" -U {user}" if user else ""
    create = f"createdb -h {host} -p {port}{user_flag} {name}, then: alembic upgrade head"
    if any(isinstance(cause, _MISSING) for cause in causes):
        return f'database "{name}" does not exist on {where}; create it with: {create}'
    if any(isinstance(cause, _REFUSED) for cause in causes):
        return (
            f'{where} refused user "{user}" for database "{name}" ({_reason(causes)}): check the user '
            "and password in SLOTPOOL_DATABASE_URL"
        )
    return (
        f'cannot reach {where} (database "{name}"): {_reason(causes)}; check that the server runs and '
        f"SLOTPOOL_DATABASE_URL; a new database is made with: {create}"
    )


def _reason(causes: list[BaseException]) -> str:
    innermost = causes[-1]
    return f"{type(innermost).__name__}: {innermost}".rstrip(": ")


@dataclass
class DatabaseStatus:
    """The process's view of the database: ``up()`` or ``down(error)`` after every use that tells,
    logged only when it changes (a down database is one line, not one per request or tick)."""

    database_url: str
    available: bool | None = None
    reason: str = field(default="")
    # The error's class alone: what /ready (public) tells, where the reason names hosts.
    error_type: str = field(default="")

    def up(self) -> None:
        if self.available is not True:
            if self.available is False:
                log.info("database.available")
            self.available, self.reason = True, ""

    def down(self, error: BaseException) -> str:
        """Record an outage; returns its description."""
        reason = describe(self.database_url, error)
        if self.available is not False:
            log.warning("database.unavailable", reason=reason)
        self.available, self.reason, self.error_type = False, reason, type(error).__name__
        return reason


async def probe(engine: AsyncEngine, status: DatabaseStatus) -> bool:
    """Ask the database for ``SELECT 1`` and record the answer in ``status``: at start, a down
    database is said at once, with what to do, instead of at the first request or job tick."""
    try:
        async with transaction(engine, read_only=True) as conn:
            await conn.execute(select(literal(1)))
    except Exception as error:  # any failure means not usable; the description says which
        status.down(error)
        return False
    status.up()
    return True
