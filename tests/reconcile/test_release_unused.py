"""Unused allotment goes back to the carrier at its release deadline, exactly once, even when
the carrier's first answer is lost and the call is retried on the next run."""

from __future__ import annotations

from sqlalchemy import select

from app.accounts.actor import OrgKind
from app.db import transaction
from app.jobs import scheduler
from app.jobs.expire_holds import expire_overdue_holds
from app.reconcile.repository import releases
from app.reconcile.schemas import ReleaseReport
from app.reservations.invariants import check_invariants
from app.runtime import Runtime
from app.sync.repository import offers
from carriers.base import ReleaseReceipt, RetryableCarrierError, UnitRelease
from tests.factories import make_account
from tests.reconcile.reconcile_world import SCAC, allotment, events_of, fcl_booking, fcl_hold, make_lane
from tests.sync.sync_world import ScriptedCarrier


class ReleasingCarrier(ScriptedCarrier):
    """Takes every release the first time it sees its id but loses that answer (a timeout
    after the fact); answers the same receipt for the same id ever after."""

    def __init__(self, carrier: ScriptedCarrier) -> None:
        super().__init__(carrier.scac, carrier.kind, carrier.sailings)
        self.calls: list[str] = []
        self.taken: dict[str, int] = {}

    async def release_units(self, release: UnitRelease) -> ReleaseReceipt:
        self.calls.append(release.release_id)
        if release.release_id not in self.taken:
            self.taken[release.release_id] = release.units
            raise RetryableCarrierError(self.scac, "timed out (the release was taken)")
        return ReleaseReceipt(release_id=release.release_id, units_released=self.taken[release.release_id])


async def test_unsold_units_are_released_once_at_the_deadline_though_the_first_answer_is_lost(
    runtime: Runtime,
) -> None:
    # Only the lane's sailings here (the world's sailing would be due too, at an unknown carrier).
    shipper = await make_account(runtime, OrgKind.SHIPPER)
    # R1 leaves in 5 days: 8 days ahead was its release deadline. R2 (12 days) is not due yet.
    lane = await make_lane(runtime, release_deadline_days=8, first_in_days=5)
    carrier = ReleasingCarrier(lane.carrier)
    lane.rt.carriers.install(SCAC, "simulated", {}, carrier)
    await fcl_hold(lane.rt, shipper, lane.ids["R1"], 2)
    await fcl_booking(lane.rt, shipper, lane.ids["R1"], 3)
    r1_42 = await allotment(lane.rt, lane.ids["R1"])
    r1_22 = await allotment(lane.rt, lane.ids["R1"], "22G1")

    first = await scheduler.release_unused_allotment(lane.rt)

    assert first == ReleaseReport(recorded=2, released=0, units_released=0, failed=2)
    assert (await allotment(lane.rt, lane.ids["R1"])).units_total == 10  # nothing confirmed yet

    second = await scheduler.release_unused_allotment(lane.rt)
    third = await scheduler.release_unused_allotment(lane.rt)

    assert second == ReleaseReport(recorded=0, released=2, units_released=9, failed=0)
    assert third == ReleaseReport()
    release_ids = sorted(carrier.taken)
    assert [r.split(":")[0] for r in release_ids] == sorted([str(r1_42.id), str(r1_22.id)])
    assert sorted(carrier.calls) == sorted(release_ids * 2)  # each id twice: the lost answer, the retry
    assert sorted(carrier.taken.values()) == [4, 5]  # what was unsold when recorded
    counters = await allotment(lane.rt, lane.ids["R1"])
    assert (counters.units_total, counters.units_held, counters.units_booked) == (5, 2, 3)
    assert (await allotment(lane.rt, lane.ids["R1"], "22G1")).units_total == 0
    assert (await allotment(lane.rt, lane.ids["R2"])).units_total == 10  # not due
    async with transaction(lane.rt.engine, read_only=True) as conn:
        rows = (await conn.execute(select(releases))).all()
        offered = (
            await conn.execute(select(offers.c.units_offered).where(offers.c.allotment_id == r1_42.id))
        ).scalar()
    assert sorted((row.state, row.attempts, row.units_released) for row in rows) == [
        ("released", 1, 4),
        ("released", 1, 5),
    ]
    assert offered == 5  # the carrier's figure follows, so the next sync sees no cut
    assert len(await events_of(lane.rt, "allotment.released")) == 2
    assert await check_invariants(lane.rt) == []


