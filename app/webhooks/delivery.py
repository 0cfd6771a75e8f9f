"""Webhook delivery: every event, to every matching enabled endpoint of the organisations
entitled to it, signed, at least once.

One run (app/jobs/webhooks.py, every ``SLOTPOOL_WEBHOOK_INTERVAL_SECONDS``):

1. sequence committed events into the feed (app/feed/sequencer.py);
2. fan out: each event past the ``webhooks`` feed cursor becomes one pending delivery per
   matching endpoint (its owner's, the placing marketplace's, every operator's), and the cursor
   moves on in the same transaction: no event is fanned out twice or skipped;
3. claim endpoints with due deliveries and serve each one, concurrently: a worker leases the
   endpoint (``FOR NO KEY UPDATE SKIP LOCKED`` on PostgreSQL, then a lease with a token), then
   takes a batch of due deliveries (four rounds of ``SLOTPOOL_WEBHOOK_ENDPOINT_CONCURRENCY``),
   sends them with at most that many in flight, records every attempt and the deliveries' new
   states, and takes the next batch in the same transaction, for about one attempt timeout;
   then it lets the endpoint go.

So one endpoint is served by one worker at a time, across replicas, with a bounded number of
requests in flight; a slow endpoint holds only its own worker (runs overlap, see the job), and
no attempt outlives the timeout. A claim has a lease: a replica that dies mid-send leaves its
endpoint and deliveries to be retaken when the lease lapses (at least once; the same webhook-id
may then come twice, which receivers deduplicate). A failure is tried again on the schedule of
app/webhooks/schedule.py; an endpoint whose every attempt failed for
``SLOTPOOL_WEBHOOK_DISABLE_AFTER_HOURS`` is disabled and its owner told
(``webhook_endpoint.disabled``).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import msgspec
import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from app import metrics
from app.config import Settings
from app.db import transaction
from app.events import outbox
from app.feed import repository as feed
from app.feed.reader import event_view
from app.feed.sequencer import SEQUENCER, drain, sequence_events
from app.runtime import Runtime
from app.webhooks import repository, schedule, sender
from app.webhooks.repository import Claimed
from app.webhooks.signing import Signer

WEBHOOKS = "webhooks"  # the fan-out's feed cursor
FAN_OUT_BATCH = 1000
ENDPOINTS_PER_RUN = 200
# Deliveries one worker claims at a time for an endpoint, in rounds of its concurrency: fewer
# transactions per delivery, and a batch still ends within this many attempt timeouts (the
# lease must outlast it: see Settings).
CLAIM_ROUNDS = 4
log = structlog.get_logger("slotpool.webhooks")


class DeliveryRound(msgspec.Struct, kw_only=True):
    sequenced: int
    fanned_out: int
    endpoints: int
    attempts: int
    delivered: int


async def run(rt: Runtime) -> DeliveryRound:
    """One round: sequence, fan out, then serve every endpoint with due deliveries."""
    sequenced = await sequence_events(rt)
    fanned_out = await fan_out(rt)
    served = await serve_due_endpoints(rt)
    attempts = sum(tally[0] for tally in served)
    delivered = sum(tally[1] for tally in served)
    if attempts:
        log.debug("webhooks.round", endpoints=len(served), attempts=attempts, delivered=delivered)
    return DeliveryRound(
        sequenced=sequenced,
        fanned_out=fanned_out,
        endpoints=len(served),
        attempts=attempts,
        delivered=delivered,
    )


async def fan_out(rt: Runtime) -> int:
    """Turn sequenced events past the ``webhooks`` cursor into deliveries; returns how many
    events (0 also while another replica fans out)."""
    async with transaction(rt.engine, read_only=True) as conn:
        if await feed.read_cursor(conn, WEBHOOKS) >= await feed.read_cursor(conn, SEQUENCER):
            return 0
    return await drain(lambda: _fan_out_batch(rt), FAN_OUT_BATCH)


async def _fan_out_batch(rt: Runtime) -> int:
    async with transaction(rt.engine) as conn:
        last = await feed.lock_cursor(conn, WEBHOOKS)
        if last is None:
            return 0
        events = await repository.sequenced_after(conn, last, FAN_OUT_BATCH)
        if not events:
            return 0
        audience = {org for event in events for org in (event.organisation_id, event.marketplace_id) if org}
        receivers = await repository.receiving_endpoints(conn, sorted(audience))
        now = await repository.database_now(conn, rt.clock.now_sql(rt.dialect))
        operators = [endpoint for endpoint in receivers if endpoint.sees_everything]
        by_organisation: dict[uuid.UUID, list[repository.AnyRow]] = defaultdict(list)
        for endpoint in receivers:
            if not endpoint.sees_everything:
                by_organisation[endpoint.organisation_id].append(endpoint)
        owed = [
            repository.new_delivery(endpoint.id, event.id, now)
            for event in events
            for endpoint in _entitled(by_organisation, operators, event)
            if endpoint.event_types is None or event.type in endpoint.event_types
        ]
        await repository.insert_deliveries(conn, owed)
        await feed.move_cursor(conn, WEBHOOKS, events[-1].position)
    return len(events)


def _entitled(
    by_organisation: dict[uuid.UUID, list[repository.AnyRow]],
    operators: list[repository.AnyRow],
    event: repository.AnyRow,
) -> list[repository.AnyRow]:
    """The endpoints of the event's owner, of the marketplace that placed it, and of operators."""
    audience = {event.organisation_id, event.marketplace_id} - {None}
    return [endpoint for org in audience for endpoint in by_organisation.get(org, ())] + operators


