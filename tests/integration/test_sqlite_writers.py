"""SQLite's writers of one process take turns in the event loop (app/db.py), bounded by the busy
timeout; readers never wait for them."""

from __future__ import annotations

import asyncio

import msgspec
import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from app.db import create_engine, transaction
from app.runtime import Runtime


async def test_writers_take_turns_readers_pass_and_a_long_wait_gives_up(runtime: Runtime) -> None:
    if runtime.dialect != "sqlite":
        pytest.skip("PostgreSQL has row locks, not one writer at a time")
    engine = create_engine(msgspec.structs.replace(runtime.settings, sqlite_busy_timeout_ms=300))
    order: list[str] = []
    first_in, release = asyncio.Event(), asyncio.Event()

    async def first() -> None:
        async with transaction(engine):
            order.append("first")
            first_in.set()
            await release.wait()
            order.append("first commits")

    async def second() -> None:
        await first_in.wait()
        async with transaction(engine):
            order.append("second")

    async def reader() -> int:
        await first_in.wait()
        async with transaction(engine, read_only=True) as conn:
            return int((await conn.execute(text("SELECT 1"))).scalar_one())

    try:
        holder = asyncio.create_task(first())
        assert await reader() == 1  # while the writer holds its turn
        with pytest.raises(OperationalError, match="busy timeout"):
            await second()
        release.set()
        await holder

        first_in.clear()
        release.clear()
        order.clear()
        holder, waiter = asyncio.create_task(first()), asyncio.create_task(second())
        await first_in.wait()
        await asyncio.sleep(0.05)
        release.set()
        await asyncio.gather(holder, waiter)
        assert order == ["first", "first commits", "second"]
    finally:
        await engine.dispose()
