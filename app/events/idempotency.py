"""Idempotency-Key records (IETF draft): replay, refuse another body, refuse while in flight.

A key is claimed in its own short transaction, so a concurrent request with the same key sees
it in flight (409). The stored response is written by the business transaction itself
(:func:`complete`), so a change and its replayable answer commit or vanish together.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Awaitable, Callable

import msgspec
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db import autocommit, table_of, transaction
from app.dialects import insert_ignoring_conflicts
from app.domain.errors import DomainError
from app.events.models import IdempotencyRecord
from app.runtime import Runtime

_records = table_of(IdempotencyRecord)


class IdempotencyKeyReused(DomainError):
    slug = "idempotency-key-reused"
    title = "Idempotency-Key was used with another request"
    status = 422

    def __init__(self) -> None:
        super().__init__("this Idempotency-Key was already used with a different request body")


class IdempotencyKeyInFlight(DomainError):
    slug = "idempotency-key-in-flight"
    title = "A request with this Idempotency-Key is still being processed"

    def __init__(self) -> None:
        super().__init__("a request with this Idempotency-Key is in flight; retry later")


# Called by a service inside its transaction with the answer it is about to commit, so that an
# idempotent request stores its replayable response atomically with the change.
Finish = Callable[[AsyncConnection, msgspec.Struct], Awaitable[None]]


class Replay(msgspec.Struct, frozen=True, kw_only=True):
    """The stored answer of an earlier request under the same key."""

    status: int
    body: bytes
    headers: dict[str, str]


class Claim(msgspec.Struct, frozen=True, kw_only=True):
    """The right to process one request under a key, until the lease ends."""

    record_id: uuid.UUID
    lease_token: uuid.UUID


async def begin(rt: Runtime, api_key_id: uuid.UUID, key: str, fingerprint: str) -> Claim | Replay:
    """Claim ``key`` for this request, or answer with the stored response of an earlier one."""
    lease = float(rt.settings.idempotency_lease_seconds)
    token = uuid.uuid4()
    # Each statement below is atomic by itself (insert-if-absent, conditional take-over).
    async with autocommit(rt.engine) as conn:
        inserted = await conn.execute(
            insert_ignoring_conflicts(rt.dialect, _records, ["api_key_id", "key"])
            .values(
                id=uuid.uuid4(),
                api_key_id=api_key_id,
                key=key,
                fingerprint=fingerprint,
                state="in_flight",
                lease_token=token,
                locked_until=rt.clock.now_sql(rt.dialect, lease),
                created_at=rt.clock.now_sql(rt.dialect),
            )
            .returning(_records.c.id)
        )
        record_id = inserted.scalar_one_or_none()
        if record_id is not None:
            return Claim(record_id=record_id, lease_token=token)
        return await _existing(rt, conn, api_key_id, key, fingerprint, token, lease)


async def _existing(
    rt: Runtime,
    conn: AsyncConnection,
    api_key_id: uuid.UUID,
    key: str,
    fingerprint: str,
    token: uuid.UUID,
    lease: float,
) -> Claim | Replay:
    row = (
        await conn.execute(
            select(
                _records.c.id,
                _records.c.fingerprint,
                _records.c.state,
                _records.c.response_status,
                _records.c.response_body,
                _records.c.response_headers,
            ).where(_records.c.api_key_id == api_key_id, _records.c.key == key)
        )
    ).one()
    if row.fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    if row.state == "done":
        return Replay(status=row.response_status, body=row.response_body, headers=row.response_headers)
    # Take over a key whose request died without finishing; the old lease can no longer complete.
    taken = await conn.execute(
        update(_records)
        .where(
            _records.c.id == row.id,
            _records.c.state == "in_flight",
            _records.c.locked_until <= rt.clock.now_sql(rt.dialect),
        )
        .values(lease_token=token, locked_until=rt.clock.now_sql(rt.dialect, lease))
        .returning(_records.c.id)
    )
    if taken.scalar_one_or_none() is None:
        raise IdempotencyKeyInFlight()
    return Claim(record_id=row.id, lease_token=token)


async def complete(
    conn: AsyncConnection, claim: Claim, status: int, body: bytes, headers: dict[str, str]
) -> None:
    """Store the answer inside the business transaction; fails it if the lease was lost."""
    stored = await conn.execute(
        update(_records)
        .where(
            _records.c.id == claim.record_id,
            _records.c.lease_token == claim.lease_token,
            _records.c.state == "in_flight",
        )
        .values(state="done", response_status=status, response_body=body, response_headers=headers)
        .returning(_records.c.id)
    )
    if stored.scalar_one_or_none() is None:
        raise IdempotencyKeyInFlight()


async def complete_alone(
    rt: Runtime, claim: Claim, status: int, body: bytes, headers: dict[str, str]
) -> None:
    """Store an answer that changed nothing (a business error), in a transaction of its own."""
    async with transaction(rt.engine) as conn:
        await complete(conn, claim, status, body, headers)


async def abandon(rt: Runtime, claim: Claim) -> None:
    """Free the key after an unexpected failure, so that the client may retry."""
    async with transaction(rt.engine) as conn:
        await conn.execute(
            delete(_records).where(
                _records.c.id == claim.record_id,
                _records.c.lease_token == claim.lease_token,
                _records.c.state == "in_flight",
            )
        )


def fingerprint(method: str, path: str, body: bytes) -> str:
    """SHA-256 over method, path and body, each length-prefixed so no two requests collide."""
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()
