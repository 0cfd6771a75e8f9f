"""House bill numbers: readable, unique per sequence, and a mistyped one is refused."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.errors import InvalidRequest
from app.domain.house_bills import (
    MAX_SEQUENCE,
    house_bill_number,
    is_house_bill_number,
    validate_house_bill_number,
)

SEQUENCES = st.integers(1, MAX_SEQUENCE)
DEPARTURES = st.dates(date(2000, 1, 1), date(2099, 12, 31))


def test_number_reads_prefix_month_sequence_and_check_digits() -> None:
    assert house_bill_number(123, date(2025, 3, 14)) == "SPHB-2503-000123-07"
    assert validate_house_bill_number(" sphb-2503-000123-07 ") == "SPHB-2503-000123-07"


@given(SEQUENCES, DEPARTURES)
def test_every_number_validates_and_fits_dcsa_house_bill_reference(sequence: int, departure: date) -> None:
    number = house_bill_number(sequence, departure)

    assert validate_house_bill_number(number) == number
    assert len(number) <= 20  # DCSA eBL 3.0.3 houseBillOfLadingReference


@given(SEQUENCES, SEQUENCES, DEPARTURES)
def test_different_sequences_give_different_numbers(a: int, b: int, departure: date) -> None:
    assert (house_bill_number(a, departure) == house_bill_number(b, departure)) == (a == b)


@given(SEQUENCES, DEPARTURES, st.data())
def test_any_single_mistyped_digit_is_refused(sequence: int, departure: date, data: st.DataObject) -> None:
    number = house_bill_number(sequence, departure)
    position = data.draw(st.sampled_from([i for i, c in enumerate(number) if c.isdigit()]))
    typo = data.draw(st.sampled_from([d for d in "0123456789" if d != number[position]]))

    assert not is_house_bill_number(number[:position] + typo + number[position + 1 :])


@given(SEQUENCES, DEPARTURES, st.data())
def test_any_swap_of_neighbouring_digits_is_refused(
    sequence: int, departure: date, data: st.DataObject
) -> None:
    number = house_bill_number(sequence, departure)
    swappable = [
        i for i in range(len(number) - 1) if number[i : i + 2].isdigit() and number[i] != number[i + 1]
    ]
    if not swappable:
        return
    i = data.draw(st.sampled_from(swappable))

    assert not is_house_bill_number(number[:i] + number[i + 1] + number[i] + number[i + 2 :])


@pytest.mark.parametrize(
    "number",
    [
        "",
        "SPHB-2503-000123",
        "SPHX-2503-000123-07",
        "SPHB-2513-000123-07",
        "SPHB-2503-00123-07",
        "SPHB-2503-0000123-07",
    ],
)
def test_malformed_numbers_are_refused_naming_the_field(number: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        validate_house_bill_number(number)

    assert refused.value.extensions["errors"][0]["field"] == "house_bill"


@pytest.mark.parametrize("sequence", [0, -1, MAX_SEQUENCE + 1])
def test_sequence_out_of_range_is_refused(sequence: int) -> None:
    with pytest.raises(ValueError, match="sequence"):
        house_bill_number(sequence, date(2025, 1, 1))
