"""Use cases of holds: place, read, release, and the lazy reclaim of overdue holds."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncConnection

from app.accounts import repository as accounts
from app.accounts.actor import Actor, OrgKind
from app.db import transaction
from app.domain import pricing
from app.domain.capacity import check_lcl_request
from app.domain.errors import (
    InsufficientCapacity,
    InvalidRequest,
    InvalidTransition,
    NotFound,
    SailingClosed,
)
from app.domain.states import HoldState, Load, SailingStatus
from app.domain.units import from_milli, to_milli
from app.events import outbox
from app.inventory import repository as inventory
from app.reservations import counters, repository
from app.reservations.counters import Quantity
from app.reservations.schemas import HoldCreate, HoldView
from app.reservations.views import Finish, event_payload, hold_view
from app.runtime import Runtime


async def place_hold(
    rt: Runtime, actor: Actor, request: HoldCreate, finish: Finish | None = None
) -> HoldView:
    """Claim space on a sailing for a few minutes at a locked price, or raise why not."""
    ttl = _ttl(rt, request.ttl_seconds)
    async with transaction(rt.engine) as conn:
        owner = await _owner(conn, actor, request.on_behalf_of)
        now_sql = rt.clock.now_sql(rt.dialect)
        if request.load is Load.FCL:
            target, quantity, tariff, price = await _fcl_plan(conn, request, now_sql)
        else:
            target, quantity, tariff, price = await _lcl_plan(conn, request, now_sql)
        if target.status != SailingStatus.OPEN or target.now >= target.cut_off:
            raise SailingClosed(request.sailing_id, target.status)
        reclaimed = await _claim(rt, conn, request.sailing_id, quantity, now_sql)
        now: datetime = target.now
        row: dict[str, Any] = {
            "id": uuid.uuid4(),
            "organisation_id": owner,
            "placed_by_id": actor.organisation_id if owner != actor.organisation_id else None,
            "sailing_id": request.sailing_id,
            "allotment_id": quantity.allotment_id,
            "pool_id": quantity.pool_id,
            "load": quantity.load.value,
            "size_type": target.size_type if request.load is Load.LCL else request.size_type,
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
        await repository.insert_hold(conn, row)
        view = hold_view(SimpleNamespace(**row))
        events = [_hold_event("hold.expired", r) for r in reclaimed]
        events.append(outbox.PendingEvent("hold.created", view.id, owner, event_payload(view)))
        await outbox.record(conn, events, now)
        if finish is not None:
            await finish(conn, view)
    return view


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
    conn: AsyncConnection, request: HoldCreate, now_sql: ColumnElement[datetime]
) -> tuple[Any, Quantity, pricing.Tariff, Decimal]:
    if request.size_type is None or request.units is None:
        raise InvalidRequest("units", "an FCL hold needs size_type and units")
    if request.cbm is not None or request.kg is not None:
        raise InvalidRequest("cbm", "cbm and kg are for LCL holds")
    target = await repository.fcl_target(conn, request.sailing_id, request.size_type, now_sql)
    if target is None:
        await _require_sailing(conn, request.sailing_id)
        raise InvalidRequest("size_type", f"no {request.size_type} space on this sailing")
    quantity = Quantity(load=Load.FCL, allotment_id=target.allotment_id, pool_id=None, units=request.units)
    tariff = pricing.Tariff(rate=target.rate, currency=target.currency)
    return target, quantity, tariff, pricing.fcl_price(tariff, request.units)


async def _lcl_plan(
    conn: AsyncConnection, request: HoldCreate, now_sql: ColumnElement[datetime]
) -> tuple[Any, Quantity, pricing.Tariff, Decimal]:
    if request.cbm is None or request.kg is None:
        raise InvalidRequest("cbm", "an LCL hold needs cbm and kg")
    if request.units is not None:
        raise InvalidRequest("units", "units are for FCL holds")
    targets = await repository.lcl_targets(conn, request.sailing_id, request.size_type, now_sql)
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


async def _claim(
    rt: Runtime,
    conn: AsyncConnection,
    sailing_id: uuid.UUID,
    quantity: Quantity,
    now_sql: ColumnElement[datetime],
) -> list[Any]:
    """Take the space, reclaiming overdue holds and drawing a container if needed.

    Returns the holds that were reclaimed on the way; raises InsufficientCapacity with
    nothing changed (the transaction rolls back) when the space is not there.
    """
    if rt.settings.unsafe_disable_capacity_guard:
        await _claim_without_guard(conn, quantity)
        return []
    if await counters.try_claim(conn, quantity):
        return []
    if quantity.load is Load.LCL:
        assert quantity.pool_id is not None
        await inventory.lock_pool(conn, quantity.pool_id)
    reclaimed = await reclaim_overdue(conn, quantity, now_sql)
    if await counters.try_claim(conn, quantity):
        return reclaimed
    drew = quantity.load is Load.LCL and await _draw_container(conn, quantity)
    if drew and await counters.try_claim(conn, quantity):
        return reclaimed
    raise await _insufficient(conn, sailing_id, quantity)


async def reclaim_overdue(
    conn: AsyncConnection, quantity: Quantity, now_sql: ColumnElement[datetime]
) -> list[Any]:
    """Expire this counter's overdue holds now, whether or not the sweeper has run."""
    h = repository.holds
    column = h.c.allotment_id if quantity.load is Load.FCL else h.c.pool_id
    expired = await repository.expire_overdue(conn, now_sql, counter=column == quantity.counter_id)
    await counters.release_all(conn, (Quantity.of(r) for r in expired), "held")
    return expired


