"""Use cases of webhook endpoints: register, read, change, delete, rotate the secret, list the
attempts, redeliver."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection

from app.accounts.actor import Actor
from app.db import transaction
from app.domain.errors import Conflict, InvalidRequest, NotFound
from app.events.idempotency import Finish
from app.feed import types
from app.feed.reader import audience_of
from app.feed.repository import entitled_event
from app.runtime import Runtime
from app.webhooks import addresses, repository, signing
from app.webhooks.schemas import (
    AttemptPage,
    AttemptView,
    EndpointChange,
    EndpointCreate,
    EndpointCreated,
    EndpointView,
    Redelivery,
    RedeliveryScheduled,
    SecretRotated,
    SecretRotation,
)

# How long registering an endpoint waits for its host to resolve.
RESOLVE_TIMEOUT_SECONDS = 5.0
# Events one redelivery may schedule: a wider range is asked for in parts.
MAX_REDELIVERY = 10_000


async def create_endpoint(
    rt: Runtime, actor: Actor, request: EndpointCreate, finish: Finish | None = None
) -> EndpointCreated:
    """Register an endpoint with a new secret, shown in this answer only."""
    _check_event_types(request.event_types)
    await check_url(rt, request.url)
    secret = signing.new_secret()
    now = rt.clock.app_now()
    row: dict[str, Any] = {
        "id": uuid.uuid4(),
        "organisation_id": actor.organisation_id,
        "url": request.url,
        "description": request.description,
        "event_types": _stored_types(request.event_types),
        "enabled": request.enabled,
        "disabled_reason": None,
        "secret_sealed": rt.secrets.seal(secret),
        "previous_secret_sealed": None,
        "previous_secret_until": None,
        "failing_since": None,
        "lease_token": None,
        "leased_until": None,
        "version": 1,
        "created_at": now,
        "updated_at": now,
        "deleted_at": None,
    }
    async with transaction(rt.engine) as conn:
        await repository.insert_endpoint(conn, row)
        view = EndpointCreated(**msgspec.structs.asdict(endpoint_view(row)), secret=secret)
        if finish is not None:
            # The stored replay must not hold the secret.
            await finish(conn, msgspec.structs.replace(view, secret=None))
    return view


async def list_endpoints(rt: Runtime, actor: Actor) -> list[EndpointView]:
    async with transaction(rt.engine, read_only=True) as conn:
        rows = await repository.list_endpoints(conn, actor.organisation_id)
    return [endpoint_view(row._mapping) for row in rows]


async def get_endpoint(rt: Runtime, actor: Actor, endpoint_id: uuid.UUID) -> EndpointView:
    async with transaction(rt.engine, read_only=True) as conn:
        row = await _owned(conn, actor, endpoint_id)
    return endpoint_view(row._mapping)


async def change_endpoint(
    rt: Runtime, actor: Actor, endpoint_id: uuid.UUID, change: EndpointChange
) -> EndpointView:
    """Apply the fields given. Disabling gives up what the endpoint was owed (redeliver a time
    range after enabling it again); enabling clears the failure record."""
    values: dict[str, Any] = {}
    if change.url is not None:
        await check_url(rt, change.url)
        values["url"] = change.url
    if change.event_types is not msgspec.UNSET:
        _check_event_types(change.event_types)
        values["event_types"] = _stored_types(change.event_types)
    if change.description is not None:
        values["description"] = change.description
    async with transaction(rt.engine) as conn:
        row = await _owned(conn, actor, endpoint_id, lock=True)
        if change.enabled is not None and change.enabled != row.enabled:
            values.update(enabled=change.enabled, disabled_reason=None, failing_since=None)
            if not change.enabled:
                values.update(lease_token=None, leased_until=None)
                await repository.give_up_pending(conn, endpoint_id, rt.clock.app_now())
        if not values:
            return endpoint_view(row._mapping)
        values["updated_at"] = rt.clock.app_now()
        updated = await repository.update_endpoint(conn, endpoint_id, values)
    return endpoint_view(updated._mapping)


async def delete_endpoint(rt: Runtime, actor: Actor, endpoint_id: uuid.UUID) -> None:
    async with transaction(rt.engine) as conn:
        await _owned(conn, actor, endpoint_id, lock=True)
        await repository.delete_endpoint(conn, endpoint_id, rt.clock.app_now())


async def rotate_secret(
    rt: Runtime, actor: Actor, endpoint_id: uuid.UUID, rotation: SecretRotation, finish: Finish | None = None
) -> SecretRotated:
    """A new secret signs from now on; the one it replaces signs too for ``overlap_seconds``
    (a secret from an earlier rotation stops at once)."""
    secret = signing.new_secret()
    overlap = rotation.overlap_seconds
    async with transaction(rt.engine) as conn:
        row = await _owned(conn, actor, endpoint_id, lock=True)
        values: dict[str, Any] = {
            "secret_sealed": rt.secrets.seal(secret),
            "previous_secret_sealed": row.secret_sealed if overlap else None,
            "previous_secret_until": rt.clock.now_sql(rt.dialect, float(overlap)) if overlap else None,
            "updated_at": rt.clock.app_now(),
        }
        updated = await repository.update_endpoint(conn, endpoint_id, values)
        view = SecretRotated(
            endpoint_id=endpoint_id, secret=secret, previous_secret_expires_at=updated.previous_secret_until
        )
        if finish is not None:
            await finish(conn, msgspec.structs.replace(view, secret=None))
    return view


async def list_attempts(
    rt: Runtime, actor: Actor, endpoint_id: uuid.UUID, cursor: str | None, limit: int
) -> AttemptPage:
    """Attempts at the endpoint, newest first."""
    before = _attempt_cursor(cursor)
    async with transaction(rt.engine, read_only=True) as conn:
        await _owned(conn, actor, endpoint_id)
        rows = await repository.attempts_page(conn, endpoint_id, before, limit + 1)
    page = rows[:limit]
    items = [
        AttemptView(
            id=row.id,
            event_id=row.event_id,
            event_type=row.type,
            attempt=row.attempt,
            attempted_at=row.attempted_at,
            status_code=row.status_code,
            latency_ms=row.latency_ms,
            error=row.error,
            delivery_state=row.state,
        )
        for row in page
    ]
    return AttemptPage(items=items, next_cursor=str(page[-1].id) if len(rows) > limit else None)


async def redeliver(
    rt: Runtime, actor: Actor, endpoint_id: uuid.UUID, request: Redelivery, finish: Finish | None = None
) -> RedeliveryScheduled:
    """Owe the endpoint one event (by id) or every event of a time range again, due now."""
    by_id = request.event_id is not None
    if by_id == (request.since is not None or request.until is not None):
        raise InvalidRequest("event_id", "give either event_id, or since and until")
    audience = audience_of(actor)
    async with transaction(rt.engine) as conn:
        endpoint = await _owned(conn, actor, endpoint_id, lock=True)
        if not endpoint.enabled:
            raise Conflict("the endpoint is disabled: enable it, then ask for a redelivery")
        if request.event_id is not None:
            event = await entitled_event(conn, audience, request.event_id)
            if event is None:
                raise NotFound("event", request.event_id)
            rows = [event.id]
        else:
            rows = await _events_in_range(conn, audience, endpoint.event_types, request)
        now = await repository.database_now(conn, rt.clock.now_sql(rt.dialect))
        view = RedeliveryScheduled(
            endpoint_id=endpoint_id, scheduled=await repository.redeliver(conn, endpoint_id, rows, now)
        )
        if finish is not None:
            await finish(conn, view)
    return view


async def _events_in_range(
    conn: AsyncConnection, audience: uuid.UUID | None, event_types: list[str] | None, request: Redelivery
) -> list[int]:
    if request.since is None or request.until is None:
        raise InvalidRequest("since", "a time range needs both since and until")
    if request.until <= request.since:
        raise InvalidRequest("until", "until must be after since")
    rows = await repository.events_in_range(
        conn, audience, event_types, request.since, request.until, MAX_REDELIVERY + 1
    )
    if len(rows) > MAX_REDELIVERY:
        too_many = f"more than {MAX_REDELIVERY} events in this range: ask for a shorter one"
        raise InvalidRequest("since", too_many)
    return rows


async def check_url(rt: Runtime, url: str) -> None:
    """Refuse a URL that may not receive webhooks (app/webhooks/addresses.py), naming why."""
    allow_loopback = rt.settings.webhook_allow_loopback
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT_SECONDS):
            await addresses.vet(url, allow_loopback=allow_loopback)
    except addresses.UrlRefused as refused:
        raise InvalidRequest("url", str(refused)) from None
    except TimeoutError:
        slow = f"the host did not resolve within {RESOLVE_TIMEOUT_SECONDS:g} s"
        raise InvalidRequest("url", slow) from None


def endpoint_view(row: Mapping[Any, Any]) -> EndpointView:
    """The view of an endpoint's row (a row's ``_mapping``, or the dict just inserted)."""
    return EndpointView(
        id=row["id"],
        url=row["url"],
        description=row["description"],
        event_types=row["event_types"],
        enabled=row["enabled"],
        disabled_reason=row["disabled_reason"],
        failing_since=row["failing_since"],
        previous_secret_expires_at=row["previous_secret_until"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


async def _owned(
    conn: AsyncConnection, actor: Actor, endpoint_id: uuid.UUID, *, lock: bool = False
) -> repository.AnyRow:
    row = await repository.get_endpoint(conn, actor.organisation_id, endpoint_id, lock=lock)
    if row is None:
        raise NotFound("webhook endpoint", endpoint_id)
    return row


def _check_event_types(names: list[str] | None) -> None:
    unknown = types.unknown(names or [])
    if unknown:
        listed = ", ".join(unknown)
        raise InvalidRequest("event_types", f"unknown event types: {listed} (see /v1/event-types)")


def _stored_types(names: list[str] | None) -> list[str] | None:
    return None if names is None else sorted(set(names))


def _attempt_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return None
    if not cursor.isdigit() or len(cursor) > 18:
        raise InvalidRequest("cursor", "cursor is not one this API returned")
    return int(cursor)
