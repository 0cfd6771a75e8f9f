"""Single-leader jobs: of all replicas, at most one runs the body at a time."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from app.jobs.leader import SKIPPED, run_as_leader
from app.runtime import Runtime

KEY = 0x5107_FFF0


async def test_the_leader_runs_the_body_in_a_transaction_and_returns_its_result(runtime: Runtime) -> None:
    async def body(conn: AsyncConnection) -> int:
        assert conn.in_transaction()
        return int((await conn.execute(select(1))).scalar_one())

    assert await run_as_leader(runtime, KEY, body) == 1


async def test_while_one_replica_leads_the_others_skip_and_the_next_round_has_a_leader(
    runtime: Runtime, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite is one process; its write transactions already exclude each other")
    leading = asyncio.Event()
    done = asyncio.Event()

    async def lead(conn: AsyncConnection) -> str:
        leading.set()
        await done.wait()
        return "led"

    async def quick(conn: AsyncConnection) -> str:
        return "led"

    leader = asyncio.create_task(run_as_leader(runtime, KEY, lead))
    await asyncio.wait_for(leading.wait(), timeout=10)
    # Each attempt runs on a connection of its own: a separate PostgreSQL session, as a replica.
    others = await asyncio.gather(*(run_as_leader(runtime, KEY, quick) for _ in range(3)))
    another_job = await run_as_leader(runtime, KEY + 1, quick)
    done.set()

    assert others == [SKIPPED] * 3
    assert another_job == "led"
    assert await leader == "led"
    assert await run_as_leader(runtime, KEY, quick) == "led"


async def test_no_two_leaders_overlap_when_many_replicas_try_at_once(runtime: Runtime) -> None:
    inside = 0
    most_inside = 0
    ran = 0

    async def body(conn: AsyncConnection) -> None:
        nonlocal inside, most_inside, ran
        inside += 1
        most_inside = max(most_inside, inside)
        # Work that yields to the other replicas while the lock is held.
        for _ in range(3):
            await conn.execute(select(func.count()).select_from(text("organisations")))
        ran += 1
        inside -= 1

    async def replica() -> None:
        for _ in range(10):
            await run_as_leader(runtime, KEY, body)

    await asyncio.gather(*(replica() for _ in range(4)))

    assert most_inside == 1
    assert ran > 0  # some rounds led; which ones and how many depends on timing
