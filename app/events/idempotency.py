"""Idempotency-Key records (IETF draft): replay, refuse another body, refuse while in flight.

Two ways, and in both a change and its replayable answer commit or vanish together:

- Claimed (:func:`begin`): the key is claimed in a statement of its own, so a concurrent request
  with the same key sees it in flight (409); the business transaction completes the record
  (:func:`complete`). A request that dies leaves the key to a lease, then to a take-over.
- Unclaimed (:class:`Unclaimed`, holds): no claim; the change inserts the key's record, finished,
  with itself. A concurrent duplicate waits on the key's unique index, its own change rolls back
  on the collision and it replays the first answer (:func:`lookup`). One statement and one
  commit fewer per request, and no key is ever left in flight.
"""

from __future__ import annotations

import functools
import hashlib
import uuid
from collections.abc import Callable
from typing import Any

import msgspec
from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Select,
    Update,
    and_,
    bindparam,
    delete,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from app.clock import bound_now_text
from app.db import autocommit, table_of
from app.domain.errors import DomainError
from app.events.models import IdempotencyRecord
from app.prepared import Prepared
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


JSON = "application/json"


class Replay(msgspec.Struct, frozen=True, kw_only=True):
    """The stored answer of an earlier request under the same key."""

    status: int
    body: bytes
    headers: dict[str, str]


class Claim(msgspec.Struct, frozen=True, kw_only=True):
    """The right to process one request under a key, until the lease ends."""

    record_id: uuid.UUID
    lease_token: uuid.UUID


class Unclaimed(msgspec.Struct, frozen=True, kw_only=True):
    """A request under a key nobody has used yet, processed without claiming the key first:
    its answer is inserted with its change, so that a concurrent duplicate waits on the key's
    unique index and then replays it (see :func:`lookup`)."""

    api_key_id: uuid.UUID
    key: str
    fingerprint: str
    clock_shift: float  # the runtime clock's (Clock.shift), for the record's database times


class KeyAnswered(Exception):
    """A concurrent request under the same key committed its answer first: replay that one."""


# The unique constraint a second answer under one key runs into.
KEY_CONSTRAINT = "uq_idempotency_records_api_key_id_key"


class Finish:
    """Stores the replayable answer of a request inside the service's transaction, so that the
    change and its answer commit or vanish together: by completing its claimed record, or, for
    an :class:`Unclaimed` request, by inserting the finished record (raising
    :class:`KeyAnswered` when a duplicate got there first).

    A service calls it with the view it is about to commit (``await finish(conn, view)``); a
    service that folds the write into a statement of its own takes :meth:`answer` instead.
    """

    def __init__(
        self, request: Claim | Unclaimed, status: int, headers: Callable[[Any], dict[str, str]]
    ) -> None:
        self.claim = request if isinstance(request, Claim) else None
        self.unclaimed = request if isinstance(request, Unclaimed) else None
        self.status = status
        self._headers = headers
        self.stored: Replay | None = None

    def answer(self, view: msgspec.Struct) -> Replay:
        """The answer to store for ``view``, remembered as the one stored."""
        headers = {**self._headers(view), "content-type": JSON}
        self.stored = Replay(status=self.status, body=msgspec.json.encode(view), headers=headers)
        return self.stored

    async def __call__(self, conn: AsyncConnection, view: msgspec.Struct) -> None:
        answer = self.answer(view)
        if self.claim is not None:
            await complete(conn, self.claim, answer.status, answer.body, answer.headers)
        else:
            assert self.unclaimed is not None
            if not await _insert_answer(conn, self.unclaimed, answer):
                raise KeyAnswered()

    async def store_alone(self, rt: Runtime, answer: Replay) -> bool:
        """Store an answer that changed nothing (a business error), in one statement. False for
        an unclaimed request whose key already holds an answer (see :func:`lookup`)."""
        if self.claim is not None:
            await complete_alone(rt, self.claim, answer.status, answer.body, answer.headers)
            return True
        assert self.unclaimed is not None
        async with autocommit(rt.engine) as conn:
            return await _insert_answer(conn, self.unclaimed, answer)


