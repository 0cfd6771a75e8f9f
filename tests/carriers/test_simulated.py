"""The simulated carrier: deterministic from its seed, scriptable for reconciliation tests."""

from __future__ import annotations

from datetime import timedelta

import pytest
from carrier_world import NOW, booking_request, frozen_now

from carriers.base import CarrierBookingStatus, PermanentCarrierError, ScheduleQuery, UnitRelease
from carriers.registry import build_adapter
from carriers.simulated import SimulatedCarrier, build_simulated
from carriers.store import MemoryCarrierStore

LANES = ["CNSHA-USLAX", "CNNGB-NLRTM", "TRIST-DEHAM"]


def carrier(**settings: object) -> SimulatedCarrier:
    return build_simulated("SIMA", {"seed": 1, "lanes": LANES, **settings}, clock=frozen_now)


async def test_same_seed_gives_the_same_sailings_and_another_seed_does_not() -> None:
    first = (await carrier().schedules(ScheduleQuery())).offers
    again = (await carrier().schedules(ScheduleQuery())).offers
    other = (
        await build_simulated("SIMA", {"seed": 2, "lanes": LANES}, clock=frozen_now).schedules(
            ScheduleQuery()
        )
    ).offers
    assert first == again
    assert first != other


async def test_sailings_start_after_now_on_every_lane_with_cut_offs_from_etd() -> None:
    offers = (await carrier(weekly_sailings=2, weeks=3).schedules(ScheduleQuery())).offers
    assert len(offers) == 3 * 2 * 3
    assert {(o.port_of_loading, o.port_of_discharge) for o in offers} == {
        tuple(lane.split("-")) for lane in LANES
    }
    for offer in offers:
        assert offer.etd > NOW
        assert offer.etd.utcoffset() == timedelta(0)
        assert offer.eta > offer.etd
        assert offer.cut_offs["DCO"] == offer.etd - timedelta(days=5)
        assert offer.cut_offs["LCO"] == offer.etd - timedelta(days=4)
        assert offer.cut_offs["FCO"] == offer.etd - timedelta(days=3)
        assert offer.cut_offs["VCO"] == offer.etd - timedelta(days=2)
        assert offer.vessel_imo is not None
        digits = [int(d) for d in offer.vessel_imo]
        assert sum(d * (7 - i) for i, d in enumerate(digits[:6])) % 10 == digits[6]


async def test_query_filters_by_lane_and_etd_window() -> None:
    sim = carrier()
    everything = (await sim.schedules(ScheduleQuery())).offers
    window_end = NOW + timedelta(days=14)
    chosen = (
        await sim.schedules(
            ScheduleQuery(origin="CNNGB", destination="NLRTM", etd_from=NOW, etd_to=window_end)
        )
    ).offers
    assert chosen
    assert chosen == [o for o in everything if o.port_of_loading == "CNNGB" and o.etd <= window_end]


async def test_script_cuts_moves_and_cancels_at_the_given_sync() -> None:
    probe = (await carrier().schedules(ScheduleQuery(origin="CNSHA"))).offers
    first, second, third = probe[0], probe[1], probe[2]
    sim = carrier(
        script=[
            {"at_sync": 2, "voyage": first.voyage_number, "cut_to": 1, "size_type": "42G1"},
            {"at_sync": 2, "voyage": second.voyage_number, "move_etd_hours": 36},
            {"at_sync": 3, "voyage": third.voyage_number, "cancel": True},
        ]
    )
    query = ScheduleQuery(origin="CNSHA")
    assert (await sim.schedules(query)).offers == probe  # sync 1: nothing yet

    sync2 = {o.voyage_number: o for o in (await sim.schedules(query)).offers}
    units = {a.size_type: a.units for a in sync2[first.voyage_number].allocations}
    assert units["42G1"] == 1
    assert units["22G1"] == {a.size_type: a.units for a in first.allocations}["22G1"]
    moved = sync2[second.voyage_number]
    assert moved.etd == second.etd + timedelta(hours=36)
    assert moved.cut_offs["FCO"] == second.cut_offs["FCO"] + timedelta(hours=36)
    assert sync2[third.voyage_number].status == "scheduled"

    sync3 = {o.voyage_number: o for o in (await sim.schedules(query)).offers}
    assert sync3[third.voyage_number].status == "cancelled"
    allocation = await sim.allocation(first.key)
    assert {a.size_type: a.units for a in allocation.allocations}["42G1"] == 1


async def test_release_with_the_same_id_releases_once() -> None:
    sim = carrier()
    offer = (await sim.schedules(ScheduleQuery())).offers[0]
    before = {a.size_type: a.units for a in offer.allocations}["22G1"]
    release = UnitRelease(release_id="rel-1", sailing=offer.key, size_type="22G1", units=2)
    assert (await sim.release_units(release)).units_released == 2
    assert (await sim.release_units(release)).units_released == 2
    after = await sim.allocation(offer.key)
    assert {a.size_type: a.units for a in after.allocations}["22G1"] == before - 2


