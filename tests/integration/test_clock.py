"""Database time (app/clock.py): one expression on both databases, whether the statement carries
its shift or is given it at each execution."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from app.clock import database_now
from app.db import transaction
from app.runtime import Runtime


async def test_database_now_is_the_clocks_now(runtime: Runtime) -> None:
    """Database time with its shift carried by the statement and given at execution agree,
    offset included: exactly within one PostgreSQL transaction (now() is its start), within the
    second on SQLite (now is per statement)."""
    runtime.clock.advance(3600.25)
    params = {"clock_shift": runtime.clock.shift()}
    query = select(
        runtime.clock.now_sql(runtime.dialect).label("carried"), database_now(runtime.dialect).label("given")
    )
    async with transaction(runtime.engine, read_only=True) as conn:
        row = (await conn.execute(query, params)).one()
        again = (await conn.execute(query, params)).one()

    same_moment = 0 if runtime.dialect == "postgresql" else 1
    assert row.carried == row.given
    assert abs((again.given - row.given).total_seconds()) < same_moment + 1e-9
    assert abs((row.given - datetime.now(UTC)).total_seconds() - 3600.25) < 60
