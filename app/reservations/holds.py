"""Use cases of holds: place, read, list, extend, release.

A hold is placed by one repository operation (:func:`repository.place_hold`): claim, hold,
event and stored answer, all or nothing. The first attempt runs in autocommit, which on
PostgreSQL makes it one round trip after the read of the sailing. When the space is short, one
transaction makes room (overdue holds reclaimed, an LCL container drawn) and places again, or
answers what is free.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from app import metrics
from app.accounts import repository as accounts
from app.accounts.actor import Actor, OrgKind
from app.db import autocommit, transaction
from app.domain import hold_plan
from app.domain.errors import (
    DomainError,
    HoldExpired,
    InvalidRequest,
    InvalidTransition,
    NotFound,
    OnBehalfOfRequired,
)
from app.domain.hold_plan import HoldPlan, HoldTerms
from app.domain.states import HoldState
from app.events import idempotency, outbox
from app.events.idempotency import Finish
from app.pagination import decode_cursor, page_of
from app.reservations import repository, space
from app.reservations.repository import HoldRow, Placement
from app.reservations.schemas import HoldCreate, HoldExtend, HoldPage, HoldView
from app.reservations.views import event_payload, hold_event, hold_view
from app.runtime import Runtime


async def place_hold(
    rt: Runtime, actor: Actor, request: HoldCreate, finish: Finish | None = None
) -> HoldView:
    """Claim space on a sailing for a few minutes at a locked price, or raise why not."""
    try:
        view = await _place_hold(rt, actor, request, finish)
    except DomainError as refusal:
        metrics.HOLDS_REFUSED.labels(refusal.slug).inc()
        raise
    metrics.HOLDS_PLACED.labels(request.load.value).inc()
    return view


async def _place_hold(rt: Runtime, actor: Actor, request: HoldCreate, finish: Finish | None) -> HoldView:
    settings = rt.settings
    ttl = hold_plan.hold_ttl(
        request.ttl_seconds, settings.hold_ttl_default_seconds, settings.hold_ttl_max_seconds
    )
    terms = HoldTerms(
        load=request.load, size_type=request.size_type, units=request.units, cbm=request.cbm, kg=request.kg
    )
    async with autocommit(rt.engine) as conn:
        owner = await _owner(conn, actor, request.on_behalf_of)
        targets = await repository.hold_targets(
            conn, request.sailing_id, terms.load, terms.size_type, rt.clock.shift()
        )
        plan = hold_plan.plan_hold(request.sailing_id, terms, targets, ttl)
        placed_by = actor.organisation_id if owner != actor.organisation_id else None
        placement, view = new_placement(plan, request.sailing_id, owner, placed_by, finish)
        if await repository.place_hold(conn, placement):
            return view
    async with transaction(rt.engine) as conn:
        await place_with_room(conn, placement, rt.clock.shift())
    return view


async def place_with_room(conn: AsyncConnection, placement: Placement, shift: float) -> None:
    """In the caller's transaction: make room for the hold (app.reservations.space.make_room;
    ``shift`` the runtime clock's) and place it, or raise InsufficientCapacity with what is free."""
    if isinstance(placement.key, idempotency.Lease):
        # The key's record before any counter: the lock order of the placement statement.
        await idempotency.hold_lease(conn, placement.key)
    await space.make_room(conn, placement.quantity, shift)
    if not await repository.place_hold(conn, placement):
        raise await space.refusal(conn, placement.hold.sailing_id, placement.quantity)


def new_placement(
    plan: HoldPlan,
    sailing_id: uuid.UUID,
    organisation_id: uuid.UUID,
    placed_by_id: uuid.UUID | None,
    finish: Finish | None = None,
    **announced: str,
) -> tuple[Placement, HoldView]:
    """The hold ``plan`` describes, for its owner, with its ``hold.created`` event (its payload
    the hold's view and ``announced``) and the request's answer if ``finish`` stores one; and
    the hold's view."""
    quantity = plan.quantity
    hold = HoldRow(
        id=uuid.uuid4(),
        organisation_id=organisation_id,
        placed_by_id=placed_by_id,
        sailing_id=sailing_id,
        allotment_id=quantity.allotment_id,
        pool_id=quantity.pool_id,
        load=quantity.load.value,
        size_type=plan.size_type,
        units=quantity.units,
        volume_dm3=quantity.volume_dm3,
        weight_g=quantity.weight_g,
        rate=plan.tariff.rate,
        minimum=plan.tariff.minimum,
        price=plan.price,
        currency=plan.tariff.currency,
        state=HoldState.ACTIVE.value,
        created_at=plan.created_at,
        expires_at=plan.expires_at,
        ended_at=None,
    )
    view = hold_view(hold)
    created = outbox.PendingEvent(
        "hold.created", hold.id, organisation_id, {**event_payload(view), **announced}
    )
    event = outbox.row(created, hold.created_at)
    if finish is None:
        return Placement(hold=hold, event=event), view
    return Placement(hold=hold, event=event, key=finish.request, answer=finish.answer(view)), view


