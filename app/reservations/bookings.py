"""Use cases of bookings: confirm a hold, read, list, amend and cancel."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection

from app.accounts.actor import Actor
from app.carrier_requests import payload
from app.carrier_requests import repository as carrier_requests
from app.db import transaction
from app.domain import pricing
from app.domain.capacity import Quantity, check_lcl_request
from app.domain.errors import (
    InvalidRequest,
    InvalidTransition,
    NotFound,
    PoolClosed,
    PreconditionFailed,
    SailingClosed,
)
from app.domain.states import CHANGEABLE_BOOKING_STATES, BookingState, HoldState, Load, SailingStatus
from app.domain.units import from_milli, to_milli
from app.events import outbox
from app.events.idempotency import Finish
from app.inventory import repository as inventory
from app.pagination import decode_cursor, page_of
from app.reservations import repository, space
from app.reservations.holds import why_not_active
from app.reservations.repository import BookingInContext, BookingRow, CarrierSideRow
from app.reservations.schemas import BookingAmend, BookingPage, BookingView, Cargo, HoldConfirm
from app.reservations.views import booking_view, event_payload, hold_view
from app.runtime import Runtime

_REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford: no I, L, O, U


def new_reference() -> str:
    """A human booking reference such as SP-7KQ4M2XD9A (50 random bits)."""
    return "SP-" + "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(10))


async def confirm_hold(
    rt: Runtime, actor: Actor, hold_id: uuid.UUID, request: HoldConfirm, finish: Finish | None = None
) -> BookingView:
    """Turn an active, unexpired hold into a booking at the hold's quoted price."""
    async with transaction(rt.engine) as conn:
        now_sql = rt.clock.now_sql(rt.dialect)
        hold = await repository.end_hold(
            conn, hold_id, actor, to_state=HoldState.CONFIRMED, now=now_sql, unexpired=True
        )
        if hold is None:
            raise await why_not_active(conn, actor, hold_id, "confirm")
        quantity = hold.quantity
        _check_cargo_fits(quantity, request.cargo)
        _check_equipment(hold.size_type, request.cargo)
        assert hold.ended_at is not None
        now: datetime = hold.ended_at
        booking = BookingRow(
            id=uuid.uuid4(),
            reference=new_reference(),
            hold_id=hold.id,
            organisation_id=hold.organisation_id,
            placed_by_id=hold.placed_by_id,
            sailing_id=hold.sailing_id,
            allotment_id=hold.allotment_id,
            pool_id=hold.pool_id,
            load=hold.load,
            size_type=hold.size_type,
            units=hold.units,
            volume_dm3=hold.volume_dm3,
            weight_g=hold.weight_g,
            # Invariant 4: the booking is charged what its hold quoted.
            price=hold.price,
            currency=hold.currency,
            cargo=msgspec.to_builtins(request.cargo),
            parties=msgspec.to_builtins(request.parties),
            state=BookingState.CONFIRMED.value,
            version=1,
            created_at=now,
            updated_at=now,
        )
        view = booking_view(booking, _asked(now) if booking.load == Load.FCL.value else None)
        await outbox.record(
            conn,
            [
                outbox.PendingEvent(
                    "hold.confirmed", hold.id, hold.organisation_id, event_payload(hold_view(hold))
                ),
                outbox.PendingEvent(
                    "booking.confirmed", view.reference, hold.organisation_id, event_payload(view)
                ),
            ],
            now,
        )
        if finish is not None:
            await finish(conn, view)
        await _ask_carrier(conn, booking, "request", now)
        # The hot counter row last (then the booking, whose foreign key points at it): its lock
        # is held only for these two statements and the commit.
        if not await repository.book_held(conn, quantity):
            # Its pool closed while the hold was being confirmed: nothing of this is kept.
            raise PoolClosed(hold.sailing_id, hold.size_type)
        await repository.insert_booking(conn, booking)
    return view


async def _ask_carrier(conn: AsyncConnection, booking: BookingRow, operation: str, now: datetime) -> None:
    """Record the carrier request an FCL booking's change needs, in the change's transaction
    (the dispatcher sends it). LCL bookings reach the carrier in their container's master
    booking instead."""
    if booking.load != Load.FCL.value:
        return
    sailing = await carrier_requests.sailing_of(conn, booking.sailing_id)
    request = payload.booking_request(
        booking.reference, sailing.facts, booking.size_type, booking.units, booking.cargo, booking.parties
    )
    await carrier_requests.record(
        conn,
        subject_kind="booking",
        subject_id=booking.id,
        subject_reference=booking.reference,
        carrier_id=sailing.carrier_id,
        operation=operation,
        payload=payload.encode(request),
        now=now,
    )


