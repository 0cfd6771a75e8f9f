"""The alternative offered to a rolled booking: a hold for the same quantity on the next open
sailing of the same lane, placed for the booking's owner as any hold is.

The hold is a normal one (``hold.created``, quoted at the new sailing's tariff, expiring like
any hold and never after the new sailing's cut-off); the owner confirms it into a new booking
or lets it lapse. Each candidate sailing is tried inside a savepoint, so a claim that finds too
little space leaves nothing behind and the next candidate is tried.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain import hold_plan
from app.domain.errors import InsufficientCapacity, InvalidQuantity, NotFound, SailingClosed
from app.domain.hold_plan import HoldTerms
from app.domain.states import Load
from app.domain.units import from_milli
from app.inventory.repository import AnyRow
from app.reconcile import repository
from app.reservations import repository as reservations
from app.reservations.holds import new_placement, place_with_room
from app.reservations.repository import BookingRow
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
    rt: Runtime, conn: AsyncConnection, booking: BookingRow, original: AnyRow
) -> Alternative | None:
    """Hold space for ``booking`` on the next sailing after ``original`` that has it, or None."""
    now_sql = rt.clock.now_sql(rt.dialect)
    quantity = booking.quantity
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
                return await _hold_on(rt, conn, booking, candidate)
        except (InsufficientCapacity, SailingClosed, NoAlternative):
            continue
    return None


async def _hold_on(
    rt: Runtime,
    conn: AsyncConnection,
    booking: BookingRow,
    candidate: AnyRow,
) -> Alternative:
    """The same quantity on ``candidate``, quoted at its tariff, placed as any hold is."""
    load = Load(booking.load)
    terms = HoldTerms(
        load=load,
        size_type=booking.size_type,
        units=booking.units if load is Load.FCL else None,
        cbm=from_milli(booking.volume_dm3) if load is Load.LCL else None,
        kg=from_milli(booking.weight_g) if load is Load.LCL else None,
    )
    targets = await reservations.hold_targets(conn, candidate.id, load, booking.size_type, rt.clock.shift())
    try:
        # The longest hold the platform gives, to leave the owner time to decide.
        plan = hold_plan.plan_hold(
            candidate.id, terms, targets, timedelta(seconds=rt.settings.hold_ttl_max_seconds)
        )
    except (InvalidQuantity, NotFound) as error:
        raise NoAlternative(candidate.id) from error
    placement, view = new_placement(
        plan, candidate.id, booking.organisation_id, booking.placed_by_id, offered_for=booking.reference
    )
    if not await reservations.place_hold(conn, placement):
        await place_with_room(conn, placement, rt.clock.shift())
    return Alternative(
        hold_id=view.id,
        sailing_id=candidate.id,
        etd=candidate.etd,
        expires_at=view.expires_at,
        price=view.price,
    )
