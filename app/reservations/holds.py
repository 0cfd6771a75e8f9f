"""Use cases of holds: place, read, release, and the lazy reclaim of overdue holds."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from app.accounts import repository as accounts
from app.accounts.actor import Actor, OrgKind
from app.db import autocommit, transaction
from app.domain import pricing
from app.domain.capacity import check_lcl_request
from app.domain.errors import (
    InvalidRequest,
    InvalidTransition,
    NotFound,
    SailingClosed,
)
from app.domain.states import HoldState, Load, SailingStatus
from app.domain.units import to_milli
from app.events import idempotency, outbox
from app.events.idempotency import Finish
from app.reservations import counters, repository, space, unguarded
from app.reservations.counters import Quantity
from app.reservations.schemas import HoldCreate, HoldView
from app.reservations.views import event_payload, hold_event, hold_view
from app.runtime import Runtime


async def place_hold(
    rt: Runtime, actor: Actor, request: HoldCreate, finish: Finish | None = None
) -> HoldView:
    """Claim space on a sailing for a few minutes at a locked price, or raise why not."""
    ttl = _ttl(rt, request.ttl_seconds)
    observed = await unguarded.observe(rt, request) if rt.settings.unsafe_disable_capacity_guard else None
    if observed is None and rt.dialect == "postgresql":
        # The usual case in one round trip after the read (see place_in_one_statement).
        async with autocommit(rt.engine) as conn:
            hold = await _plan(rt, conn, actor, request, ttl)
            event = outbox.row(hold.event, hold.now)
            outcome = await repository.place_in_one_statement(
                conn, hold.quantity, hold.row, event, _answer(finish, hold.view), rt.clock.shift()
            )
            if outcome.held:
                return hold.view
            free = outcome.free_units
            if outcome.leased and free is not None and free < hold.quantity.units and not outcome.overdue:
                # Nothing to reclaim: a sold-out sailing answers without a transaction. The
                # figures are the statement's snapshot, from before the claim waited for the row;
                # when they do not explain the refusal, the transaction reads them again.
                raise space.fcl_shortfall(request.sailing_id, hold.quantity, free)
        # The space is short, or overdue holds sit on it: reclaim them, or say what is free.
        async with transaction(rt.engine) as conn:
            await _record_before_claim(conn, hold, finish)
            now_sql = rt.clock.now_sql(rt.dialect)
            await space.claim(rt, conn, request.sailing_id, hold.quantity, now_sql, tried=True)
            await repository.insert_hold(conn, hold.row)
            await _record_after_claim(conn, hold, finish)
        return hold.view
    async with transaction(rt.engine) as conn:
        hold = await _plan(rt, conn, actor, request, ttl)
        await _record_before_claim(conn, hold, finish)
        if observed is None:
            now_sql = rt.clock.now_sql(rt.dialect)
            await space.claim_for_hold(rt, conn, request.sailing_id, hold.quantity, now_sql, hold.row)
        else:
            await unguarded.claim(conn, hold.quantity, observed)
            await repository.insert_hold(conn, hold.row)
        await _record_after_claim(conn, hold, finish)
    return hold.view


def _answer(finish: Finish | None, view: HoldView) -> repository.StatementAnswer | None:
    """How the one statement stores the request's answer: completing its claimed record, or
    inserting the record of an unclaimed request."""
    if finish is None:
        return None
    stored = idempotency.answer_params(finish.answer(view))
    if finish.claim is not None:
        return repository.StatementAnswer("complete", {**idempotency.lease_params(finish.claim), **stored})
    assert finish.unclaimed is not None
    return repository.StatementAnswer("insert", {**idempotency.record_params(finish.unclaimed), **stored})


@dataclass(frozen=True, slots=True, kw_only=True)
class _PlannedHold:
    """A hold about to be placed: where, how much, its row, its view and its event."""

    quantity: Quantity
    row: dict[str, Any]
    view: HoldView
    event: outbox.PendingEvent

    @property
    def now(self) -> datetime:
        """Database time when the hold was planned: its creation time."""
        created: datetime = self.row["created_at"]
        return created


async def _plan(
    rt: Runtime, conn: AsyncConnection, actor: Actor, request: HoldCreate, ttl: timedelta
) -> _PlannedHold:
    """Check the request against the sailing, quote it and build the hold; writes nothing."""
    owner = await _owner(conn, actor, request.on_behalf_of)
    shift = rt.clock.shift()
    if request.load == Load.FCL:
        target, quantity, tariff, price = await _fcl_plan(conn, request, shift)
    else:
        target, quantity, tariff, price = await _lcl_plan(conn, request, shift)
    row = new_hold_row(
        target,
        ttl,
        organisation_id=owner,
        placed_by_id=actor.organisation_id if owner != actor.organisation_id else None,
        sailing_id=request.sailing_id,
        size_type=target.size_type if request.load == Load.LCL else str(request.size_type),
        quantity=quantity,
        tariff=tariff,
        price=price,
    )
    view = hold_view(SimpleNamespace(**row))
    event = outbox.PendingEvent("hold.created", view.id, owner, event_payload(view))
    return _PlannedHold(quantity=quantity, row=row, view=view, event=event)


async def _record_before_claim(conn: AsyncConnection, hold: _PlannedHold, finish: Finish | None) -> None:
    """The hold's event and a claimed request's answer. They go before the claim, so that the
    hot counter row stays locked only for the claim, the hold's insert and the commit (DESIGN
    section 4), and the key record is locked before the counter, as in the one statement; a
    failed claim rolls them back."""
    await outbox.record(conn, [hold.event], hold.now)
    if finish is not None and finish.claim is not None:
        await finish(conn, hold.view)


async def _record_after_claim(conn: AsyncConnection, hold: _PlannedHold, finish: Finish | None) -> None:
    """An unclaimed request's answer: its record is inserted after the claim, the order of the
    one statement, so that two requests under one key never wait on each other in a cycle."""
    if finish is not None and finish.unclaimed is not None:
        await finish(conn, hold.view)


def new_hold_row(
    target: Any,
    ttl: timedelta,
    *,
    organisation_id: uuid.UUID,
    placed_by_id: uuid.UUID | None,
    sailing_id: uuid.UUID,
    size_type: str,
    quantity: Quantity,
    tariff: pricing.Tariff,
    price: Decimal,
) -> dict[str, Any]:
    """The row of a new active hold for ``ttl``, its quote locked, on the sailing ``target``
    (a ``repository.fcl_target`` or ``lcl_targets`` row: state, cut-off and database time);
    raises SailingClosed when the sailing takes no more holds."""
    if target.status != SailingStatus.OPEN or target.now >= target.cut_off:
        raise SailingClosed(sailing_id, target.status)
    now: datetime = target.now
    return {
        "id": uuid.uuid4(),
        "organisation_id": organisation_id,
        "placed_by_id": placed_by_id,
        "sailing_id": sailing_id,
        "allotment_id": quantity.allotment_id,
        "pool_id": quantity.pool_id,
        "load": quantity.load.value,
        "size_type": size_type,
        "units": quantity.units,
        "volume_dm3": quantity.volume_dm3,
        "weight_g": quantity.weight_g,
        "rate": tariff.rate,
        "minimum": tariff.minimum,
        "price": price,
        "currency": tariff.currency,
        "state": HoldState.ACTIVE.value,
        "created_at": now,
        # A hold never outlives the sailing's cut-off.
        "expires_at": min(now + ttl, target.cut_off),
        "ended_at": None,
    }


def _ttl(rt: Runtime, ttl_seconds: int | None) -> timedelta:
    ttl = ttl_seconds or rt.settings.hold_ttl_default_seconds
    if ttl > rt.settings.hold_ttl_max_seconds:
        limit = rt.settings.hold_ttl_max_seconds
        raise InvalidRequest("ttl_seconds", f"ttl_seconds may be at most {limit}")
    return timedelta(seconds=ttl)


async def _owner(conn: AsyncConnection, actor: Actor, on_behalf_of: uuid.UUID | None) -> uuid.UUID:
    """The organisation the hold belongs to: the caller, or a marketplace's own shipper."""
    if actor.kind not in (OrgKind.SHIPPER, OrgKind.MARKETPLACE):
        raise InvalidTransition("organisation", actor.organisation_id, actor.kind, "hold space")
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