def record_params(request: Unclaimed) -> dict[str, Any]:
    """The ``record_*`` parameters of a finished record for ``request`` (a new id each call)."""
    return {
        "record_id": uuid.uuid4(),
        "record_api_key_id": request.api_key_id,
        "record_key": request.key,
        "record_fingerprint": request.fingerprint,
        # Never leased: the record is born finished.
        "record_lease_token": uuid.uuid4(),
    }


async def _insert_answer(conn: AsyncConnection, request: Unclaimed, answer: Replay) -> bool:
    params = {**record_params(request), **answer_params(answer), "clock_shift": request.clock_shift}
    return bool(await _insert_answer_statement(conn.dialect.name).fetch(conn, params))


@functools.cache
def _insert_answer_statement(dialect: str) -> Prepared:
    """Insert-if-absent of a finished record (``record_*``, ``answer_*``, ``clock_shift``)."""
    return _insert_if_absent(
        dialect,
        {
            "state": "'done'",
            "response_status": ":answer_status",
            "response_body": ":answer_body",
            "response_headers": ":answer_headers",
            "locked_until": bound_now_text(dialect),
        },
        bindparam("answer_body", type_=_records.c.response_body.type),
        bindparam("answer_headers", type_=_records.c.response_headers.type),
    )


class InFlight(msgspec.Struct, frozen=True):
    """The key's first request has not finished."""


async def lookup(rt: Runtime, api_key_id: uuid.UUID, key: str, fingerprint: str) -> Replay | InFlight | None:
    """What the key holds, read without claiming it: None for an unused key; raises
    :class:`IdempotencyKeyReused` when it was used with another request."""
    async with autocommit(rt.engine, read_only=True) as conn:
        row = await _record_of(conn, api_key_id, key)
    return None if row is None else _held(row, fingerprint)


async def _record_of(conn: AsyncConnection, api_key_id: uuid.UUID, key: str) -> Any | None:
    return await _record_statement.first(conn, {"lookup_api_key_id": api_key_id, "lookup_key": key})


def _held(row: Any, fingerprint: str) -> Replay | InFlight:
    if row.fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    if row.state != "done":
        return InFlight()
    return Replay(status=row.response_status, body=row.response_body, headers=row.response_headers)


_record_statement = Prepared(
    select(
        _records.c.id,
        _records.c.fingerprint,
        _records.c.state,
        _records.c.response_status,
        _records.c.response_body,
        _records.c.response_headers,
    ).where(
        _records.c.api_key_id == bindparam("lookup_api_key_id"),
        _records.c.key == bindparam("lookup_key"),
    )
)


async def begin(rt: Runtime, api_key_id: uuid.UUID, key: str, fingerprint: str) -> Claim | Replay:
    """Claim ``key`` for this request, or answer with the stored response of an earlier one."""
    lease = float(rt.settings.idempotency_lease_seconds)
    token = uuid.uuid4()
    # Each statement below is atomic by itself (insert-if-absent, conditional take-over).
    async with autocommit(rt.engine) as conn:
        inserted = await _claim_statement(rt.dialect).fetch(
            conn,
            {
                "record_id": uuid.uuid4(),
                "record_api_key_id": api_key_id,
                "record_key": key,
                "record_fingerprint": fingerprint,
                "record_lease_token": token,
                "clock_shift": rt.clock.shift(),
                "lease_shift": rt.clock.shift(lease),
            },
        )
        if inserted:
            return Claim(record_id=inserted[0].id, lease_token=token)
        return await _existing(rt, conn, api_key_id, key, fingerprint, token, lease)


# The ``record_<column>`` parameters of a new record, each typed like its column.
RECORD_COLUMNS = ("id", "api_key_id", "key", "fingerprint", "lease_token")


