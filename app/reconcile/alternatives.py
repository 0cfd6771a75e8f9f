"""The alternative offered to a rolled booking: a hold for the same quantity on the next open
sailing of the same lane, placed for the booking's owner through the ordinary claim path.

The hold is a normal one (``hold.created``, quoted at the new sailing's tariff, expiring like
any hold and never after the new sailing's cut-off); the owner confirms it into a new booking
or lets it lapse. Each candidate sailing is tried inside a savepoint, so a claim that finds too
little space leaves nothing behind and the next candidate is tried.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import msgspec
from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain import pricing
from app.domain.errors import InsufficientCapacity, SailingClosed
from app.domain.states import Load
from app.domain.units import from_milli
from app.events import outbox
from app.inventory.repository import AnyRow
from app.reconcile import repository
from app.reservations import repository as reservations
from app.reservations import space
from app.reservations.counters import Quantity
from app.reservations.holds import new_hold_row
from app.reservations.views import event_payload, hold_view
from app.runtime import Runtime
from app.schemas import Money

# Sailings tried, soonest first, before saying there is no alternative.
CANDIDATES = 5


class Alternative(msgspec.Struct, kw_only=True, frozen=True):
    """What a ``booking.rolled`` event offers: confirm ``hold_id`` before ``expires_at``."""

    hold_id: uuid.UUID
    sailing_id: uuid.UUID
    etd: datetime
    expires_at: datetime
    price: Money


class NoAlternative(Exception):
    """No sailing of the lane could take the booking's quantity."""


async def offer_alternative(
    rt: Runtime, conn: AsyncConnection, booking: AnyRow, original: AnyRow
) -> Alternative | None:
    """Hold space for ``booking`` on the next sailing after ``original`` that has it, or None."""
    now_sql = rt.clock.now_sql(rt.dialect)
    quantity = Quantity.of(booking)
    candidates = await repository.alternative_sailings(
        conn,
        original=original,
        load=quantity.load,
        size_type=booking.size_type,
        units=quantity.units,
        now=now_sql,
        limit=CANDIDATES,
    )
    for candidate in candidates:
        try:
            async with conn.begin_nested():
                return await _hold_on(rt, conn, booking, candidate, now_sql)
        except (InsufficientCapacity, SailingClosed, NoAlternative):
            continue
    return None


async def _hold_on(
    rt: Runtime, conn: AsyncConnection, booking: AnyRow, candidate: AnyRow, now_sql: ColumnElement[datetime]
) -> Alternative:
    target, quantity, tariff, price = await _plan(conn, booking, candidate.id, rt.clock.shift())
    now: datetime = target.now
    row = new_hold_row(
        target,
        # The longest hold the platform gives, to leave the owner time to decide.
        timedelta(seconds=rt.settings.hold_ttl_max_seconds),
        organisation_id=booking.organisation_id,
        placed_by_id=booking.placed_by_id,
        sailing_id=candidate.id,
        size_type=booking.size_type,
        quantity=quantity,
        tariff=tariff,
        price=price,
    )
    view = hold_view(SimpleNamespace(**row))
    payload = {**event_payload(view), "offered_for": booking.reference}
    await outbox.record(
        conn, [outbox.PendingEvent("hold.created", view.id, view.organisation_id, payload)], now
    )
    await space.claim_for_hold(rt, conn, candidate.id, quantity, now_sql, row)
    return Alternative(
        hold_id=view.id,
        sailing_id=candidate.id,
        etd=candidate.etd,
        expires_at=view.expires_at,
        price=view.price,
    )


async def _plan(
    conn: AsyncConnection, booking: AnyRow, sailing_id: uuid.UUID, shift: float
) -> tuple[Any, Quantity, pricing.Tariff, Decimal]:
    """Where the hold goes on the new sailing and what it costs there."""
    if booking.load == Load.FCL:
        target = await reservations.fcl_target(conn, sailing_id, booking.size_type, shift)
        if target is None:
            raise NoAlternative(sailing_id)
        quantity = Quantity(
            load=Load.FCL, allotment_id=target.allotment_id, pool_id=None, units=booking.units
        )
        tariff = pricing.Tariff(rate=target.rate, currency=target.currency)
        return target, quantity, tariff, pricing.fcl_price(tariff, booking.units)
    targets = await reservations.lcl_targets(conn, sailing_id, booking.size_type, shift)
    if not targets:
        raise NoAlternative(sailing_id)
    target = targets[0]
    quantity = Quantity(
        load=Load.LCL,
        allotment_id=target.allotment_id,
        pool_id=target.pool_id,
        volume_dm3=booking.volume_dm3,
        weight_g=booking.weight_g,
    )
    tariff = pricing.Tariff(rate=target.rate, currency=target.currency, minimum=target.minimum)
    price = pricing.lcl_price(tariff, from_milli(booking.volume_dm3), from_milli(booking.weight_g))
    return target, quantity, tariff, price