async def serve_due_endpoints(rt: Runtime) -> list[tuple[int, int]]:
    """Claim endpoints with due deliveries and serve them concurrently; (attempts, delivered)
    for each one served."""
    settings = rt.settings
    token = uuid.uuid4()
    async with transaction(rt.engine, read_only=True) as conn:
        if not await repository.any_due(conn, rt.clock.now_sql(rt.dialect)):
            return []
    async with transaction(rt.engine) as conn:
        now = await repository.database_now(conn, rt.clock.now_sql(rt.dialect))
        until = now + timedelta(seconds=settings.webhook_lease_seconds)
        claimed = await repository.claim_endpoints(conn, now, token, until, ENDPOINTS_PER_RUN)
        sessions = []
        for endpoint in claimed:
            first = await repository.claim_deliveries(
                conn, endpoint.id, now, token, until, claim_size(settings)
            )
            if first:
                sessions.append(_Session(rt, endpoint, token, _signer(rt, endpoint, now), first))
            else:  # its due deliveries were taken meanwhile (given up, or redelivered in flight)
                await repository.release_endpoint(conn, endpoint.id, token)
    results = await asyncio.gather(*(session.serve() for session in sessions), return_exceptions=True)
    served = []
    for session, result in zip(sessions, results, strict=True):
        if isinstance(result, BaseException):
            if isinstance(result, asyncio.CancelledError):
                raise result
            # Its lease lapses and another run takes the endpoint over.
            log.error("webhooks.endpoint_failed", endpoint_id=str(session.endpoint.id), error=repr(result))
            continue
        served.append(result)
    return served


def _signer(rt: Runtime, endpoint: repository.AnyRow, now: datetime) -> Signer:
    secrets = [rt.secrets.open(endpoint.secret_sealed)]
    if endpoint.previous_secret_sealed is not None and (
        endpoint.previous_secret_until is not None and endpoint.previous_secret_until > now
    ):
        secrets.append(rt.secrets.open(endpoint.previous_secret_sealed))
    return Signer(secrets)


def claim_size(settings: Settings) -> int:
    return settings.webhook_endpoint_concurrency * CLAIM_ROUNDS


class Attempted(NamedTuple):
    """When a request was sent (the service's clock) and how it went."""

    at: datetime
    outcome: sender.Outcome