@functools.cache
def _claim_statement(dialect: str) -> Prepared:
    """Insert-if-absent of a key in flight (``record_*``, ``clock_shift``, ``lease_shift``)."""
    return _insert_if_absent(
        dialect, {"state": "'in_flight'", "locked_until": bound_now_text(dialect, "lease_shift")}
    )


def _insert_if_absent(dialect: str, values: dict[str, str], *typed: BindParameter[Any]) -> Prepared:
    """``INSERT ... ON CONFLICT (api_key_id, key) DO NOTHING RETURNING id`` of a record with the
    ``record_*`` parameters, ``values`` (column -> SQL) and ``created_at`` now. Text, not Core:
    SQLAlchemy never caches the compiled form of a dialect's ``insert().on_conflict_do_nothing()``,
    and these run on every POST."""
    columns = {
        **{name: f":record_{name}" for name in RECORD_COLUMNS},
        **values,
        "created_at": bound_now_text(dialect),
    }
    sql = (
        f"INSERT INTO idempotency_records ({', '.join(columns)}) VALUES ({', '.join(columns.values())})"
        " ON CONFLICT (api_key_id, key) DO NOTHING RETURNING id"
    )
    parameters = [bindparam(f"record_{name}", type_=_records.c[name].type) for name in RECORD_COLUMNS]
    return Prepared(text(sql).bindparams(*parameters, *typed).columns(_records.c.id))


async def _existing(
    rt: Runtime,
    conn: AsyncConnection,
    api_key_id: uuid.UUID,
    key: str,
    fingerprint: str,
    token: uuid.UUID,
    lease: float,
) -> Claim | Replay:
    row = await _record_of(conn, api_key_id, key)
    assert row is not None, "the claim found the key taken"
    held = _held(row, fingerprint)
    if isinstance(held, Replay):
        return held
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
    params = {**lease_params(claim), **answer_params(Replay(status=status, body=body, headers=headers))}
    if not await _complete.fetch(conn, params):
        raise IdempotencyKeyInFlight()


def leased() -> ColumnElement[bool]:
    """The record is still in flight under the caller's lease (parameters from
    :func:`lease_params`)."""
    return and_(
        _records.c.id == bindparam("lease_record_id"),
        _records.c.lease_token == bindparam("lease_holder"),
        _records.c.state == "in_flight",
    )


def leased_record() -> Select[tuple[uuid.UUID]]:
    """The caller's record, locked, if its lease still holds: nobody can take it over until the
    caller's transaction (or statement) ends."""
    return select(_records.c.id).where(leased()).with_for_update()


@functools.cache
def completion() -> Update:
    """The UPDATE storing an answer, built once: parameters from :func:`lease_params` and
    :func:`answer_params`."""
    return (
        update(_records)
        .where(leased())
        .values(
            state="done",
            response_status=bindparam("answer_status"),
            response_body=bindparam("answer_body"),
            response_headers=bindparam("answer_headers", type_=_records.c.response_headers.type),
        )
        .returning(_records.c.id)
    )


_complete = Prepared(completion())


def lease_params(claim: Claim) -> dict[str, Any]:
    # Names unlike any column: SQLAlchemy would add a parameter named like one to the SET.
    return {"lease_record_id": claim.record_id, "lease_holder": claim.lease_token}


def answer_params(answer: Replay) -> dict[str, Any]:
    return {"answer_status": answer.status, "answer_body": answer.body, "answer_headers": answer.headers}


async def complete_alone(
    rt: Runtime, claim: Claim, status: int, body: bytes, headers: dict[str, str]
) -> None:
    """Store an answer that changed nothing (a business error): one statement of its own."""
    async with autocommit(rt.engine) as conn:
        await complete(conn, claim, status, body, headers)


async def abandon(rt: Runtime, claim: Claim) -> None:
    """Free the key after an unexpected failure, so that the client may retry."""
    async with autocommit(rt.engine) as conn:
        await conn.execute(delete(_records).where(leased()), lease_params(claim))


def fingerprint(method: str, path: str, body: bytes) -> str:
    """SHA-256 over method, path and body, each length-prefixed so no two requests collide."""
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()
