"""Random sequences of holds, confirmations, amendments, cancellations and clock jumps keep every
reservation invariant, and the sailing's advertised free space always matches a model of our own.

Hypothesis drives the reservation services directly (no HTTP) with the world's actors. The machine
runs in a worker thread and hands each call to the test's event loop, where the engine's
connections live. After every step ``check_invariants`` must find nothing, and the database must
agree with the model: counters seen through ``get_sailing``, the state of every hold, and the
state, version and quantity of every booking.

The model predicts each outcome, errors included: a domain error is a legal answer, but only the
one the rules call for; any other exception fails the test. Time moves in steps of 600 s while
every hold's expiry and the cut-off fall on 300 s past a step, so wall time spent by the test
itself (well under 300 s) can never make an expiry ambiguous.
"""

from __future__ import annotations

import asyncio
import copy
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any, ClassVar, TypeVar

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from app.db import transaction
from app.domain import pricing
from app.domain.errors import (
    DomainError,
    HoldExpired,
    InsufficientCapacity,
    InvalidQuantity,
    InvalidRequest,
    InvalidTransition,
    NotFound,
    PreconditionFailed,
    SailingClosed,
)
from app.domain.states import Load
from app.domain.units import from_milli
from app.inventory import service as inventory
from app.reservations import bookings as booking_service
from app.reservations import holds as hold_service
from app.reservations.invariants import check_invariants
from app.reservations.repository import bookings as booking_rows
from app.reservations.repository import holds as hold_rows
from app.reservations.schemas import BookingAmend, Cargo, HoldConfirm, HoldCreate, Parties, Party
from app.runtime import Runtime
from tests.factories import Account, World, make_sailing

T = TypeVar("T")

STEP_S = 600
# Expiries and the cut-off sit 300 s off the clock's steps (see the module docstring).
TTLS_S = (300, 900, 1500)
TTL_ABOVE_MAX_S = 2100
CUT_OFF_S = 36 * STEP_S + 300
# Jumps in steps of 600 s: mostly past some TTLs, sometimes past the cut-off in one go.
JUMPS = (1, 1, 1, 2, 2, 3, 6, 37)
UNITS = 6
RATE = Decimal("1500.00")
# Small containers, so that LCL holds often make the pool draw from the allotment.
CONTAINER_DM3 = 10_000
CONTAINER_G = 8_000_000
LCL_TARIFF = pricing.Tariff(rate=Decimal("80.00"), currency="USD", minimum=Decimal("120.00"))

# Now and then the call comes from an organisation that may not see the hold or booking.
STRANGER = st.sampled_from([False] * 7 + [True])
# Quarters of the held space declared as cargo on confirmation; five is more than was held.
CARGO_QUARTERS = st.sampled_from([4, 4, 3, 1, 5])

PARTIES = Parties(shipper=Party(name="Exporter Ltd"), consignee=Party(name="Importer Inc"))


def cargo(volume_dm3: int, weight_g: int) -> Cargo:
    return Cargo(
        description="Wooden furniture",
        hs_code="940360",
        packages=10,
        gross_kg=from_milli(weight_g),
        cbm=from_milli(volume_dm3),
    )


# --- the model ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Space:
    """Units of the allotment (FCL) or dm3 and grams of the pool (LCL)."""

    load: Load
    units: int = 0
    volume_dm3: int = 0
    weight_g: int = 0

    def price(self) -> Decimal:
        if self.load is Load.FCL:
            return pricing.fcl_price(pricing.Tariff(rate=RATE, currency="USD"), self.units)
        return pricing.lcl_price(LCL_TARIFF, from_milli(self.volume_dm3), from_milli(self.weight_g))


@dataclass
class ModelHold:
    id: uuid.UUID
    space: Space
    expires_at: int
    holder: str
    state: str = "active"


@dataclass
class ModelBooking:
    reference: str
    space: Space
    holder: str
    cargo_dm3: int
    cargo_g: int
    version: int = 1
    state: str = "confirmed"