async def _owner(conn: AsyncConnection, actor: Actor, on_behalf_of: uuid.UUID | None) -> uuid.UUID:
    """The organisation the hold belongs to: the shipper calling, or the one a marketplace names
    (a marketplace holds for its shippers, never for itself)."""
    if actor.kind not in (OrgKind.SHIPPER, OrgKind.MARKETPLACE):
        raise InvalidTransition("organisation", actor.organisation_id, actor.kind, "hold space")
    if actor.kind is OrgKind.MARKETPLACE and on_behalf_of in (None, actor.organisation_id):
        raise OnBehalfOfRequired()
    if on_behalf_of is None or on_behalf_of == actor.organisation_id:
        return actor.organisation_id
    shipper = await accounts.get_organisation(conn, on_behalf_of)
    if (
        actor.kind is not OrgKind.MARKETPLACE
        or shipper is None
        or shipper.marketplace_id != actor.organisation_id
    ):
        raise InvalidRequest("on_behalf_of", "not a shipper of this marketplace")
    return on_behalf_of


async def get_hold(rt: Runtime, actor: Actor, hold_id: uuid.UUID) -> HoldView:
    async with transaction(rt.engine, read_only=True) as conn:
        row = await repository.get_hold(conn, hold_id, actor)
    if row is None:
        raise NotFound("hold", hold_id)
    return hold_view(row)


async def list_holds(
    rt: Runtime,
    actor: Actor,
    *,
    state: HoldState | None,
    sailing_id: uuid.UUID | None,
    cursor: str | None,
    limit: int,
) -> HoldPage:
    """The actor's holds (a marketplace's include those it placed), newest first."""
    before = decode_cursor(cursor)
    async with transaction(rt.engine, read_only=True) as conn:
        rows = await repository.list_holds(
            conn, actor, state=state, sailing_id=sailing_id, before=before, limit=limit + 1
        )
    page, next_cursor = page_of(rows, limit, lambda row: (row.created_at, row.id))
    return HoldPage(items=[hold_view(row) for row in page], next_cursor=next_cursor)


async def extend_hold(
    rt: Runtime, actor: Actor, hold_id: uuid.UUID, request: HoldExtend, finish: Finish | None = None
) -> HoldView:
    """Keep an active hold longer (app.domain.hold_plan.extended_expiry decides until when);
    ``hold.extended`` tells of each change. Its space stays claimed: no counter moves."""
    settings = rt.settings
    ttl = hold_plan.hold_ttl(
        request.ttl_seconds, settings.hold_ttl_default_seconds, settings.hold_ttl_max_seconds
    )
    async with transaction(rt.engine) as conn:
        lifetime = await repository.lock_hold_lifetime(conn, hold_id, actor, rt.clock.now_sql(rt.dialect))
        if lifetime is None:
            raise await why_not_active(conn, actor, hold_id, "extend")
        expires_at = hold_plan.extended_expiry(
            lifetime, ttl, timedelta(seconds=settings.hold_max_lifetime_seconds)
        )
        if expires_at == lifetime.expires_at:
            row = await repository.get_hold(conn, hold_id, actor)
            assert row is not None, "the hold is locked by this transaction"
        else:
            row = await repository.set_hold_expiry(conn, hold_id, expires_at)
            event = hold_event("hold.extended", row)
            event.payload["extended_from"] = lifetime.expires_at.isoformat()
            await outbox.record(conn, [event], lifetime.now)
        view = hold_view(row)
        if finish is not None:
            await finish(conn, view)
    return view


async def why_not_active(conn: AsyncConnection, actor: Actor, hold_id: uuid.UUID, action: str) -> Exception:
    """Why ``action`` found no active, unexpired hold ``hold_id`` of the actor's."""
    current = await repository.get_hold(conn, hold_id, actor)
    if current is None:
        return NotFound("hold", hold_id)
    if current.state in (HoldState.ACTIVE, HoldState.EXPIRED):
        return HoldExpired(hold_id)
    return InvalidTransition("hold", hold_id, current.state, action)


async def release_hold(rt: Runtime, actor: Actor, hold_id: uuid.UUID) -> HoldView:
    """Give the space back now. Releasing a hold already released answers the same hold."""
    async with transaction(rt.engine) as conn:
        now_sql = rt.clock.now_sql(rt.dialect)
        row = await repository.end_hold(
            conn, hold_id, actor, to_state=HoldState.RELEASED, now=now_sql, unexpired=False
        )
        if row is None:
            current = await repository.get_hold(conn, hold_id, actor)
            if current is None:
                raise NotFound("hold", hold_id)
            if current.state == HoldState.RELEASED:
                return hold_view(current)
            raise InvalidTransition("hold", hold_id, current.state, "release")
        await repository.give_back(conn, [row.quantity], "held")
        assert row.ended_at is not None
        await outbox.record(conn, [hold_event("hold.released", row)], row.ended_at)
    return hold_view(row)
