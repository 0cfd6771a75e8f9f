"""A release stays released: units given back to a carrier never come back with the next sync,
whichever replica syncs and after a restart, until the carrier makes a new allocation dated
after the release."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import msgspec
from fake_dcsa import FakeDcsaState
from sqlalchemy import update

from app.accounts.actor import OrgKind
from app.clock import Clock
from app.db import create_engine, transaction
from app.inventory.repository import carriers
from app.jobs import scheduler
from app.reservations.invariants import check_invariants
from app.runtime import Runtime
from app.sync.service import sync_all
from carriers.base import ReleaseReceipt, ScheduleQuery, UnitRelease
from carriers.simulated import build_simulated
from tests.factories import make_account
from tests.reconcile.reconcile_world import allotment, fcl_booking
from tests.sync.dcsa_sync_world import connect, dcsa_carrier, six_sailings, with_settings
from tests.sync.sync_world import (
    add_carrier,
    fast_registry,
    offer,
    recorded_changes,
    scripted_carrier,
    stored_sailings,
)


@asynccontextmanager
async def restarted(rt: Runtime) -> AsyncIterator[Runtime]:
    """Another process on the same database: its own engine, clock and carrier adapters (the
    clock reads the same time: the test moved the first one's forward)."""
    clock = Clock(rt.clock.offset_seconds)
    other = Runtime(
        settings=rt.settings, engine=create_engine(rt.settings), clock=clock, carriers=fast_registry()
    )
    try:
        yield other
    finally:
        await other.carriers.aclose()
        await other.engine.dispose()


async def totals(rt: Runtime, scac: str) -> dict[str, int]:
    return {v: s.allotments["42G1"].units_total for v, s in (await stored_sailings(rt, scac)).items()}


def raised(changes: list[Any]) -> list[str]:
    return [voyage for kind, voyage, _, _ in changes if kind == "allotment.raised"]


async def test_a_simulated_carrier_keeps_released_units_released_across_restarts_and_replicas(
    runtime: Runtime,
) -> None:
    rt = dataclasses.replace(runtime, carriers=fast_registry())
    voyage = await second_voyage(rt)
    # The 7th sync of this carrier brings a new allocation of 12 x 42G1 on one voyage.
    script = [{"at_sync": 7, "voyage": voyage, "allocate": 12, "size_type": "42G1"}]
    await add_carrier(rt, "SIMR", seed=4, lanes=["CNSHA-USLAX"], weeks=2, script=script)
    await set_release_deadline(rt, "SIMR", days=60)  # every sailing is past its release deadline
    shipper = await make_account(rt, OrgKind.SHIPPER)
    await sync_all(rt, rt.carriers)  # sync 1
    sailing_id = (await stored_sailings(rt, "SIMR"))[voyage].id
    await fcl_booking(rt, shipper, sailing_id, 2)

    report = await scheduler.release_unused_allotment(rt)

    assert report.released > 0
    released = await totals(rt, "SIMR")
    assert released[voyage] == 2  # the booked units stay, the rest went back
    await sync_all(rt, rt.carriers)  # 2
    await sync_all(rt, rt.carriers)  # 3
    assert await totals(rt, "SIMR") == released
    async with restarted(rt) as after_restart:
        await sync_all(after_restart, after_restart.carriers)  # 4
        assert await totals(rt, "SIMR") == released
        async with restarted(rt) as replica:
            await asyncio.gather(  # 5 and 6, at once
                sync_all(after_restart, after_restart.carriers), sync_all(replica, replica.carriers)
            )
            assert await totals(rt, "SIMR") == released
            assert raised(await recorded_changes(rt, "SIMR")) == []

            await sync_all(replica, replica.carriers)  # 7: the carrier allocates anew

    assert (await totals(rt, "SIMR"))[voyage] == 12
    assert raised(await recorded_changes(rt, "SIMR")) == [voyage]
    assert await check_invariants(rt) == []


async def second_voyage(rt: Runtime) -> str:
    """The second voyage a simulated carrier SIMR (seed 4) offers, found without storing it."""
    settings = {"seed": 4, "lanes": ["CNSHA-USLAX"], "weeks": 2}
    answer = await build_simulated("SIMR", settings, clock=rt.clock.app_now).schedules(ScheduleQuery())
    return answer.offers[1].voyage_number


async def set_release_deadline(rt: Runtime, scac: str, *, days: int) -> None:
    async with transaction(rt.engine) as conn:
        await conn.execute(update(carriers).where(carriers.c.scac == scac).values(release_deadline_days=days))


async def test_a_dcsa_carrier_keeps_released_units_released_after_a_restart(runtime: Runtime) -> None:
    rt = with_settings(runtime)
    state = FakeDcsaState(six_sailings(first_in_days=9))
    settings = await dcsa_carrier(rt, state)
    await set_release_deadline(rt, "DCSA", days=10)  # the first sailing only is due
    shipper = await make_account(rt, OrgKind.SHIPPER)
    await sync_all(rt, rt.carriers)
    first = six_sailings(first_in_days=9)[0].voyage_number
    await fcl_booking(rt, shipper, (await stored_sailings(rt, "DCSA"))[first].id, 3)

    await scheduler.release_unused_allotment(rt)

    released = await totals(rt, "DCSA")
    assert released[first] == 3
    assert set(released.values()) == {3, 10}
    async with restarted(rt) as after_restart:
        connect(after_restart, state, after_restart.carriers, settings)
        for _ in range(2):
            report = await sync_all(after_restart, after_restart.carriers)
            assert report.carriers[0].status == "ok"
        assert await totals(rt, "DCSA") == released
    assert raised(await recorded_changes(rt, "DCSA")) == []
    assert state.violations == []


async def test_a_carrier_that_forgets_a_release_does_not_sell_the_units_again_until_it_allocates_anew(
    runtime: Runtime,
) -> None:
    rt = dataclasses.replace(runtime, carriers=fast_registry())
    carrier = await scripted_carrier(rt, rt.carriers, "FRGT", [offer("FRGT", "001E", days=5, units=10)])
    await set_release_deadline(rt, "FRGT", days=7)
    shipper = await make_account(rt, OrgKind.SHIPPER)
    await sync_all(rt, rt.carriers)
    sailing_id = (await stored_sailings(rt, "FRGT"))["001E"].id
    await fcl_booking(rt, shipper, sailing_id, 4)
    carrier.release_units = remembering_release  # type: ignore[method-assign]
    await scheduler.release_unused_allotment(rt)
    assert (await allotment(rt, sailing_id)).units_total == 4

    # The carrier keeps reporting its old, undated allocation of 10.
    await sync_all(rt, rt.carriers)
    await sync_all(rt, rt.carriers)
    assert (await allotment(rt, sailing_id)).units_total == 4

    # Then it allocates 8 anew, dated after the release: that is sold again.
    rt.clock.advance(60)
    fresh = offer("FRGT", "001E", days=5, units=8)
    dated = [msgspec.structs.replace(a, allocated_at=rt.clock.app_now()) for a in fresh.allocations]
    carrier.sailings = [msgspec.structs.replace(carrier.sailings[0], allocations=dated)]
    await sync_all(rt, rt.carriers)

    assert (await allotment(rt, sailing_id)).units_total == 8
    assert await check_invariants(rt) == []


async def remembering_release(release: UnitRelease) -> ReleaseReceipt:
    """A carrier that takes the units back, and forgets it when it reports its allocation."""
    return ReleaseReceipt(release_id=release.release_id, units_released=release.units)