def _asked(now: datetime) -> CarrierSideRow:
    """A new FCL booking's carrier side: its request recorded, nothing sent yet."""
    return CarrierSideRow(pending="request", requested_at=now)


def _check_equipment(size_type: str, cargo: Cargo) -> None:
    """Reefer settings only for reefer size-types (ISO 6346 type group R)."""
    reefer = len(size_type) == 4 and size_type[2] == "R"
    if cargo.reefer is not None and not reefer:
        raise InvalidRequest("cargo.reefer", f"{size_type} is not a reefer size-type")
    if cargo.non_operating_reefer and not reefer:
        raise InvalidRequest("cargo.non_operating_reefer", f"{size_type} is not a reefer size-type")


def _check_cargo_fits(space: Quantity, cargo: Cargo) -> None:
    """Declared LCL cargo cannot exceed the space paid for; amend the quantity first."""
    if space.load is not Load.LCL:
        return
    if to_milli(cargo.cbm, "cargo.cbm") > space.volume_dm3:
        raise InvalidRequest("cargo.cbm", "cargo volume exceeds the space held")
    if to_milli(cargo.gross_kg, "cargo.gross_kg") > space.weight_g:
        raise InvalidRequest("cargo.gross_kg", "cargo weight exceeds the space held")


async def get_booking(rt: Runtime, actor: Actor, reference: str) -> BookingView:
    async with transaction(rt.engine, read_only=True) as conn:
        context = await repository.get_booking(conn, reference, actor, rt.clock.now_sql(rt.dialect))
        if context is None:
            raise NotFound("booking", reference)
        booking = context.booking
        links = await repository.container_links(conn, [booking.container_id])
        sides = await repository.carrier_sides(conn, [booking])
    return booking_view(
        booking,
        sides.get(reference),
        links.get(booking.container_id) if booking.container_id else None,
    )


async def list_bookings(
    rt: Runtime,
    actor: Actor,
    *,
    state: str | None,
    sailing_id: uuid.UUID | None,
    cursor: str | None,
    limit: int,
) -> BookingPage:
    before = decode_cursor(cursor)
    async with transaction(rt.engine, read_only=True) as conn:
        rows = await repository.list_bookings(
            conn, actor, state=state, sailing_id=sailing_id, before=before, limit=limit + 1
        )
        page, next_cursor = page_of(rows, limit, lambda row: (row.created_at, row.id))
        links = await repository.container_links(conn, (row.container_id for row in page))
        sides = await repository.carrier_sides(conn, page)
    items = [
        booking_view(r, sides.get(r.reference), links.get(r.container_id) if r.container_id else None)
        for r in page
    ]
    return BookingPage(items=items, next_cursor=next_cursor)


async def amend_booking(
    rt: Runtime, actor: Actor, reference: str, if_match: int, request: BookingAmend
) -> BookingView:
    """Change quantities, cargo or parties of a live booking before cut-off.

    ``if_match`` is the version the client last saw; a booking changed since is refused (412).
    A larger quantity claims the extra space with the same conditional UPDATE as a hold.
    """
    async with transaction(rt.engine) as conn:
        context = await _changeable(rt, conn, actor, reference, "amend")
        current = context.booking
        if current.load == Load.LCL:
            # Refused whatever the version: the close itself bumped it (house bill, container).
            pool = await inventory.pool_counters(conn, current.quantity.counter_id)
            if pool.closed_at is not None:
                raise PoolClosed(current.sailing_id, current.size_type)
        if current.version != if_match:
            raise PreconditionFailed(reference)
        old = current.quantity
        new = _amended_quantity(old, request)
        if new.load is Load.LCL:
            # The same rule as a hold: an LCL shipment fits one container of its pool.
            check_lcl_request(
                new.volume_dm3, new.weight_g, pool.container_volume_dm3, pool.container_weight_g
            )
        price = _price(context, new)
        values: dict[str, Any] = {
            "units": new.units,
            "volume_dm3": new.volume_dm3,
            "weight_g": new.weight_g,
            "price": price,
            "state": BookingState.AMENDED.value,
            "updated_at": context.now,
        }
        if request.cargo is not None:
            values["cargo"] = msgspec.to_builtins(request.cargo)
        if request.parties is not None:
            values["parties"] = msgspec.to_builtins(request.parties)
        cargo = request.cargo or msgspec.convert(current.cargo, Cargo)
        _check_cargo_fits(new, cargo)
        _check_equipment(current.size_type, cargo)
        # Lock the booking first (its version), then the counter: the global lock order.
        row = await repository.update_booking(
            conn, current.id, current.version, CHANGEABLE_BOOKING_STATES, values
        )
        if row is None:
            if new.load is Load.LCL and (await inventory.pool_counters(conn, new.counter_id)).closed_at:
                raise PoolClosed(current.sailing_id, current.size_type)  # the close changed it
            raise PreconditionFailed(reference)
        # Invariant 5: a closed pool's bookings are packed; no amendment may change one after.
        # The pool's row after the booking's (the lock order): an amendment racing the close
        # waits for it, then finds the pool closed.
        if new.load is Load.LCL and not await inventory.lock_open_pool(conn, new.counter_id):
            raise PoolClosed(current.sailing_id, current.size_type)
        await _ask_carrier(conn, row, "amend", context.now)
        await _move_booked(rt, conn, current.sailing_id, new.minus(old))
        view = booking_view(row, (await repository.carrier_sides(conn, [row])).get(reference))
        await outbox.record(
            conn,
            [outbox.PendingEvent("booking.amended", reference, row.organisation_id, event_payload(view))],
            context.now,
        )
    return view


