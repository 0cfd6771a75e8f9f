"""Volumes and weights in thousandths, and money rounded to its currency's minor unit."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.errors import InvalidQuantity
from app.domain.units import from_milli, revenue_tonnes, round_money, to_milli


@pytest.mark.parametrize(
    ("value", "milli"),
    [("1", 1000), ("1.5", 1500), ("0.001", 1), ("12.340", 12340), ("1E+3", 1_000_000)],
)
def test_cbm_and_kg_become_exact_thousandths(value: str, milli: int) -> None:
    assert to_milli(Decimal(value), "cbm") == milli


@pytest.mark.parametrize("value", ["1.2345", "0.0001", "3.1415926"])
def test_more_than_three_decimals_is_refused_and_names_the_field(value: str) -> None:
    with pytest.raises(InvalidQuantity) as refused:
        to_milli(Decimal(value), "kg")

    assert refused.value.extensions["errors"][0]["field"] == "kg"


@given(st.integers(min_value=0, max_value=10**12))
def test_thousandths_round_trip_through_decimal(milli: int) -> None:
    assert to_milli(from_milli(milli), "cbm") == milli


def test_from_milli_always_shows_three_decimals() -> None:
    assert str(from_milli(1500)) == "1.500"
    assert str(from_milli(0)) == "0.000"


@pytest.mark.parametrize(
    ("amount", "currency", "rounded"),
    [
        ("2.345", "USD", "2.35"),  # half up, not half even
        ("2.344", "EUR", "2.34"),
        ("1234.5", "JPY", "1235"),  # no minor unit
        ("1234.4", "KRW", "1234"),
        ("1.2345", "KWD", "1.235"),  # three decimals
        ("10", "USD", "10.00"),
        ("7.005", "XYZ", "7.01"),  # unknown currencies default to two decimals
    ],
)
def test_money_is_rounded_half_up_to_the_currency_minor_unit(
    amount: str, currency: str, rounded: str
) -> None:
    result = round_money(Decimal(amount), currency)

    assert result == Decimal(rounded)
    assert str(result) == rounded


def test_revenue_tonnes_are_the_larger_of_cbm_and_metric_tonnes() -> None:
    assert revenue_tonnes(Decimal("2"), Decimal("3500")) == Decimal("3.5")
    assert revenue_tonnes(Decimal("4"), Decimal("3500")) == Decimal("4")
