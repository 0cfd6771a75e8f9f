"""Single-leader jobs: of all replicas, at most one runs the body at a time.

On PostgreSQL the body's transaction first takes ``pg_try_advisory_xact_lock(key)``; a replica
that does not get it skips this round instead of queueing behind the leader. The lock ends with
the transaction, so a leader that dies (even ``kill -9``) frees it with its connection. SQLite
is one process: the body just runs (its write transaction is exclusive anyway).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Final, TypeVar

import structlog
from sqlalchemy import BigInteger, func, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db import transaction
from app.runtime import Runtime

T = TypeVar("T")
log = structlog.get_logger("slotpool.jobs")


class Skipped:
    """Another replica held the job's lock: this round did nothing."""

    def __repr__(self) -> str:
        return "SKIPPED"


SKIPPED: Final = Skipped()


async def run_as_leader(
    rt: Runtime, key: int, body: Callable[[AsyncConnection], Awaitable[T]]
) -> T | Skipped:
    """Run ``body(conn)`` in one transaction if this replica wins the advisory lock ``key``.

    Returns the body's result (committed with it), or :data:`SKIPPED` without running it.
    """
    async with transaction(rt.engine) as conn:
        if rt.dialect == "postgresql" and not await _try_lock(conn, key):
            log.debug("job.leader_skipped", leader_key=key)
            return SKIPPED
        return await body(conn)


async def _try_lock(conn: AsyncConnection, key: int) -> bool:
    acquired = await conn.execute(select(func.pg_try_advisory_xact_lock(literal(key, BigInteger))))
    return bool(acquired.scalar_one())
