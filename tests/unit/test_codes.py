"""Trade codes: ISO 6346 size-types we sell and the UN/LOCODE pattern."""

from __future__ import annotations

import re

import pytest

from app.domain.trade_codes import UN_LOCODE, is_size_type, size_type_length_ft


@pytest.mark.parametrize(
    ("size_type", "feet"),
    [("22G1", 20), ("25G1", 20), ("42G1", 40), ("45G1", 40), ("L5G1", 45), ("45R1", 40), ("22R1", 20)],
)
def test_size_type_gives_the_container_length(size_type: str, feet: int) -> None:
    assert size_type_length_ft(size_type) == feet
    assert is_size_type(size_type)


@pytest.mark.parametrize(
    "size_type",
    [
        "22X1",  # type group we do not sell
        "22U1",  # open top
        "99G1",  # no such length or height code
        "92G1",
        "29G1",
        "",
        "42G",
        "42G10",
        "42g1",  # codes are upper case
        "42GX",
    ],
)
def test_unknown_or_unsold_size_types_are_refused(size_type: str) -> None:
    with pytest.raises(ValueError, match="ISO 6346"):
        size_type_length_ft(size_type)
    assert not is_size_type(size_type)


@pytest.mark.parametrize("code", ["CNSHA", "USLAX", "NLRTM", "DEHAM", "GB2XY", "SG9AB"])
def test_un_locode_is_country_and_three_place_characters(code: str) -> None:
    assert re.fullmatch(UN_LOCODE, code)


@pytest.mark.parametrize("code", ["cnsha", "CNSH", "CNSHAI", "C1SHA", "CNSH1", "CNSH0", "CN-SHA", ""])
def test_malformed_un_locodes_do_not_match(code: str) -> None:
    assert re.fullmatch(UN_LOCODE, code) is None
