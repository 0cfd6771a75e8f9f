"""Idempotency-Key records (IETF draft): replay, refuse another body, refuse while in flight.

Two ways, and in both a change and its replayable answer commit or vanish together:

- Leased (:func:`begin`): the key is leased in a statement of its own, so that a concurrent
  request with the same key sees it in flight (409); the business transaction stores the answer
  under the lease. A request that dies leaves the key to its lease's end, then to a take-over.
- Unleased (:class:`Unleased`, holds): no lease; the change inserts the key's record, finished,
  with itself. A concurrent duplicate waits on the key's unique index, its insert then fails, its
  change rolls back with it and it replays the first answer (:func:`lookup`). One statement and
  one commit fewer per request, and no key is ever left in flight.

Records are written without ``ON CONFLICT``: a second record under one key fails on the key's
unique index (:func:`answered_first`), which is how a request learns that the key was used.
"""

from __future__ import annotations

import functools
import hashlib
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal

import msgspec
from sqlalchemy import (
    CTE,
    ColumnElement,
    Select,
    UpdateBase,
    and_,
    bindparam,
    delete,
    exists,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from app.clock import database_now
from app.db import autocommit, table_of
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


JSON = "application/json"


class Replay(msgspec.Struct, frozen=True, kw_only=True):
    """The stored answer of an earlier request under the same key."""

    status: int
    body: bytes
    headers: dict[str, str]


class Lease(msgspec.Struct, frozen=True, kw_only=True):
    """The right to process one request under a key, until the lease ends."""

    record_id: uuid.UUID
    token: uuid.UUID


class Unleased(msgspec.Struct, frozen=True, kw_only=True):
    """A request under a key nobody has used yet, processed without leasing the key first: its
    answer is inserted with its change (see the module's doc)."""

    api_key_id: uuid.UUID
    key: str
    fingerprint: str
    clock_shift: float  # the runtime clock's (Clock.shift), for the record's database times


# How a request stores its answer: under its lease, or by inserting its finished record.
Keyed = Lease | Unleased
StoreKind = Literal["lease", "unleased"]


class KeyAnswered(Exception):
    """A concurrent request under the same key committed its answer first: replay that one."""


# The unique constraint a second record under one key runs into.
KEY_CONSTRAINT = "uq_idempotency_records_api_key_id_key"


def kind_of(request: Keyed) -> StoreKind:
    return "lease" if isinstance(request, Lease) else "unleased"


class Finish:
    """Stores the replayable answer of a request inside the service's transaction, so that the
    change and its answer commit or vanish together.

    A service calls it with the view it is about to commit (``await finish(conn, view)``); a
    service that folds the write into a statement of its own takes :meth:`answer` and
    :func:`store_params` instead.
    """

    def __init__(self, request: Keyed, status: int, headers: Callable[[Any], dict[str, str]]) -> None:
        self.request = request
        self.status = status
        self._headers = headers
        self.stored: Replay | None = None

    @property
    def lease(self) -> Lease | None:
        return self.request if isinstance(self.request, Lease) else None

    def answer(self, view: msgspec.Struct) -> Replay:
        """The answer to store for ``view``, remembered as the one stored."""
        headers = {**self._headers(view), "content-type": JSON}
        self.stored = Replay(status=self.status, body=msgspec.json.encode(view), headers=headers)
        return self.stored

    async def __call__(self, conn: AsyncConnection, view: msgspec.Struct) -> None:
        await store(conn, self.request, self.answer(view))

    async def store_alone(self, rt: Runtime, answer: Replay) -> bool:
        """Store an answer that changed nothing (a business error), see :func:`store_alone`."""
        return await store_alone(rt, self.request, answer)


async def store(conn: AsyncConnection, request: Keyed, answer: Replay) -> None:
    """Store ``answer`` in the caller's transaction. Raises :class:`IdempotencyKeyInFlight` when
    the request's lease was lost, :class:`KeyAnswered` when another request under its key stored
    an answer first; the caller's transaction must then roll back."""
    with answered_first():
        stored = await conn.execute(
            storing(conn.dialect.name, kind_of(request)), store_params(request, answer)
        )
    if stored.first() is None:
        raise IdempotencyKeyInFlight()


async def store_alone(rt: Runtime, request: Keyed, answer: Replay) -> bool:
    """Store an answer that changed nothing (a business error), in one statement of its own.
    False when an unleased request's key holds an answer already (see :func:`lookup`)."""
    try:
        async with autocommit(rt.engine) as conn:
            await store(conn, request, answer)
    except KeyAnswered:
        return False
    return True


@contextmanager
def answered_first() -> Iterator[None]:
    """Turns a second record under one key (the key's unique index refusing it) into
    :class:`KeyAnswered`; any other integrity error passes through."""
    try:
        yield
    except IntegrityError as error:
        if _names_the_key(error):
            raise KeyAnswered() from error
        raise


def _names_the_key(error: IntegrityError) -> bool:
    # asyncpg names the constraint (on its own error, which SQLAlchemy's adapter raised from);
    # SQLite names the columns in its message.
    for driver_error in (error.orig, getattr(error.orig, "__cause__", None)):
        if getattr(driver_error, "constraint_name", None) == KEY_CONSTRAINT:
            return True
    return "idempotency_records.api_key_id, idempotency_records.key" in str(error.orig)


def storing(dialect: str, kind: StoreKind, after: CTE | None = None) -> UpdateBase:
    """The statement that stores an answer: under a lease, the UPDATE completing the leased
    record; unleased, the INSERT of the finished record. With ``after`` (a CTE of the statement
    this one joins), it writes only if ``after`` returned a row. Parameters:
    :func:`store_params`; returns the record's id when it wrote."""
    if after is None:
        return _storing_alone(dialect, kind)
    return _storing(dialect, kind, after)


@functools.cache
def _storing_alone(dialect: str, kind: StoreKind) -> UpdateBase:
    return _storing(dialect, kind, None)


def _storing(dialect: str, kind: StoreKind, after: CTE | None) -> UpdateBase:
    answer = {
        "state": literal("done"),
        "response_status": bindparam("answer_status", type_=_records.c.response_status.type),
        "response_body": bindparam("answer_body", type_=_records.c.response_body.type),
        "response_headers": bindparam("answer_headers", type_=_records.c.response_headers.type),
    }
    if kind == "lease":
        completion = update(_records).where(leased())
        if after is not None:
            completion = completion.where(exists(select(after.c[0])))
        return completion.values(answer).returning(_records.c.id)
    return _inserting(dialect, {**answer, "locked_until": database_now(dialect)}, after)


def _inserting(dialect: str, values: dict[str, ColumnElement[Any]], after: CTE | None = None) -> UpdateBase:
    """INSERT of a record from the ``record_*`` parameters, ``values`` and ``created_at`` now."""
    columns = {
        **{name: bindparam(f"record_{name}", type_=_records.c[name].type) for name in RECORD_COLUMNS},
        **values,
        "created_at": database_now(dialect),
    }
    row = select(*(value.label(name) for name, value in columns.items()))
    if after is not None:
        row = row.select_from(after)
    return insert(_records).from_select(list(columns), row).returning(_records.c.id)


# The ``record_<column>`` parameters of a new record, each typed like its column.
RECORD_COLUMNS = ("id", "api_key_id", "key", "fingerprint", "lease_token")


def store_params(request: Keyed, answer: Replay) -> dict[str, Any]:
    """The parameters of :func:`storing` for ``request`` and ``answer``."""
    stored = {"answer_status": answer.status, "answer_body": answer.body, "answer_headers": answer.headers}
    if isinstance(request, Lease):
        return {**lease_params(request), **stored}
    return {
        "record_id": uuid.uuid4(),
        "record_api_key_id": request.api_key_id,
        "record_key": request.key,
        "record_fingerprint": request.fingerprint,
        # Never leased: the record is born finished.
        "record_lease_token": uuid.uuid4(),
        "clock_shift": request.clock_shift,
        **stored,
    }


class InFlight(msgspec.Struct, frozen=True):
    """The key's first request has not finished."""


async def lookup(rt: Runtime, api_key_id: uuid.UUID, key: str, fingerprint: str) -> Replay | InFlight | None:
    """What the key holds, read without leasing it: None for an unused key; raises
    :class:`IdempotencyKeyReused` when it was used with another request."""
    async with autocommit(rt.engine, read_only=True) as conn:
        row = await _record_of(conn, api_key_id, key)
    return None if row is None else _held(row, fingerprint)


async def _record_of(conn: AsyncConnection, api_key_id: uuid.UUID, key: str) -> Any | None:
    params = {"lookup_api_key_id": api_key_id, "lookup_key": key}
    return (await conn.execute(_record_statement, params)).first()


def _held(row: Any, fingerprint: str) -> Replay | InFlight:
    if row.fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    if row.state != "done":
        return InFlight()
    return Replay(status=row.response_status, body=row.response_body, headers=row.response_headers)


_record_statement = select(
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


async def begin(rt: Runtime, api_key_id: uuid.UUID, key: str, fingerprint: str) -> Lease | Replay:
    """Lease ``key`` for this request, or answer with the stored response of an earlier one."""
    lease = float(rt.settings.idempotency_lease_seconds)
    token = uuid.uuid4()
    record_id = uuid.uuid4()
    params = {
        "record_id": record_id,
        "record_api_key_id": api_key_id,
        "record_key": key,
        "record_fingerprint": fingerprint,
        "record_lease_token": token,
        "clock_shift": rt.clock.shift(),
        "lease_shift": rt.clock.shift(lease),
    }
    # Each statement below is atomic by itself (an insert, a conditional take-over).
    async with autocommit(rt.engine) as conn:
        try:
            with answered_first():
                await conn.execute(_leasing(rt.dialect), params)
        except KeyAnswered:
            return await _existing(rt, conn, api_key_id, key, fingerprint, token, lease)
    return Lease(record_id=record_id, token=token)


@functools.cache
def _leasing(dialect: str) -> UpdateBase:
    """The INSERT of a key in flight (``record_*``, ``clock_shift``, ``lease_shift``)."""
    return _inserting(
        dialect, {"state": literal("in_flight"), "locked_until": database_now(dialect, name="lease_shift")}
    )


async def _existing(
    rt: Runtime,
    conn: AsyncConnection,
    api_key_id: uuid.UUID,
    key: str,
    fingerprint: str,
    token: uuid.UUID,
    lease: float,
) -> Lease | Replay:
    row = await _record_of(conn, api_key_id, key)
    assert row is not None, "the key was found taken"
    held = _held(row, fingerprint)
    if isinstance(held, Replay):
        return held
    # Take over a key whose request died without finishing; the old lease can no longer store.
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
    return Lease(record_id=row.id, token=token)


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


async def hold_lease(conn: AsyncConnection, lease: Lease) -> None:
    """Lock the leased record in the caller's transaction before any counter (the order every
    hold takes), or raise :class:`IdempotencyKeyInFlight` when the lease was lost."""
    if (await conn.execute(leased_record(), lease_params(lease))).first() is None:
        raise IdempotencyKeyInFlight()


def lease_params(lease: Lease) -> dict[str, Any]:
    # Names unlike any column: SQLAlchemy would add a parameter named like one to the SET.
    return {"lease_record_id": lease.record_id, "lease_holder": lease.token}


async def abandon(rt: Runtime, lease: Lease) -> None:
    """Free the key after an unexpected failure, so that the client may retry."""
    async with autocommit(rt.engine) as conn:
        await conn.execute(delete(_records).where(leased()), lease_params(lease))


def fingerprint(method: str, path: str, body: bytes) -> str:
    """SHA-256 over method, path and body, each length-prefixed so no two requests collide. A
    JSON body counts by its content: the same keys in another order, or other blanks, make the
    same fingerprint."""
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), canonical(body)):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def canonical(body: bytes) -> bytes:
    """A JSON body re-encoded with its object keys sorted and no blanks; any other body as is."""
    try:
        return msgspec.json.encode(msgspec.json.decode(body), order="sorted")
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return body
