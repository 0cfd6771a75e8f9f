"""The carrier sync as a service: what it applies, what it only records, and how one carrier's
failure stays that carrier's."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from sqlalchemy.exc import DBAPIError

from app.reservations.invariants import check_invariants
from app.runtime import Runtime
from app.sync import service
from app.sync.service import sync_all, sync_carrier
from carriers.base import ScheduleQuery
from carriers.simulated import SimulatedCarrier, SimulatedSettings, generate_sailings
from tests.sync.sync_world import (
    ScriptedCarrier,
    add_carrier,
    change_count,
    fast_registry,
    offer,
    recorded_changes,
    scripted_carrier,
    stored_sailings,
    with_units,
)

LANE = "CNSHA-USLAX"


def kinds(report_changes: dict[str, int]) -> dict[str, int]:
    """Only the kinds that happened."""
    return {kind: n for kind, n in report_changes.items() if n}


async def test_first_sync_discovers_open_sailings_with_allotments_and_a_20ft_pool(runtime: Runtime) -> None:
    await add_carrier(runtime, "SIMA", seed=1, lanes=[LANE])
    registry = fast_registry()

    report = await sync_all(runtime, registry)

    adapter = registry.cached("SIMA")
    assert isinstance(adapter, SimulatedCarrier)
    now = datetime.now(UTC)
    offered = [o for o in (await adapter.schedules(ScheduleQuery())).offers if min(o.cut_offs.values()) > now]
    stored = await stored_sailings(runtime, "SIMA")
    assert sorted(stored) == sorted(o.voyage_number for o in offered)
    assert kinds(report.changes) == {"sailing.discovered": len(offered)}
    for o in offered:
        sailing = stored[o.voyage_number]
        assert (sailing.etd, sailing.eta, sailing.status) == (o.etd, o.eta, "open")
        assert sailing.cut_off == min(o.cut_offs.values())  # the earliest DCSA cut-off (DCO)
        assert {st: (a.units_total, a.units_offered, a.rate) for st, a in sailing.allotments.items()} == {
            a.size_type: (a.units, a.units, a.rate.quantize(Decimal("0.01"))) for a in o.allocations
        }
        rate_22 = next(a.rate for a in o.allocations if a.size_type == "22G1")
        per_tonne = (rate_22 / 20).quantize(Decimal("0.01"))
        assert sailing.pools == {"22G1": (per_tonne, per_tonne, 28_000)}
    assert report.carriers[0].status == "ok"
    assert await check_invariants(runtime) == []


async def test_second_sync_without_carrier_changes_records_nothing(runtime: Runtime) -> None:
    await add_carrier(runtime, "SIMA", seed=1, lanes=[LANE])
    await add_carrier(runtime, "SIMB", seed=2, lanes=["CNNGB-NLRTM"])
    registry = fast_registry()
    await sync_all(runtime, registry)
    before = await change_count(runtime)
    sailings_before = await stored_sailings(runtime, "SIMA")

    report = await sync_all(runtime, registry)

    assert kinds(report.changes) == {}
    assert [n.status for n in report.carriers] == ["ok", "ok"]
    assert await change_count(runtime) == before
    assert await stored_sailings(runtime, "SIMA") == sailings_before


def scripted_voyages(runtime: Runtime, seed: int) -> list[str]:
    """Voyage numbers the simulated carrier will offer (a function of the seed and the hour)."""
    start = runtime.clock.app_now().replace(minute=0, second=0, microsecond=0)
    generated = generate_sailings("SIMS", SimulatedSettings(seed=seed, lanes=[LANE]), start)
    return [key.voyage_number for key in sorted(generated, key=lambda k: generated[k].etd)]


async def test_scripted_move_cut_and_cancellation_are_recorded_once_and_only_the_move_applied(
    runtime: Runtime,
) -> None:
    voyages = scripted_voyages(runtime, seed=7)
    moved, cut, cancelled = voyages[3], voyages[4], voyages[5]
    script = [
        {"at_sync": 2, "voyage": moved, "move_etd_hours": 30},
        {"at_sync": 2, "voyage": cut, "cut_to": 2, "size_type": "42G1"},
        {"at_sync": 2, "voyage": cancelled, "cancel": True},
    ]
    await add_carrier(runtime, "SIMS", seed=7, lanes=[LANE], script=script)
    registry = fast_registry()
    await sync_carrier(runtime, registry, "SIMS")
    first = await stored_sailings(runtime, "SIMS")
    discovered = await change_count(runtime)

    report = await sync_carrier(runtime, registry, "SIMS")

    assert kinds(report.changes) == {
        "sailing.schedule_changed": 1,
        "allotment.cut": 1,
        "sailing.cancelled_by_carrier": 1,
    }
    now = await stored_sailings(runtime, "SIMS")
    shift = timedelta(hours=30)
    assert (now[moved].etd, now[moved].eta, now[moved].cut_off) == (
        first[moved].etd + shift,
        first[moved].eta + shift,
        first[moved].cut_off + shift,
    )
    # A cut is the scheduler's to carry out: the total stays, the carrier's figure is kept.
    assert now[cut].allotments["42G1"].units_total == first[cut].allotments["42G1"].units_total
    assert now[cut].allotments["42G1"].units_offered == 2
    # A cancellation is flagged, the sailing's own status is left for the scheduler.
    assert (now[cancelled].status, now[cancelled].carrier_status) == ("open", "cancelled")
    recorded = (await recorded_changes(runtime, "SIMS"))[discovered:]
    assert sorted((kind, voyage) for kind, voyage, _, _ in recorded) == sorted(
        [
            ("sailing.schedule_changed", moved),
            ("allotment.cut", cut),
            ("sailing.cancelled_by_carrier", cancelled),
        ]
    )
    cut_detail = next(detail for kind, _, _, detail in recorded if kind == "allotment.cut")
    assert cut_detail["units_offered"] == 2
    assert cut_detail["units_before"] == first[cut].allotments["42G1"].units_total

    again = await sync_carrier(runtime, registry, "SIMS")

    assert kinds(again.changes) == {}
    assert await check_invariants(runtime) == []


async def test_raise_lifts_units_total_and_a_cut_never_lowers_it(runtime: Runtime) -> None:
    registry = fast_registry()
    carrier = await scripted_carrier(runtime, registry, "FAKE", [offer("FAKE", "001E", units=10)])
    await sync_all(runtime, registry)

    carrier.sailings = [with_units(carrier.sailings[0], "42G1", 14)]
    raised = await sync_all(runtime, registry)
    carrier.sailings = [with_units(carrier.sailings[0], "42G1", 6)]
    cut = await sync_all(runtime, registry)
    carrier.sailings = [with_units(carrier.sailings[0], "42G1", 9)]
    raised_after_cut = await sync_all(runtime, registry)

    assert kinds(raised.changes) == {"allotment.raised": 1}
    assert kinds(cut.changes) == {"allotment.cut": 1}
    assert kinds(raised_after_cut.changes) == {"allotment.raised": 1}
    allotment = (await stored_sailings(runtime, "FAKE"))["001E"].allotments["42G1"]
    # 14 stays until the scheduler has carried out the cut; the carrier now says 9.
    assert (allotment.units_total, allotment.units_offered) == (14, 9)
    recorded = (await recorded_changes(runtime, "FAKE"))[1:]
    details = [(kind, d["units_before"], d["units_offered"]) for kind, _, _, d in recorded]
    assert details == [("allotment.raised", 10, 14), ("allotment.cut", 14, 6), ("allotment.raised", 6, 9)]
    assert await check_invariants(runtime) == []


async def test_a_new_size_type_offered_on_a_known_sailing_becomes_an_allotment(runtime: Runtime) -> None:
    registry = fast_registry()
    carrier = await scripted_carrier(runtime, registry, "FAKE", [offer("FAKE", "001E")])
    await sync_all(runtime, registry)
    sailing = carrier.sailings[0]
    extra = msgspec.structs.replace(sailing.allocations[1], size_type="45G1", units=3, rate=Decimal("2100"))
    carrier.sailings = [msgspec.structs.replace(sailing, allocations=[*sailing.allocations, extra])]

    report = await sync_all(runtime, registry)

    assert kinds(report.changes) == {"allotment.raised": 1}
    allotment = (await stored_sailings(runtime, "FAKE"))["001E"].allotments["45G1"]
    assert (allotment.units_total, allotment.units_offered, allotment.rate) == (3, 3, Decimal("2100.00"))


async def test_failing_carrier_is_unhealthy_while_the_others_sync(runtime: Runtime) -> None:
    await add_carrier(runtime, "SIMA", seed=1, lanes=[LANE])
    await add_carrier(runtime, "SIMX", seed=1, lanes=["TRIST-DEHAM"], error_rate=1.0)
    registry = fast_registry()

    report = await sync_all(runtime, registry)
    await sync_all(runtime, registry)

    notices = {n.scac: n for n in report.carriers}
    assert notices["SIMA"].status == "ok"
    assert notices["SIMX"].status == "error"
    assert "503" in (notices["SIMX"].detail or "")
    assert await stored_sailings(runtime, "SIMA")
    assert await stored_sailings(runtime, "SIMX") == {}
    health = {h.scac: h for h in await service.carrier_health(runtime, registry)}
    assert (health["SIMA"].health, health["SIMA"].consecutive_failures) == ("healthy", 0)
    assert health["SIMA"].last_success_at is not None
    assert (health["SIMX"].health, health["SIMX"].consecutive_failures) == ("unhealthy", 2)
    assert health["SIMX"].last_success_at is None
    assert "503" in (health["SIMX"].last_error or "")


async def test_carrier_failing_past_the_breaker_threshold_is_no_longer_called(runtime: Runtime) -> None:
    registry = fast_registry(failure_threshold=2, cool_down=3600)
    carrier = await scripted_carrier(runtime, registry, "FAKE", [offer("FAKE", "001E")])
    carrier.failing = True
    await sync_all(runtime, registry)
    await sync_all(runtime, registry)

    report = await sync_all(runtime, registry)

    assert carrier.calls == 2
    assert report.carriers[0].status == "circuit_open"
    health = (await service.carrier_health(runtime, registry))[0]
    # Skipped syncs are not counted as new failures: the count says how often it was tried.
    assert (health.health, health.consecutive_failures, health.breaker) == ("unhealthy", 2, "open")


async def test_hanging_carrier_times_out_without_holding_back_the_others(runtime: Runtime) -> None:
    registry = fast_registry(timeout=0.3)
    slow = await scripted_carrier(runtime, registry, "SLOW", [offer("SLOW", "001E")])
    await scripted_carrier(runtime, registry, "FAST", [offer("FAST", "002E")])
    slow.hanging = True

    report = await sync_all(runtime, registry)

    notices = {n.scac: n for n in report.carriers}
    assert (notices["SLOW"].status, notices["FAST"].status) == ("timeout", "ok")
    assert notices["SLOW"].elapsed_ms < 2000
    assert list(await stored_sailings(runtime, "FAST")) == ["002E"]
    health = {h.scac: h.health for h in await service.carrier_health(runtime, registry)}
    assert health == {"FAST": "healthy", "SLOW": "unhealthy"}


async def test_cancelled_sailing_listed_again_is_reinstated(runtime: Runtime) -> None:
    registry = fast_registry()
    listed = offer("FAKE", "001E")
    carrier = await scripted_carrier(runtime, registry, "FAKE", [listed])
    await sync_all(runtime, registry)
    carrier.sailings = [msgspec.structs.replace(listed, status="cancelled")]
    await sync_all(runtime, registry)
    carrier.sailings = [listed]

    report = await sync_all(runtime, registry)

    assert kinds(report.changes) == {"sailing.reinstated_by_carrier": 1}
    assert (await stored_sailings(runtime, "FAKE"))["001E"].carrier_status == "scheduled"


async def test_bad_offer_is_skipped_and_the_rest_of_the_carrier_applied(runtime: Runtime) -> None:
    registry = fast_registry()
    good = offer("FAKE", "001E")
    bad = offer("FAKE", "002E", eta=good.etd - timedelta(days=1))
    await scripted_carrier(runtime, registry, "FAKE", [bad, good])

    report = await sync_all(runtime, registry)

    notice = report.carriers[0]
    assert notice.status == "ok"
    assert len(notice.skipped) == 1
    assert "eta" in notice.skipped[0]
    assert list(await stored_sailings(runtime, "FAKE")) == ["001E"]


async def test_recorded_changes_wait_for_the_scheduler_until_marked_handled(runtime: Runtime) -> None:
    registry = fast_registry()
    await scripted_carrier(runtime, registry, "FAKE", [offer("FAKE", "001E"), offer("FAKE", "002E", days=27)])
    await sync_all(runtime, registry)

    pending = await service.pending_changes(runtime, kinds=["sailing.discovered"])
    handled = await service.mark_handled(runtime, [pending[0].id])
    again = await service.mark_handled(runtime, [pending[0].id])

    assert Counter(c.kind for c in pending) == {"sailing.discovered": 2}
    assert (handled, again) == (1, 0)
    assert [c.id for c in await service.pending_changes(runtime)] == [pending[1].id]


async def test_two_replicas_syncing_at_once_apply_and_record_each_change_once(runtime: Runtime) -> None:
    first, second = fast_registry(), fast_registry()
    sailings = [offer("FAKE", "001E", units=10), offer("FAKE", "002E", days=27)]
    one = await scripted_carrier(runtime, first, "FAKE", sailings)
    two = ScriptedCarrier("FAKE", "simulated", sailings)
    second.install("FAKE", "simulated", {}, two)

    discovered = await asyncio.gather(sync_all(runtime, first), sync_all(runtime, second))
    raised = [with_units(sailings[0], "42G1", 15), sailings[1]]
    one.sailings = two.sailings = raised
    lifted = await asyncio.gather(sync_all(runtime, first), sync_all(runtime, second))

    assert sum(r.changes["sailing.discovered"] for r in discovered) == 2
    assert sum(r.changes["allotment.raised"] for r in lifted) == 1
    assert Counter(kind for kind, _, _, _ in await recorded_changes(runtime, "FAKE")) == {
        "sailing.discovered": 2,
        "allotment.raised": 1,
    }
    assert (await stored_sailings(runtime, "FAKE"))["001E"].allotments["42G1"].units_total == 15


async def test_a_sailing_that_cannot_be_stored_keeps_only_itself_out_of_a_discovery(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = fast_registry()
    sailings = [offer("FAKE", f"{n:03d}E", days=10 + n) for n in range(5)]
    await scripted_carrier(runtime, registry, "FAKE", sailings)
    apply_offer = service.offers.apply_offer

    async def failing(conn: Any, carrier_id: Any, sailing: Any, at: Any) -> list[str]:
        if sailing.voyage_number == "002E":
            raise DBAPIError("INSERT", None, Exception("disk full"))
        return await apply_offer(conn, carrier_id, sailing, at)

    monkeypatch.setattr(service.offers, "apply_offer", failing)
    report = await sync_all(runtime, registry)

    notice = report.carriers[0]
    assert sorted(await stored_sailings(runtime, "FAKE")) == ["000E", "001E", "003E", "004E"]
    assert notice.skipped == ["002E CNSHA-USLAX: could not be stored (DBAPIError)"]
    assert notice.complete is False