async def _fcl_plan(
    conn: AsyncConnection, request: HoldCreate, shift: float
) -> tuple[Any, Quantity, pricing.Tariff, Decimal]:
    if request.size_type is None or request.units is None:
        raise InvalidRequest("units", "an FCL hold needs size_type and units")
    if request.cbm is not None or request.kg is not None:
        raise InvalidRequest("cbm", "cbm and kg are for LCL holds")
    target = await repository.fcl_target(conn, request.sailing_id, request.size_type, shift)
    if target is None:
        await _require_sailing(conn, request.sailing_id)
        raise InvalidRequest("size_type", f"no {request.size_type} space on this sailing")
    quantity = Quantity(load=Load.FCL, allotment_id=target.allotment_id, pool_id=None, units=request.units)
    tariff = pricing.Tariff(rate=target.rate, currency=target.currency)
    return target, quantity, tariff, pricing.fcl_price(tariff, request.units)


async def _lcl_plan(
    conn: AsyncConnection, request: HoldCreate, shift: float
) -> tuple[Any, Quantity, pricing.Tariff, Decimal]:
    if request.cbm is None or request.kg is None:
        raise InvalidRequest("cbm", "an LCL hold needs cbm and kg")
    if request.units is not None:
        raise InvalidRequest("units", "units are for FCL holds")
    targets = await repository.lcl_targets(conn, request.sailing_id, request.size_type, shift)
    if not targets:
        await _require_sailing(conn, request.sailing_id)
        raise InvalidRequest("size_type", "no LCL pool on this sailing for that size-type")
    if len(targets) > 1:
        raise InvalidRequest("size_type", "this sailing has several pools: name a size_type")
    target = targets[0]
    volume, weight = to_milli(request.cbm, "cbm"), to_milli(request.kg, "kg")
    check_lcl_request(volume, weight, target.container_volume_dm3, target.container_weight_g)
    quantity = Quantity(
        load=Load.LCL,
        allotment_id=target.allotment_id,
        pool_id=target.pool_id,
        volume_dm3=volume,
        weight_g=weight,
    )
    tariff = pricing.Tariff(rate=target.rate, currency=target.currency, minimum=target.minimum)
    return target, quantity, tariff, pricing.lcl_price(tariff, request.cbm, request.kg)


async def _require_sailing(conn: AsyncConnection, sailing_id: uuid.UUID) -> None:
    if not await repository.sailing_exists(conn, sailing_id):
        raise NotFound("sailing", sailing_id)


async def get_hold(rt: Runtime, actor: Actor, hold_id: uuid.UUID) -> HoldView:
    async with transaction(rt.engine, read_only=True) as conn:
        row = await repository.get_hold(conn, hold_id, actor)
    if row is None:
        raise NotFound("hold", hold_id)
    return hold_view(row)


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
        await counters.move(conn, Quantity.of(row), held=-1)
        await outbox.record(conn, [hold_event("hold.released", row)], row.ended_at)
    return hold_view(row)