async def _draw_container(conn: AsyncConnection, quantity: Quantity) -> bool:
    pool = (await inventory.pools_of_ids(conn, [quantity.counter_id]))[0]
    return await inventory.draw_container(conn, pool)


async def _insufficient(
    conn: AsyncConnection, sailing_id: uuid.UUID, quantity: Quantity
) -> InsufficientCapacity:
    if quantity.load is Load.FCL:
        free = await inventory.free_units(conn, quantity.counter_id)
        return InsufficientCapacity(sailing_id, f"{quantity.units} units", f"{free} units")
    pool = (await inventory.pools_of_ids(conn, [quantity.counter_id]))[0]
    drawable = max(pool.units_drawable, 0)
    free_cbm = from_milli(pool.volume_free_dm3 + drawable * pool.container_volume_dm3)
    free_kg = from_milli(pool.weight_free_g + drawable * pool.container_weight_g)
    wanted = f"{from_milli(quantity.volume_dm3)} CBM / {from_milli(quantity.weight_g)} kg"
    return InsufficientCapacity(sailing_id, wanted, f"{free_cbm} CBM / {free_kg} kg")


async def _claim_without_guard(conn: AsyncConnection, quantity: Quantity) -> None:
    """Test-only: the naive check-then-write the conditional UPDATE exists to prevent.

    Reads the free space in this transaction and writes back a value computed in Python. Used
    only to prove that the concurrency tests really race (they must see it oversell).
    """
    if quantity.load is Load.FCL:
        row = await inventory.allotment_counters(conn, quantity.counter_id)
        if row.units_free < quantity.units:
            raise InsufficientCapacity("?", str(quantity.units), str(row.units_free))
        await inventory.overwrite_counters(
            conn,
            inventory.allotments,
            quantity.counter_id,
            {"units_held": row.units_held + quantity.units},
        )
        return
    pool = (await inventory.pools_of_ids(conn, [quantity.counter_id]))[0]
    if pool.volume_free_dm3 < quantity.volume_dm3 or pool.weight_free_g < quantity.weight_g:
        raise InsufficientCapacity("?", str(quantity.volume_dm3), str(pool.volume_free_dm3))
    await inventory.overwrite_counters(
        conn,
        inventory.pools,
        quantity.counter_id,
        {
            "volume_held_dm3": pool.volume_held_dm3 + quantity.volume_dm3,
            "weight_held_g": pool.weight_held_g + quantity.weight_g,
        },
    )


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
        await outbox.record(conn, [_hold_event("hold.released", row)], row.ended_at)
    return hold_view(row)


def _hold_event(kind: str, row: Any) -> outbox.PendingEvent:
    return outbox.PendingEvent(kind, row.id, row.organisation_id, event_payload(hold_view(row)))
