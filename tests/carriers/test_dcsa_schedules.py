"""A DCSA schedule answer read whole: every page through Next-Page-Cursor, routes that cannot
be read skipped and named, and the answer marked incomplete whenever a sailing may be missing;
429 and 503 carry the carrier's Retry-After."""

from __future__ import annotations

import pytest
from carrier_world import NOW
from dcsa_world import LANE, dcsa_adapter
from fake_dcsa import FakeDcsaState

from carriers.base import RetryableCarrierError, UnitRelease
from carriers.simulated import SimulatedSettings, generate_sailings
from carriers.store import MemoryCarrierStore


async def test_a_paged_answer_of_six_routes_in_pages_of_two_yields_all_six(
    fake_dcsa_state: FakeDcsaState,
) -> None:
    settings = SimulatedSettings(seed=3, lanes=["CNSHA-USLAX"], weeks=6)
    fake_dcsa_state.sailings = list(generate_sailings("DCSA", settings, NOW).values())
    adapter = dcsa_adapter(fake_dcsa_state, page_size=2)

    answer = await adapter.schedules(LANE)

    assert sorted(o.voyage_number for o in answer.offers) == sorted(
        o.voyage_number for o in fake_dcsa_state.sailings
    )
    assert len(answer.offers) == 6
    assert answer.complete
    assert fake_dcsa_state.pages_served == 3
    assert fake_dcsa_state.violations == []
    await adapter.aclose()


async def test_a_carrier_that_pages_smaller_than_asked_is_followed_too(
    fake_dcsa_state: FakeDcsaState,
) -> None:
    fake_dcsa_state.page_size = 1
    adapter = dcsa_adapter(fake_dcsa_state)

    answer = await adapter.schedules(LANE)

    assert len(answer.offers) == fake_dcsa_state.pages_served
    assert answer.complete
    await adapter.aclose()


@pytest.mark.parametrize("fault", ["500", "hang", "malformed_json"])
async def test_a_page_that_fails_after_the_first_makes_the_answer_incomplete(
    fake_dcsa_state: FakeDcsaState, fault: str
) -> None:
    fake_dcsa_state.fail_on_page, fake_dcsa_state.page_fault = 2, fault  # type: ignore[assignment]
    adapter = dcsa_adapter(fake_dcsa_state, page_size=2, timeout=0.2)

    answer = await adapter.schedules(LANE)

    assert len(answer.offers) == 2  # the first page's
    assert not answer.complete
    assert answer.problems[0].startswith("CNSHA-USLAX page 2:")
    await adapter.aclose()


async def test_a_first_page_that_fails_is_the_carriers_error(fake_dcsa_state: FakeDcsaState) -> None:
    fake_dcsa_state.fail_on_page = 1
    adapter = dcsa_adapter(fake_dcsa_state, page_size=2)

    with pytest.raises(RetryableCarrierError):
        await adapter.schedules(LANE)
    await adapter.aclose()


async def test_more_pages_than_allowed_make_the_answer_incomplete(fake_dcsa_state: FakeDcsaState) -> None:
    adapter = dcsa_adapter(fake_dcsa_state, page_size=1, max_pages=2)

    answer = await adapter.schedules(LANE)

    assert (len(answer.offers), answer.complete) == (2, False)
    assert "more than 2 pages" in answer.problems[-1]
    await adapter.aclose()


async def test_unreadable_routes_are_skipped_named_and_the_answer_incomplete(
    fake_dcsa_state: FakeDcsaState,
) -> None:
    fake_dcsa_state.broken_routes, fake_dcsa_state.naive_routes = {1}, {3}  # on every page
    adapter = dcsa_adapter(fake_dcsa_state, page_size=3)

    answer = await adapter.schedules(LANE)

    # Four routes in pages of three: page 1 loses its first and third, page 2 its only one.
    assert (len(answer.offers), answer.complete) == (1, False)
    assert [p.split(":")[0] for p in answer.problems] == [
        "CNSHA-USLAX page 1 route 1",
        "CNSHA-USLAX page 1 route 3",
        "CNSHA-USLAX page 2 route 1",
    ]
    assert "without a UTC offset" in answer.problems[1]
    await adapter.aclose()


@pytest.mark.parametrize(("retry_after", "seconds"), [("7", 7.0), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0)])
@pytest.mark.parametrize("fault", ["429", "503"])
async def test_a_carrier_asking_to_wait_says_how_long(
    fake_dcsa_state: FakeDcsaState, fault: str, retry_after: str, seconds: float
) -> None:
    fake_dcsa_state.fault, fake_dcsa_state.retry_after = fault, retry_after  # type: ignore[assignment]
    adapter = dcsa_adapter(fake_dcsa_state)

    with pytest.raises(RetryableCarrierError) as caught:
        await adapter.schedules(LANE)

    assert caught.value.status == int(fault)
    assert caught.value.retry_after == seconds
    assert caught.value.rate_limited is (fault == "429")
    assert "Too Many Requests" in caught.value.message or "Service Unavailable" in caught.value.message
    await adapter.aclose()


async def test_releases_are_kept_in_the_store_every_adapter_shares(fake_dcsa_state: FakeDcsaState) -> None:
    store = MemoryCarrierStore()  # the app's database, in the service
    first = dcsa_adapter(fake_dcsa_state, store=store)
    offer = (await first.schedules(LANE)).offers[0]
    release = UnitRelease(release_id="rel-9", sailing=offer.key, size_type="42G1", units=4)
    await first.release_units(release)
    await first.aclose()

    restarted = dcsa_adapter(fake_dcsa_state, store=store)
    again = await restarted.release_units(release)
    answer = await restarted.schedules(LANE)

    assert again.units_released == 4
    units = {a.size_type: a.units for a in next(o for o in answer.offers if o.key == offer.key).allocations}
    assert units["42G1"] == 10 - 4
    await restarted.aclose()