@dataclass
class Ledger:
    """What the sailing's counters must be, from the outcomes the model predicts."""

    now: int = 0
    units_held: int = 0
    units_booked: int = 0
    units_pooled: int = 0
    containers: int = 0
    volume_held: int = 0
    weight_held: int = 0
    volume_booked: int = 0
    weight_booked: int = 0
    holds: dict[uuid.UUID, ModelHold] = field(default_factory=dict)
    bookings: dict[str, ModelBooking] = field(default_factory=dict)

    @property
    def closed(self) -> bool:
        return self.now >= CUT_OFF_S

    @property
    def units_free(self) -> int:
        return UNITS - self.units_held - self.units_booked - self.units_pooled

    @property
    def volume_free(self) -> int:
        return self.containers * CONTAINER_DM3 - self.volume_held - self.volume_booked

    @property
    def weight_free(self) -> int:
        return self.containers * CONTAINER_G - self.weight_held - self.weight_booked

    def overdue(self, hold: ModelHold) -> bool:
        return hold.state == "active" and self.now >= hold.expires_at

    def move(self, space: Space, stage: str, sign: int) -> None:
        if space.load is Load.FCL:
            name = f"units_{stage}"
            setattr(self, name, getattr(self, name) + sign * space.units)
            return
        for dim, amount in (("volume", space.volume_dm3), ("weight", space.weight_g)):
            name = f"{dim}_{stage}"
            setattr(self, name, getattr(self, name) + sign * amount)

    def fits(self, space: Space) -> bool:
        if space.load is Load.FCL:
            return self.units_free >= space.units
        return self.volume_free >= space.volume_dm3 and self.weight_free >= space.weight_g

    def reclaim(self, load: Load) -> int:
        """Lazy reclaim as the service does it: the overdue holds of one load on the counter
        (FCL on the allotment, LCL in the pool). Returns how many."""
        reclaimed = 0
        for hold in self.holds.values():
            if self.overdue(hold) and hold.space.load is load:
                hold.state = "expired"
                self.move(hold.space, "held", -1)
                reclaimed += 1
        return reclaimed

    def claim(self, space: Space, stage: str) -> bool:
        """Conditional claim, then reclaim and retry, then (LCL) draw a container and retry.

        A refusal leaves everything as it was: the service's transaction rolls back.
        """
        if self.fits(space):
            self.move(space, stage, +1)
            return True
        before = copy.deepcopy(self.__dict__)
        if self.reclaim(space.load):
            event("claim reclaimed overdue holds")
        if not self.fits(space) and space.load is Load.LCL:
            if self.units_free < 1 and self.reclaim(Load.FCL):
                event("claim reclaimed the allotment's overdue holds to draw")
            if self.units_free >= 1:
                event("claim drew a container into the pool")
                self.units_pooled += 1
                self.containers += 1
        if self.fits(space):
            self.move(space, stage, +1)
            return True
        self.__dict__.update(before)
        return False


# --- the machine ----------------------------------------------------------------------------