async def test_nothing_is_released_before_the_deadline(runtime: Runtime) -> None:
    lane = await make_lane(runtime, release_deadline_days=7, first_in_days=20)
    carrier = ReleasingCarrier(lane.carrier)
    lane.rt.carriers.install(SCAC, "simulated", {}, carrier)

    assert await scheduler.release_unused_allotment(lane.rt) == ReleaseReport()
    assert carrier.calls == []


class PlainReleasingCarrier(ScriptedCarrier):
    """Takes every release it is asked for and answers at once; remembers each id's units."""

    def __init__(self, carrier: ScriptedCarrier) -> None:
        super().__init__(carrier.scac, carrier.kind, carrier.sailings)
        self.taken: dict[str, int] = {}

    async def release_units(self, release: UnitRelease) -> ReleaseReceipt:
        assert release.release_id not in self.taken or self.taken[release.release_id] == release.units
        self.taken[release.release_id] = release.units
        return ReleaseReceipt(release_id=release.release_id, units_released=release.units)


async def test_units_freed_after_the_deadline_are_released_by_a_later_run_once(runtime: Runtime) -> None:
    shipper = await make_account(runtime, OrgKind.SHIPPER)
    lane = await make_lane(runtime, release_deadline_days=8, first_in_days=5)
    carrier = PlainReleasingCarrier(lane.carrier)
    lane.rt.carriers.install(SCAC, "simulated", {}, carrier)
    held = await fcl_hold(lane.rt, shipper, lane.ids["R1"], 3, ttl_seconds=60)
    await fcl_booking(lane.rt, shipper, lane.ids["R1"], 2)
    r1_42 = await allotment(lane.rt, lane.ids["R1"])

    first = await scheduler.release_unused_allotment(lane.rt)
    assert first.units_released == 5 + 4  # 42G1: 10 less 3 held and 2 booked; 22G1: all 4
    assert (await allotment(lane.rt, lane.ids["R1"])).units_total == 5

    # The hold expires after the deadline: its 3 units are unsold again.
    lane.rt.clock.advance(120)
    assert await expire_overdue_holds(lane.rt, batch_size=100, budget_seconds=5) == 1
    assert held.id  # (the hold placed above is the one that expired)

    second = await scheduler.release_unused_allotment(lane.rt)
    third = await scheduler.release_unused_allotment(lane.rt)

    assert (second.recorded, second.released, second.units_released) == (1, 1, 3)
    assert third == ReleaseReport()
    counters = await allotment(lane.rt, lane.ids["R1"])
    assert (counters.units_total, counters.units_held, counters.units_booked) == (2, 0, 2)
    first_id = next(r for r in carrier.taken if r.startswith(str(r1_42.id)) and r.count(":") == 1)
    assert carrier.taken[first_id] == 5
    assert carrier.taken[f"{first_id}:2"] == 3  # a new, deterministic id for the freed units
    assert sum(units for r, units in carrier.taken.items() if r.startswith(str(r1_42.id))) == 8
    assert len(await events_of(lane.rt, "allotment.released")) == 3
    assert await check_invariants(lane.rt) == []


async def test_no_later_release_is_recorded_while_an_earlier_one_is_pending(runtime: Runtime) -> None:
    shipper = await make_account(runtime, OrgKind.SHIPPER)
    lane = await make_lane(runtime, release_deadline_days=8, first_in_days=5)
    carrier = ReleasingCarrier(lane.carrier)  # loses its first answer: the release stays pending
    lane.rt.carriers.install(SCAC, "simulated", {}, carrier)
    await fcl_hold(lane.rt, shipper, lane.ids["R1"], 3, ttl_seconds=60)

    first = await scheduler.release_unused_allotment(lane.rt)
    assert (first.recorded, first.released) == (2, 0)
    lane.rt.clock.advance(120)
    assert await expire_overdue_holds(lane.rt, batch_size=100, budget_seconds=5) == 1

    # Pending: confirmed now with the units it asked for; the freed 3 wait for the next run.
    second = await scheduler.release_unused_allotment(lane.rt)
    assert (second.recorded, second.released, second.units_released) == (0, 2, 7 + 4)
    third = await scheduler.release_unused_allotment(lane.rt)
    assert (third.recorded, third.failed) == (1, 1)
    fourth = await scheduler.release_unused_allotment(lane.rt)
    assert (fourth.recorded, fourth.released, fourth.units_released) == (0, 1, 3)
    assert (await allotment(lane.rt, lane.ids["R1"])).units_total == 0
    assert await check_invariants(lane.rt) == []
