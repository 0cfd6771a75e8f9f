"""Runs a mutating POST under its Idempotency-Key (DESIGN section 6).

Same key and body: the stored status and body are replayed. Same key, other body: 422. Same
key still in flight: 409. No key: 400. A business error is stored and replayed like a success;
an unexpected failure frees the key so that the client may retry.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Protocol

import msgspec
import structlog
from litestar import Request, Response
from litestar.params import Parameter

from app.api.problems import PROBLEM_MEDIA_TYPE, domain_problem
from app.domain.errors import DomainError
from app.events import idempotency
from app.events.idempotency import JSON, Finish
from app.runtime import Runtime

log = structlog.get_logger("slotpool.api")
AnyRequest = Request[Any, Any, Any]
MAX_KEY_LENGTH = 255
# Required (and documented so); checked by run_idempotent, with a problem answer, so that a
# missing key is 400 ``idempotency-key-missing`` rather than a generic validation error.
IdempotencyKey = Annotated[
    str | None,
    Parameter(
        header="Idempotency-Key",
        required=True,
        description="Unique per intended change (a UUID is a good choice): a retry with the same "
        "key and body replays the first answer; the same key with another body is refused.",
        schema_extra={
            "oneOf": None,
            "type": "string",
            "minLength": 1,
            "maxLength": MAX_KEY_LENGTH,
            "pattern": "^[\\x20-\\x7e]+$",
        },
    ),
]


class Caller(Protocol):
    """Whoever sends the request: keys are scoped to the API key it used."""

    @property
    def api_key_id(self) -> uuid.UUID: ...


class IdempotencyKeyMissing(DomainError):
    slug = "idempotency-key-missing"
    title = "Idempotency-Key header is required"
    status = 400

    def __init__(self) -> None:
        super().__init__("send an Idempotency-Key header (a UUID is a good choice) with every POST")


class IdempotencyKeyInvalid(DomainError):
    slug = "idempotency-key-invalid"
    title = "Idempotency-Key header is invalid"
    status = 400

    def __init__(self) -> None:
        super().__init__(f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable ASCII characters")


async def run_idempotent(
    request: Request[Any, Any, Any],
    rt: Runtime,
    actor: Caller,
    operation: Callable[[Finish], Awaitable[msgspec.Struct]],
    *,
    status: int,
    headers: Callable[[Any], dict[str, str]] = lambda _: {},
    lease_first: bool = True,
) -> Response[Any]:
    """``lease_first`` False: the key is not leased first; the operation inserts its record,
    finished, with its change (``idempotency.Unleased``). That saves a statement and a commit
    per request. A key used before is found when that insert collides: the change rolls back and
    the stored answer is replayed (a concurrent duplicate waits on the key's index for the
    first)."""
    key = _key(request)
    fingerprint = idempotency.fingerprint(request.method, request.url.path, await request.body())
    outcome: idempotency.Lease | idempotency.Replay | idempotency.Unleased
    if not lease_first:
        outcome = idempotency.Unleased(
            api_key_id=actor.api_key_id, key=key, fingerprint=fingerprint, clock_shift=rt.clock.shift()
        )
    else:
        outcome = await idempotency.begin(rt, actor.api_key_id, key, fingerprint)
        if isinstance(outcome, idempotency.Replay):
            return _replay(outcome)
    finish = Finish(outcome, status, headers)

    async def answered_before() -> Response[Any]:
        found = await idempotency.lookup(rt, actor.api_key_id, key, fingerprint)
        if isinstance(found, idempotency.Replay):
            return _replay(found)
        if isinstance(found, idempotency.InFlight):
            # A leased request (another kind of POST, or an older server) holds the key.
            return await run_idempotent(request, rt, actor, operation, status=status, headers=headers)
        raise idempotency.IdempotencyKeyInFlight()

    try:
        view = await operation(finish)
    except idempotency.KeyAnswered:
        return await answered_before()
    except DomainError as error:
        error_status, body = domain_problem(request, error)
        problem_headers = {"content-type": PROBLEM_MEDIA_TYPE}
        problem = idempotency.Replay(status=error_status, body=body, headers=problem_headers)
        if not await finish.store_alone(rt, problem):
            return await answered_before()
        raise
    except BaseException:
        # Nothing was committed: free the key. If even that fails, the lease frees it later.
        if finish.lease is not None:
            with contextlib.suppress(Exception):
                await idempotency.abandon(rt, finish.lease)
        raise
    stored = finish.stored
    if stored is None:
        # A service that forgot to store its answer in its transaction: store it now rather
        # than leave the key in flight (a late retry would then do the change twice).
        log.warning("idempotency.stored_after_commit", path=request.url.path)
        stored = finish.answer(view)
        if not await finish.store_alone(rt, stored):
            # An unleased request's key was answered meanwhile: give the answer it keeps.
            return await answered_before()
    # The first answer is the view itself; what was stored for replays may be redacted.
    return Response(
        content=msgspec.json.encode(view),
        status_code=status,
        media_type=JSON,
        headers=_without_type(stored.headers),
    )


def _key(request: Request[Any, Any, Any]) -> str:
    key = request.headers.get("idempotency-key")
    if key is None:
        raise IdempotencyKeyMissing()
    if not 0 < len(key) <= MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise IdempotencyKeyInvalid()
    return key


def _replay(replay: idempotency.Replay) -> Response[Any]:
    media_type = replay.headers.get("content-type", JSON)
    return Response(
        content=replay.body,
        status_code=replay.status,
        media_type=media_type,
        headers={**_without_type(replay.headers), "Idempotent-Replayed": "true"},
    )


def _without_type(headers: dict[str, str]) -> dict[str, str]:
    return {name: value for name, value in headers.items() if name != "content-type"}