class ReservationMachine(RuleBasedStateMachine):
    """Bound to one runtime, world and event loop by :func:`bound_machine`."""

    rt: ClassVar[Runtime]
    world: ClassVar[World]
    loop: ClassVar[asyncio.AbstractEventLoop]

    holds = Bundle("holds")
    bookings = Bundle("bookings")

    def __init__(self) -> None:
        super().__init__()
        # The database outlives examples: start each on a fresh sailing with the clock at zero.
        self.rt.clock.offset_seconds = 0.0
        self.ledger = Ledger()
        sailing = self.run(
            make_sailing(
                self.rt,
                units=UNITS,
                rate=RATE,
                pool_usable_cbm=from_milli(CONTAINER_DM3),
                pool_payload_kg=from_milli(CONTAINER_G),
                cut_off_in=timedelta(seconds=CUT_OFF_S),
            )
        )
        self.sailing_id = sailing.id

    # The holders: two shippers, and a marketplace acting for one of its shippers.
    def account(self, holder: str, stranger: bool = False) -> Account:
        if stranger:
            return self.world.other_shipper if holder == "shipper" else self.world.shipper
        return {
            "shipper": self.world.shipper,
            "other_shipper": self.world.other_shipper,
            "market": self.world.marketplace,
        }[holder]

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=120)

    def attempt(self, coroutine: Coroutine[Any, Any, T], expected: type[DomainError] | None) -> T | None:
        """Run a service call; a domain error must be exactly the one expected, others fail."""
        # Hypothesis events: counts of each outcome, to measure what the histories exercise.
        event(f"{getattr(coroutine, '__name__', 'call')}: {'ok' if expected is None else expected.__name__}")
        outcome: T | DomainError
        try:
            outcome = self.run(coroutine)
        except DomainError as error:
            outcome = error
        if isinstance(outcome, DomainError):
            assert type(outcome) is expected, f"expected {expected}, got {outcome!r}: {outcome.detail}"
            return None
        assert expected is None, f"expected {expected.__name__}, the call succeeded"
        return outcome

    # --- holds ------------------------------------------------------------------------------

    def place(self, holder: str, space: Space, ttl: int) -> Any:
        ledger = self.ledger
        too_big = space.volume_dm3 > CONTAINER_DM3 or space.weight_g > CONTAINER_G
        expected: type[DomainError] | None = None
        if ttl > self.rt.settings.hold_ttl_max_seconds:
            expected = InvalidRequest
        elif too_big:
            expected = InvalidQuantity
        elif ledger.closed:
            expected = SailingClosed
        elif not ledger.claim(space, "held"):
            expected = InsufficientCapacity
        request = HoldCreate(
            sailing_id=self.sailing_id,
            load=space.load,
            size_type="42G1" if space.load is Load.FCL else None,
            units=space.units if space.load is Load.FCL else None,
            cbm=from_milli(space.volume_dm3) if space.load is Load.LCL else None,
            kg=from_milli(space.weight_g) if space.load is Load.LCL else None,
            ttl_seconds=ttl,
            on_behalf_of=self.world.market_shipper.organisation_id if holder == "market" else None,
        )
        view = self.attempt(hold_service.place_hold(self.rt, self.account(holder).actor, request), expected)
        if view is None:
            return multiple()
        assert view.state == "active"
        assert view.price.amount == space.price()
        expires_at = min(ledger.now + ttl, CUT_OFF_S)
        ledger.holds[view.id] = ModelHold(id=view.id, space=space, expires_at=expires_at, holder=holder)
        return view.id

    @rule(
        target=holds,
        holder=st.sampled_from(["shipper", "other_shipper", "market"]),
        units=st.integers(1, UNITS + 2),
        ttl=st.sampled_from([*TTLS_S, *TTLS_S, TTL_ABOVE_MAX_S]),
    )
    def place_fcl_hold(self, holder: str, units: int, ttl: int) -> Any:
        return self.place(holder, Space(Load.FCL, units=units), ttl)

    @rule(
        target=holds,
        holder=st.sampled_from(["shipper", "other_shipper", "market"]),
        volume_dm3=st.integers(1, CONTAINER_DM3 + 1_000),
        weight_g=st.integers(1, CONTAINER_G + 500_000),
        ttl=st.sampled_from(TTLS_S),
    )
    def place_lcl_hold(self, holder: str, volume_dm3: int, weight_g: int, ttl: int) -> Any:
        return self.place(holder, Space(Load.LCL, volume_dm3=volume_dm3, weight_g=weight_g), ttl)

    @rule(hold_id=holds, stranger=STRANGER)
    def release_hold(self, hold_id: uuid.UUID, stranger: bool) -> None:
        hold = self.ledger.holds[hold_id]
        expected: type[DomainError] | None = None
        if stranger:
            expected = NotFound
        elif hold.state in ("confirmed", "expired"):
            expected = InvalidTransition
        elif hold.state == "active":
            # Even an overdue hold not yet reclaimed is released, and gives its space back.
            hold.state = "released"
            self.ledger.move(hold.space, "held", -1)
        actor = self.account(hold.holder, stranger).actor
        view = self.attempt(hold_service.release_hold(self.rt, actor, hold_id), expected)
        if view is not None:
            assert view.state == "released"

    @rule(target=bookings, hold_id=holds, stranger=STRANGER, quarters=CARGO_QUARTERS)
    def confirm_hold(self, hold_id: uuid.UUID, stranger: bool, quarters: int) -> Any:
        """Any hold, whatever its state: most end in a refusal."""
        return self.confirm(hold_id, stranger, quarters)

    @precondition(lambda self: any(h.state == "active" for h in self.ledger.holds.values()))
    @rule(target=bookings, data=st.data(), quarters=CARGO_QUARTERS)
    def confirm_active_hold(self, data: st.DataObject, quarters: int) -> Any:
        """An active hold (perhaps overdue), so that bookings are common enough to amend."""
        # In the order they were placed: ids are random, and Hypothesis needs the same choice
        # to pick the same hold when it replays a history.
        active = [h.id for h in self.ledger.holds.values() if h.state == "active"]
        return self.confirm(data.draw(st.sampled_from(active), label="hold_id"), False, quarters)

    def confirm(self, hold_id: uuid.UUID, stranger: bool, quarters: int) -> Any:
        ledger, hold = self.ledger, self.ledger.holds[hold_id]
        space = hold.space
        if space.load is Load.LCL:
            declared = (max(1, space.volume_dm3 * quarters // 4), max(1, space.weight_g * quarters // 4))
            oversize = declared[0] > space.volume_dm3 or declared[1] > space.weight_g
        else:
            declared, oversize = (20_000 * quarters, 5_000_000 * quarters), False
        expected: type[DomainError] | None = None
        if stranger:
            expected = NotFound
        elif hold.state == "expired" or ledger.overdue(hold):
            expected = HoldExpired
        elif hold.state != "active":
            expected = InvalidTransition
        elif oversize:
            expected = InvalidRequest
        actor = self.account(hold.holder, stranger).actor
        request = HoldConfirm(cargo=cargo(*declared), parties=PARTIES)
        view = self.attempt(booking_service.confirm_hold(self.rt, actor, hold_id, request), expected)
        if view is None:
            return multiple()
        hold.state = "confirmed"
        ledger.move(space, "held", -1)
        ledger.move(space, "booked", +1)
        assert view.price.amount == space.price(), "invariant 4: charged the quoted price"
        assert view.version == 1
        ledger.bookings[view.reference] = ModelBooking(
            reference=view.reference,
            space=space,
            holder=hold.holder,
            cargo_dm3=declared[0],
            cargo_g=declared[1],
        )
        return view.reference

    # --- bookings ---------------------------------------------------------------------------

    def changeable(self, booking: ModelBooking, stranger: bool) -> type[DomainError] | None:
        """Why a booking may not be amended or cancelled now, in the order the service asks."""
        if stranger:
            return NotFound
        if booking.state not in ("confirmed", "amended"):
            return InvalidTransition
        if self.ledger.closed:
            return SailingClosed
        return None

    @rule(
        reference=bookings,
        units=st.integers(1, UNITS + 1),
        volume_dm3=st.one_of(st.none(), st.integers(1, CONTAINER_DM3)),
        weight_g=st.one_of(st.none(), st.integers(1, CONTAINER_G)),
        new_cargo=st.booleans(),
        stale=st.sampled_from([False, False, False, True]),
        stranger=STRANGER,
    )
    def amend_booking(
        self,
        reference: str,
        units: int,
        volume_dm3: int | None,
        weight_g: int | None,
        new_cargo: bool,
        stale: bool,
        stranger: bool,
    ) -> None:
        booking = self.ledger.bookings[reference]
        old = booking.space
        if old.load is Load.FCL:
            new = Space(Load.FCL, units=units)
            request = BookingAmend(units=units)
        else:
            new = Space(
                Load.LCL,
                volume_dm3=old.volume_dm3 if volume_dm3 is None else volume_dm3,
                weight_g=old.weight_g if weight_g is None else weight_g,
            )
            request = BookingAmend(
                cbm=None if volume_dm3 is None else from_milli(volume_dm3),
                kg=None if weight_g is None else from_milli(weight_g),
            )
        declared = (booking.cargo_dm3, booking.cargo_g)
        if new_cargo:
            declared = (max(1, new.volume_dm3 // 2), max(1, new.weight_g // 2))
            request.cargo = cargo(*declared)
        if_match = booking.version + 1 if stale else booking.version
        expected = self.changeable(booking, stranger)
        if expected is None and stale:
            expected = PreconditionFailed
        beyond_container = new.volume_dm3 > CONTAINER_DM3 or new.weight_g > CONTAINER_G
        if expected is None and new.load is Load.LCL and beyond_container:
            expected = InvalidQuantity
        cargo_too_big = declared[0] > new.volume_dm3 or declared[1] > new.weight_g
        if expected is None and new.load is Load.LCL and cargo_too_big:
            expected = InvalidRequest
        if expected is None and not self.move_booked(old, new):
            expected = InsufficientCapacity
        actor = self.account(booking.holder, stranger).actor
        view = self.attempt(
            booking_service.amend_booking(self.rt, actor, reference, if_match, request), expected
        )
        if view is None:
            return
        booking.space, booking.version, booking.state = new, booking.version + 1, "amended"
        booking.cargo_dm3, booking.cargo_g = declared
        assert view.version == booking.version
        assert view.price.amount == new.price(), "invariant 4: amended at the hold's quote"

    def move_booked(self, old: Space, new: Space) -> bool:
        """Growth is claimed like a hold (reclaim, draw); shrinkage is given back."""
        growth = Space(
            old.load,
            units=max(new.units - old.units, 0),
            volume_dm3=max(new.volume_dm3 - old.volume_dm3, 0),
            weight_g=max(new.weight_g - old.weight_g, 0),
        )
        shrink = Space(
            old.load,
            units=max(old.units - new.units, 0),
            volume_dm3=max(old.volume_dm3 - new.volume_dm3, 0),
            weight_g=max(old.weight_g - new.weight_g, 0),
        )
        if (growth.units or growth.volume_dm3 or growth.weight_g) and not self.ledger.claim(growth, "booked"):
            return False
        self.ledger.move(shrink, "booked", -1)
        return True

    @rule(reference=bookings, stranger=STRANGER)
    def cancel_booking(self, reference: str, stranger: bool) -> None:
        booking = self.ledger.bookings[reference]
        expected = self.changeable(booking, stranger)
        actor = self.account(booking.holder, stranger).actor
        view = self.attempt(booking_service.cancel_booking(self.rt, actor, reference), expected)
        if view is None:
            return
        booking.state, booking.version = "cancelled", booking.version + 1
        self.ledger.move(booking.space, "booked", -1)
        assert view.state == "cancelled"

    # --- time -------------------------------------------------------------------------------

    @rule(steps=st.sampled_from(JUMPS))
    def clock_jumps(self, steps: int) -> None:
        self.rt.clock.advance(steps * STEP_S)
        self.ledger.now += steps * STEP_S

    # --- what must always hold --------------------------------------------------------------

    @invariant()
    def invariants_hold(self) -> None:
        assert self.run(check_invariants(self.rt)) == []

    @invariant()
    def advertised_space_matches_the_model(self) -> None:
        view = self.run(inventory.get_sailing(self.rt, self.sailing_id))
        ledger = self.ledger
        (fcl,) = view.fcl
        (lcl,) = view.lcl
        drawable = max(ledger.units_free, 0)
        assert (fcl.units_total, fcl.units_free) == (UNITS, ledger.units_free)
        assert lcl.cbm_free == from_milli(ledger.volume_free + drawable * CONTAINER_DM3)
        assert lcl.kg_free == from_milli(ledger.weight_free + drawable * CONTAINER_G)

    @invariant()
    def rows_match_the_model(self) -> None:
        holds, bookings = self.run(self.rows())
        assert holds == {h.id: h.state for h in self.ledger.holds.values()}
        assert bookings == {
            b.reference: (b.state, b.version, b.space.units, b.space.volume_dm3, b.space.weight_g)
            for b in self.ledger.bookings.values()
        }

    async def rows(self) -> tuple[dict[uuid.UUID, str], dict[str, tuple[Any, ...]]]:
        h, b = hold_rows, booking_rows
        async with transaction(self.rt.engine, read_only=True) as conn:
            holds = await conn.execute(select(h.c.id, h.c.state).where(h.c.sailing_id == self.sailing_id))
            bookings = await conn.execute(
                select(b.c.reference, b.c.state, b.c.version, b.c.units, b.c.volume_dm3, b.c.weight_g).where(
                    b.c.sailing_id == self.sailing_id
                )
            )
            return (
                {row.id: row.state for row in holds},
                {row.reference: tuple(row[1:]) for row in bookings},
            )


def bound_machine(rt: Runtime, world: World, loop: asyncio.AbstractEventLoop) -> type[ReservationMachine]:
    return type("ReservationMachine", (ReservationMachine,), {"rt": rt, "world": world, "loop": loop})


MACHINE_SETTINGS = settings(
    max_examples=25,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.mark.slow
async def test_random_reservation_histories_keep_every_invariant(runtime: Runtime, world: World) -> None:
    """Runs on both backends through the ``database_url`` parameter behind ``runtime``."""
    machine = bound_machine(runtime, world, asyncio.get_running_loop())
    # The machine blocks its thread on each call; the loop stays free to run the calls.
    await asyncio.to_thread(run_state_machine_as_test, machine, settings=MACHINE_SETTINGS)


# --- bugs the machine found, kept as minimal reproductions -----------------------------------


async def small_pool_sailing(rt: Runtime, units: int) -> uuid.UUID:
    sailing = await make_sailing(
        rt,
        units=units,
        pool_usable_cbm=from_milli(CONTAINER_DM3),
        pool_payload_kg=from_milli(CONTAINER_G),
    )
    return sailing.id


async def test_overdue_fcl_hold_does_not_stop_the_pool_drawing_a_container(
    runtime: Runtime, world: World
) -> None:
    sailing_id = await small_pool_sailing(runtime, units=1)
    actor = world.shipper.actor
    fcl = HoldCreate(sailing_id=sailing_id, load=Load.FCL, size_type="42G1", units=1, ttl_seconds=300)
    await hold_service.place_hold(runtime, actor, fcl)
    runtime.clock.advance(STEP_S)

    lcl = HoldCreate(sailing_id=sailing_id, load=Load.LCL, cbm=Decimal("1"), kg=Decimal("100"))
    hold = await hold_service.place_hold(runtime, actor, lcl)

    assert hold.state == "active"
    assert await check_invariants(runtime) == []


async def test_lcl_booking_cannot_be_amended_beyond_one_container(runtime: Runtime, world: World) -> None:
    sailing_id = await small_pool_sailing(runtime, units=3)
    actor = world.shipper.actor
    lcl = HoldCreate(sailing_id=sailing_id, load=Load.LCL, cbm=Decimal("5"), kg=Decimal("500"))
    hold = await hold_service.place_hold(runtime, actor, lcl)
    booking = await booking_service.confirm_hold(
        runtime, actor, hold.id, HoldConfirm(cargo=cargo(1_000, 100_000), parties=PARTIES)
    )

    too_big = BookingAmend(cbm=from_milli(CONTAINER_DM3 + 5_000))
    with pytest.raises(InvalidQuantity):
        await booking_service.amend_booking(runtime, actor, booking.reference, booking.version, too_big)
