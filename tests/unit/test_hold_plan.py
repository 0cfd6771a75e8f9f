"""The rules of a new hold, decided without a database: what a request may ask for, where the
hold goes, its locked quote and its lifetime, and which refusal comes first."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.errors import InvalidQuantity, InvalidRequest, NotFound, SailingClosed
from app.domain.hold_plan import HoldTarget, HoldTerms, hold_ttl, plan_hold
from app.domain.states import Load

SAILING = uuid.uuid4()
ALLOTMENT = uuid.uuid4()
POOL = uuid.uuid4()
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TEN_MINUTES = timedelta(minutes=10)


def allotment(**changes: object) -> HoldTarget:
    values: dict[str, object] = {
        "sailing_status": "open",
        "cut_off": NOW + timedelta(days=3),
        "now": NOW,
        "allotment_id": ALLOTMENT,
        "size_type": "42G1",
        "rate": Decimal("1500.00"),
        "currency": "USD",
    }
    return HoldTarget(**{**values, **changes})  # type: ignore[arg-type]


def pool(size_type: str = "22G1", **changes: object) -> HoldTarget:
    values: dict[str, object] = {
        "sailing_status": "open",
        "cut_off": NOW + timedelta(days=3),
        "now": NOW,
        "allotment_id": ALLOTMENT,
        "pool_id": uuid.uuid4() if size_type != "22G1" else POOL,
        "size_type": size_type,
        "rate": Decimal("80.00"),
        "minimum": Decimal("120.00"),
        "currency": "USD",
        "container_volume_dm3": 28_000,
        "container_weight_g": 21_000_000,
    }
    return HoldTarget(**{**values, **changes})  # type: ignore[arg-type]


def sailing_without_space() -> HoldTarget:
    return HoldTarget(sailing_status="open", cut_off=NOW + timedelta(days=3), now=NOW)


FCL = HoldTerms(load=Load.FCL, size_type="42G1", units=2)


def lcl(cbm: str, kg: str) -> HoldTerms:
    return HoldTerms(load=Load.LCL, cbm=Decimal(cbm), kg=Decimal(kg))


def test_an_fcl_hold_takes_units_of_the_allotment_at_its_rate() -> None:
    plan = plan_hold(SAILING, FCL, [allotment()], TEN_MINUTES)

    assert plan.quantity.load is Load.FCL
    assert (plan.quantity.allotment_id, plan.quantity.pool_id, plan.quantity.units) == (ALLOTMENT, None, 2)
    assert plan.price == Decimal("3000.00")
    assert (plan.tariff.rate, plan.tariff.currency, plan.size_type) == (Decimal("1500.00"), "USD", "42G1")
    assert (plan.created_at, plan.expires_at) == (NOW, NOW + TEN_MINUTES)


def test_an_lcl_hold_takes_thousandths_of_the_pool_charged_weight_or_measure() -> None:
    plan = plan_hold(SAILING, lcl("2.5", "3200"), [pool()], TEN_MINUTES)

    assert (plan.quantity.pool_id, plan.quantity.volume_dm3, plan.quantity.weight_g) == (
        POOL,
        2_500,
        3_200_000,
    )
    assert plan.quantity.allotment_id == ALLOTMENT
    # 3.2 revenue tonnes (weight beats 2.5 CBM) at 80.00.
    assert plan.price == Decimal("256.00")


def test_a_small_lcl_hold_pays_the_pools_minimum() -> None:
    assert plan_hold(SAILING, lcl("0.1", "10"), [pool()], TEN_MINUTES).price == Decimal("120.00")


def test_a_hold_never_outlives_the_cut_off() -> None:
    cut_off = NOW + timedelta(minutes=4)

    plan = plan_hold(SAILING, FCL, [allotment(cut_off=cut_off)], TEN_MINUTES)

    assert plan.expires_at == cut_off


@given(ttl=st.integers(1, 7200), cut_off_in=st.integers(1, 7200))
def test_expiry_is_the_ttl_or_the_cut_off_whichever_comes_first(ttl: int, cut_off_in: int) -> None:
    cut_off = NOW + timedelta(seconds=cut_off_in)

    plan = plan_hold(SAILING, FCL, [allotment(cut_off=cut_off)], timedelta(seconds=ttl))

    assert NOW < plan.expires_at <= cut_off
    assert plan.expires_at == NOW + timedelta(seconds=min(ttl, cut_off_in))


@pytest.mark.parametrize(
    ("status", "cut_off_in"),
    [("closed", timedelta(days=1)), ("cancelled", timedelta(days=1)), ("open", timedelta(0))],
)
def test_a_closed_sailing_or_one_past_its_cut_off_takes_no_hold(status: str, cut_off_in: timedelta) -> None:
    with pytest.raises(SailingClosed):
        plan_hold(SAILING, FCL, [allotment(sailing_status=status, cut_off=NOW + cut_off_in)], TEN_MINUTES)


@pytest.mark.parametrize(
    ("terms", "field"),
    [
        (HoldTerms(load=Load.FCL, size_type="42G1"), "units"),
        (HoldTerms(load=Load.FCL, units=1), "units"),
        (HoldTerms(load=Load.FCL, size_type="42G1", units=1, cbm=Decimal(1)), "cbm"),
        (HoldTerms(load=Load.LCL, cbm=Decimal(1)), "cbm"),
        (HoldTerms(load=Load.LCL, cbm=Decimal(1), kg=Decimal(1), units=1), "units"),
    ],
)
def test_terms_of_the_other_load_are_refused_before_the_sailing_is_looked_at(
    terms: HoldTerms, field: str
) -> None:
    with pytest.raises(InvalidRequest) as refused:
        plan_hold(SAILING, terms, [], TEN_MINUTES)

    assert refused.value.extensions["errors"][0]["field"] == field


def test_an_unknown_sailing_is_not_found() -> None:
    with pytest.raises(NotFound):
        plan_hold(SAILING, FCL, [], TEN_MINUTES)


def test_a_sailing_without_that_size_type_is_a_bad_request_not_a_missing_sailing() -> None:
    with pytest.raises(InvalidRequest) as fcl_refused:
        plan_hold(SAILING, FCL, [sailing_without_space()], TEN_MINUTES)
    with pytest.raises(InvalidRequest) as lcl_refused:
        plan_hold(SAILING, lcl("1", "100"), [sailing_without_space()], TEN_MINUTES)

    assert "no 42G1 space" in fcl_refused.value.detail
    assert "no LCL pool" in lcl_refused.value.detail


def test_a_sailing_with_several_pools_needs_a_size_type() -> None:
    with pytest.raises(InvalidRequest, match="several pools"):
        plan_hold(SAILING, lcl("1", "100"), [pool(), pool("42G1")], TEN_MINUTES)


@pytest.mark.parametrize(("cbm", "kg", "field"), [("28.001", "100", "cbm"), ("1", "21000.001", "kg")])
def test_an_lcl_shipment_beyond_one_container_is_refused(cbm: str, kg: str, field: str) -> None:
    with pytest.raises(InvalidQuantity) as refused:
        plan_hold(SAILING, lcl(cbm, kg), [pool()], TEN_MINUTES)

    assert refused.value.extensions["errors"][0]["field"] == field


def test_a_too_large_shipment_is_refused_before_the_closed_sailing() -> None:
    with pytest.raises(InvalidQuantity):
        plan_hold(SAILING, lcl("29", "100"), [pool(sailing_status="closed")], TEN_MINUTES)


def test_volumes_with_more_than_three_decimals_are_refused() -> None:
    with pytest.raises(InvalidQuantity, match="three decimals"):
        plan_hold(SAILING, lcl("1.0001", "100"), [pool()], TEN_MINUTES)


def test_a_hold_lasts_what_was_asked_or_the_default_and_never_more_than_the_maximum() -> None:
    assert hold_ttl(None, 600, 1800) == timedelta(seconds=600)
    assert hold_ttl(1800, 600, 1800) == timedelta(seconds=1800)
    with pytest.raises(InvalidRequest, match="at most 1800"):
        hold_ttl(1801, 600, 1800)