async def test_faults_follow_the_seed() -> None:
    async def outcomes() -> list[str]:
        sim = carrier(error_rate=0.3, malformed_rate=0.2)
        seen = []
        for _ in range(30):
            try:
                await sim.schedules(ScheduleQuery())
                seen.append("ok")
            except PermanentCarrierError as exc:
                seen.append(type(exc).__name__)
            except Exception as exc:
                seen.append(type(exc).__name__)
        return seen

    first = await outcomes()
    assert first == await outcomes()
    assert {"ok", "RetryableCarrierError", "MalformedCarrierAnswer"} <= set(first)


@pytest.mark.parametrize(
    "settings",
    [
        {"lanes": ["CNSHA"]},
        {"error_rate": 2},
        {"weekly_sailings": 0},
        {"latency": "slow"},
        {"unknown_knob": 1},
        {"script": [{"at_sync": 1}]},
    ],
)
def test_bad_settings_are_a_clear_value_error(settings: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="bad"):
        build_adapter("simulated", "SIMA", settings)


def test_unknown_kind_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown carrier kind"):
        build_adapter("carrier-pigeon", "SIMA", {})


async def test_adapters_built_at_different_times_offer_the_same_sailings() -> None:
    """A restart or another replica must not see every sailing as new or moved."""
    early = build_simulated("SIMA", {"seed": 5}, clock=frozen_now)
    later = build_simulated("SIMA", {"seed": 5}, clock=lambda: NOW + timedelta(hours=7, minutes=13))

    first = {o.key: o for o in (await early.schedules(ScheduleQuery())).offers}
    second = {o.key: o for o in (await later.schedules(ScheduleQuery())).offers}

    shared = first.keys() & second.keys()
    assert len(shared) >= len(first) - 1
    assert all(first[key] == second[key] for key in shared)


async def test_the_schedule_window_moves_with_time() -> None:
    now = {"at": NOW}
    simulated = build_simulated("SIMA", {"seed": 5, "weeks": 2}, clock=lambda: now["at"])
    before = {o.key for o in (await simulated.schedules(ScheduleQuery())).offers}

    now["at"] = NOW + timedelta(weeks=3)
    after = {o.key for o in (await simulated.schedules(ScheduleQuery())).offers}

    assert after
    assert not after & before


async def test_a_restarted_or_second_simulated_carrier_shares_the_first_ones_state() -> None:
    """Syncs counted, releases, bookings and allocations live in the store, not the process."""
    store = MemoryCarrierStore()  # the app's database, in the service
    probe = (await carrier().schedules(ScheduleQuery(origin="CNSHA"))).offers[0]
    script = [{"at_sync": 2, "voyage": probe.voyage_number, "cut_to": 1, "size_type": "42G1"}]
    first = build_simulated(
        "SIMA", {"seed": 1, "lanes": LANES, "script": script}, clock=frozen_now, store=store
    )
    await first.schedules(ScheduleQuery())
    release = UnitRelease(release_id="rel-1", sailing=probe.key, size_type="22G1", units=2)
    await first.release_units(release)
    booked = await first.request_booking(booking_request(probe.key))

    second = build_simulated(
        "SIMA", {"seed": 1, "lanes": LANES, "script": script}, clock=frozen_now, store=store
    )
    answer = await second.schedules(ScheduleQuery())  # the carrier's second sync, whoever asks

    units = {a.size_type: a.units for a in next(o for o in answer.offers if o.key == probe.key).allocations}
    before = {a.size_type: a.units for a in probe.allocations}
    assert units == {**before, "42G1": 1, "22G1": before["22G1"] - 2}
    assert await second.syncs() == 2
    assert (await second.release_units(release)).units_released == 2
    assert (await second.booking_status(booked.carrier_reference)).status is CarrierBookingStatus.ACCEPTED


async def test_a_new_allocation_is_dated_and_releases_before_it_are_part_of_it() -> None:
    now = {"at": NOW}
    probe = (await carrier().schedules(ScheduleQuery(origin="CNSHA"))).offers[0]
    script = [{"at_sync": 2, "voyage": probe.voyage_number, "allocate": 12, "size_type": "42G1"}]
    sim = build_simulated("SIMA", {"seed": 1, "lanes": LANES, "script": script}, clock=lambda: now["at"])
    await sim.schedules(ScheduleQuery())
    now["at"] = NOW + timedelta(minutes=30)
    await sim.release_units(UnitRelease(release_id="before", sailing=probe.key, size_type="42G1", units=5))
    now["at"] = NOW + timedelta(hours=1)

    allocated = next(o for o in (await sim.schedules(ScheduleQuery())).offers if o.key == probe.key)
    now["at"] = NOW + timedelta(hours=2)
    await sim.release_units(UnitRelease(release_id="after", sailing=probe.key, size_type="42G1", units=3))
    later = await sim.allocation(probe.key)

    fresh = {a.size_type: a for a in allocated.allocations}["42G1"]
    assert (fresh.units, fresh.allocated_at) == (12, NOW + timedelta(hours=1))
    assert {a.size_type: a.units for a in later.allocations}["42G1"] == 12 - 3