class _Session:
    """One worker's turn at one leased endpoint: batches of attempts (at most the endpoint's
    concurrency in flight), each recorded with the claim of the next, until nothing is due or
    about one attempt timeout has passed."""

    def __init__(
        self, rt: Runtime, endpoint: repository.AnyRow, token: uuid.UUID, signer: Signer, first: list[Claimed]
    ) -> None:
        self.rt = rt
        self.endpoint = endpoint
        self.token = token
        self.signer = signer
        self.batch = first

    async def serve(self) -> tuple[int, int]:
        """Send, record, claim again, until nothing is due or one attempt timeout has passed;
        (attempts, delivered)."""
        settings = self.rt.settings
        stop_claiming = time.monotonic() + settings.webhook_timeout_seconds
        attempts = delivered = 0
        gate = asyncio.Semaphore(settings.webhook_endpoint_concurrency)
        connections = sender.Sender(
            settings.webhook_endpoint_concurrency,
            time_limit=settings.webhook_timeout_seconds,
            allow_loopback=settings.webhook_allow_loopback,
        )
        async with connections:
            while self.batch:
                made = await self._attempts(connections, gate)
                attempts += len(made)
                delivered += sum(1 for attempt in made if attempt.outcome.delivered)
                self.batch = await self._record(made, claim_next=time.monotonic() < stop_claiming)
        return attempts, delivered

    async def _attempts(self, connections: sender.Sender, gate: asyncio.Semaphore) -> list[Attempted]:
        """Send the batch, at most ``gate`` at once, to the addresses its URL resolves to now."""
        url, clock = self.endpoint.url, self.rt.clock
        started = clock.app_now()
        refused = await connections.pin(url)
        if refused is not None:
            return [Attempted(started, refused)] * len(self.batch)

        async def attempt(claimed: Claimed) -> Attempted:
            async with gate:
                # Signed as it leaves: its timestamp is the moment it is sent.
                body = msgspec.json.encode(event_view(claimed.event))
                headers = self.signer.headers(str(claimed.event.event_id), body)
                return Attempted(clock.app_now(), await connections.send(url, body, headers))

        return list(await asyncio.gather(*(attempt(claimed) for claimed in self.batch)))

    async def _record(self, made: Sequence[Attempted], *, claim_next: bool) -> list[Claimed]:
        """One transaction: the attempts, the deliveries' new states, the endpoint's failure
        record and lease, and (``claim_next``) the next due deliveries."""
        rt, settings, endpoint = self.rt, self.rt.settings, self.endpoint
        async with transaction(rt.engine) as conn:
            now = await repository.database_now(conn, rt.clock.now_sql(rt.dialect))
            any_delivered = any(attempt.outcome.delivered for attempt in made)
            failing_since = None if any_delivered else (endpoint.failing_since or now)
            disable = failing_since is not None and now - failing_since >= timedelta(
                hours=settings.webhook_disable_after_hours
            )
            until = now + timedelta(seconds=settings.webhook_lease_seconds)
            keep = claim_next and not disable
            values: dict[str, Any] = {
                "failing_since": failing_since,
                "lease_token": self.token if keep else None,
                "leased_until": until if keep else None,
            }
            # The endpoint's row first, as every writer of it does: it fences this worker's
            # lease, and a deletion waits for this transaction (or this one finds it gone).
            renewed = await repository.renew_endpoint(conn, endpoint.id, self.token, values)
            if renewed is None and not await repository.get_endpoint(conn, None, endpoint.id):
                return []
            await repository.insert_attempts(conn, self._attempt_rows(made))
            await repository.settle_deliveries(conn, self._settled(made, now))
            if renewed is None:
                return []  # taken over, or disabled by its owner meanwhile
            self.endpoint = renewed
            if disable:
                await self._disable(conn, now)
                return []
            following = []
            if keep:
                following = await repository.claim_deliveries(
                    conn, endpoint.id, now, self.token, until, claim_size(settings)
                )
                if not following:
                    await repository.release_endpoint(conn, endpoint.id, self.token)
            return following

    def _attempt_rows(self, made: Sequence[Attempted]) -> list[dict[str, Any]]:
        return [
            {
                "delivery_id": claimed.delivery.id,
                "endpoint_id": self.endpoint.id,
                "attempt": claimed.delivery.attempts,
                "attempted_at": at,
                "status_code": outcome.status_code,
                "latency_ms": outcome.latency_ms,
                "error": outcome.error,
            }
            for claimed, (at, outcome) in zip(self.batch, made, strict=True)
        ]

    def _settled(self, made: Sequence[Attempted], now: datetime) -> list[dict[str, Any]]:
        window = self.rt.settings.webhook_retry_window_hours * 3600.0
        settled = []
        for claimed, (_, outcome) in zip(self.batch, made, strict=True):
            delivery = claimed.delivery
            wait = None
            if not outcome.delivered:
                owed_for = (now - delivery.owed_since).total_seconds()
                wait = schedule.after_failure(delivery.attempts, owed_for, window)
            state = "delivered" if outcome.delivered else ("pending" if wait is not None else "given_up")
            if outcome.delivered:
                metrics.WEBHOOK_DELIVERY_LAG.observe(
                    max((now - claimed.event.created_at).total_seconds(), 0.0)
                )
            settled.append(
                {
                    "delivery_id": delivery.id,
                    "claim": self.token,
                    "delivery_state": state,
                    "due_at": now + timedelta(seconds=wait) if wait is not None else now,
                    "done_at": None if wait is not None else now,
                }
            )
        return settled

    async def _disable(self, conn: AsyncConnection, now: datetime) -> None:
        endpoint = self.endpoint
        hours = self.rt.settings.webhook_disable_after_hours
        reason = f"every delivery failed for {hours:g} hours"
        await repository.update_endpoint(
            conn, endpoint.id, {"enabled": False, "disabled_reason": reason, "updated_at": now}
        )
        given_up = await repository.give_up_pending(conn, endpoint.id, now)
        payload = {
            "endpoint_id": str(endpoint.id),
            "url": endpoint.url,
            "failing_since": endpoint.failing_since.isoformat(),
            "disabled_at": now.isoformat(),
            "reason": reason,
        }
        disabled = outbox.PendingEvent(
            "webhook_endpoint.disabled", endpoint.id, endpoint.organisation_id, payload
        )
        await outbox.record(conn, [disabled], now)
        log.warning("webhooks.endpoint_disabled", endpoint_id=str(endpoint.id), given_up=given_up)
