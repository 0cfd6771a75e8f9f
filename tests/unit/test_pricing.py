"""Quotes: FCL per container; LCL weight or measure (1 CBM = 1000 kg) with a minimum."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from app.domain.pricing import Tariff, fcl_price, lcl_price

LCL = Tariff(rate=Decimal("80.00"), currency="USD", minimum=Decimal("120.00"))

# Quantities as the API accepts them: positive, at most three decimals.
quantities = st.integers(min_value=1, max_value=100_000_000).map(lambda milli: Decimal(milli) / 1000)
rates = st.integers(min_value=1, max_value=10_000_00).map(lambda cents: Decimal(cents) / 100)


def test_fcl_price_is_rate_times_units() -> None:
    assert fcl_price(Tariff(rate=Decimal("1500.00"), currency="USD"), 3) == Decimal("4500.00")


def test_fcl_price_is_rounded_to_the_currency() -> None:
    assert str(fcl_price(Tariff(rate=Decimal("180000"), currency="JPY"), 2)) == "360000"
    assert str(fcl_price(Tariff(rate=Decimal("99.995"), currency="USD"), 1)) == "100.00"


def test_lcl_is_charged_by_weight_when_tonnes_exceed_cbm() -> None:
    assert lcl_price(LCL, Decimal("2"), Decimal("3500")) == Decimal("280.00")


def test_lcl_is_charged_by_measure_when_cbm_exceeds_tonnes() -> None:
    assert lcl_price(LCL, Decimal("4"), Decimal("500")) == Decimal("320.00")


def test_small_lcl_shipment_pays_the_minimum() -> None:
    assert lcl_price(LCL, Decimal("0.5"), Decimal("100")) == Decimal("120.00")


@given(quantities, quantities)
def test_one_cbm_weighs_as_much_as_one_tonne(cbm: Decimal, small: Decimal) -> None:
    light = min(small, cbm)
    assert lcl_price(LCL, cbm, light) == lcl_price(LCL, light / 1000, cbm * 1000)


@given(rates, quantities, quantities)
def test_lcl_price_is_never_below_the_minimum(rate: Decimal, cbm: Decimal, kg: Decimal) -> None:
    tariff = Tariff(rate=rate, currency="USD", minimum=Decimal("120.00"))
    assert lcl_price(tariff, cbm, kg) >= tariff.minimum


@given(rates, quantities, quantities, quantities, quantities)
def test_lcl_price_never_falls_when_cbm_or_kg_grows(
    rate: Decimal, cbm: Decimal, kg: Decimal, more_cbm: Decimal, more_kg: Decimal
) -> None:
    tariff = Tariff(rate=rate, currency="USD", minimum=Decimal("120.00"))
    price = lcl_price(tariff, cbm, kg)

    assert lcl_price(tariff, cbm + more_cbm, kg) >= price
    assert lcl_price(tariff, cbm, kg + more_kg) >= price


@given(rates, quantities, quantities)
def test_lcl_price_above_the_minimum_is_revenue_tonnes_at_the_rate(
    rate: Decimal, cbm: Decimal, kg: Decimal
) -> None:
    tariff = Tariff(rate=rate, currency="USD", minimum=Decimal(0))
    exact = max(cbm, kg / 1000) * rate
    assert abs(lcl_price(tariff, cbm, kg) - exact) <= Decimal("0.005")