def _amended_quantity(old: Quantity, request: BookingAmend) -> Quantity:
    if old.load is Load.FCL:
        if request.cbm is not None or request.kg is not None:
            raise InvalidRequest("cbm", "an FCL booking is amended in units")
        units = request.units if request.units is not None else old.units
        return msgspec.structs.replace(old, units=units)
    if request.units is not None:
        raise InvalidRequest("units", "an LCL booking is amended in cbm and kg")
    volume = to_milli(request.cbm, "cbm") if request.cbm is not None else old.volume_dm3
    weight = to_milli(request.kg, "kg") if request.kg is not None else old.weight_g
    return msgspec.structs.replace(old, volume_dm3=volume, weight_g=weight)


def _price(context: BookingInContext, quantity: Quantity) -> Decimal:
    """The new quantity at the quote locked by the booking's hold (invariant 4)."""
    tariff = pricing.Tariff(
        rate=context.quoted_rate, currency=context.booking.currency, minimum=context.quoted_minimum
    )
    if quantity.load is Load.FCL:
        return pricing.fcl_price(tariff, quantity.units)
    return pricing.lcl_price(tariff, from_milli(quantity.volume_dm3), from_milli(quantity.weight_g))


async def _move_booked(rt: Runtime, conn: AsyncConnection, sailing_id: uuid.UUID, delta: Quantity) -> None:
    """Apply a change of booked quantity: growth only if free (making room as a hold does),
    shrinkage always."""
    growth = delta.growth()
    shrinkage = growth.minus(delta)
    if not growth.is_zero and not await repository.claim(conn, growth, "booked"):
        await space.make_room(conn, growth, rt.clock.shift())
        if not await repository.claim(conn, growth, "booked"):
            raise await space.refusal(conn, sailing_id, growth)
    if not shrinkage.is_zero:
        await repository.give_back(conn, [shrinkage], "booked")


async def cancel_booking(
    rt: Runtime, actor: Actor, reference: str, finish: Finish | None = None
) -> BookingView:
    """Cancel a live booking before cut-off and give its space back."""
    async with transaction(rt.engine) as conn:
        context = await _changeable(rt, conn, actor, reference, "cancel")
        current = context.booking
        row = await repository.update_booking(
            conn,
            current.id,
            current.version,
            CHANGEABLE_BOOKING_STATES,
            {"state": BookingState.CANCELLED.value, "updated_at": context.now},
        )
        if row is None:
            # Changed between our read and our update: read again and decide on fresh state.
            raise InvalidTransition("booking", reference, "changing", "cancel")
        await _ask_carrier(conn, row, "cancel", context.now)
        await repository.give_back(conn, [row.quantity], "booked")
        view = booking_view(row, (await repository.carrier_sides(conn, [row])).get(reference))
        await outbox.record(
            conn,
            [outbox.PendingEvent("booking.cancelled", reference, row.organisation_id, event_payload(view))],
            context.now,
        )
        if finish is not None:
            await finish(conn, view)
    return view


async def _changeable(
    rt: Runtime, conn: AsyncConnection, actor: Actor, reference: str, action: str
) -> BookingInContext:
    context = await repository.get_booking(conn, reference, actor, rt.clock.now_sql(rt.dialect))
    if context is None:
        raise NotFound("booking", reference)
    current = context.booking
    if current.state not in CHANGEABLE_BOOKING_STATES:
        raise InvalidTransition("booking", reference, current.state, action)
    if context.sailing_status != SailingStatus.OPEN or context.now >= context.cut_off:
        raise SailingClosed(current.sailing_id, "past its cut-off")
    return context
