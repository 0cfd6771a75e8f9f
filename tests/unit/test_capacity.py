"""LCL capacity rules: what one shipment may be, and when the pool must draw a container."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.capacity import PoolSpace, check_lcl_request, containers_to_draw
from app.domain.errors import InvalidQuantity

CONTAINER_DM3 = 58_000  # 58 CBM usable in a 40' container
CONTAINER_G = 26_000_000  # 26 t payload


def pool(free_dm3: int, free_g: int) -> PoolSpace:
    return PoolSpace(free_dm3=free_dm3, free_g=free_g, container_dm3=CONTAINER_DM3, container_g=CONTAINER_G)


def refused_field(volume_dm3: int, weight_g: int) -> str:
    with pytest.raises(InvalidQuantity) as refused:
        check_lcl_request(volume_dm3, weight_g, CONTAINER_DM3, CONTAINER_G)
    return str(refused.value.extensions["errors"][0]["field"])


@pytest.mark.parametrize(("volume_dm3", "weight_g"), [(0, 1), (1, 0), (-1, 1), (1, -5)])
def test_lcl_shipment_needs_positive_volume_and_weight(volume_dm3: int, weight_g: int) -> None:
    assert refused_field(volume_dm3, weight_g) == "cbm"


def test_lcl_shipment_larger_than_one_container_is_refused_as_fcl() -> None:
    assert refused_field(CONTAINER_DM3 + 1, 1) == "cbm"


def test_lcl_shipment_heavier_than_one_container_payload_is_refused() -> None:
    assert refused_field(1, CONTAINER_G + 1) == "kg"


def test_lcl_shipment_of_exactly_one_container_is_accepted() -> None:
    check_lcl_request(CONTAINER_DM3, CONTAINER_G, CONTAINER_DM3, CONTAINER_G)


def test_shipment_that_fits_the_pool_draws_nothing() -> None:
    assert containers_to_draw(pool(5_000, 1_000_000), 5_000, 1_000_000) == 0


def test_shipment_short_of_volume_or_weight_draws_one_container() -> None:
    assert containers_to_draw(pool(4_999, 9_000_000), 5_000, 1_000_000) == 1
    assert containers_to_draw(pool(9_000, 999_999), 5_000, 1_000_000) == 1


@given(
    free_dm3=st.integers(0, 3 * CONTAINER_DM3),
    free_g=st.integers(0, 3 * CONTAINER_G),
    volume_dm3=st.integers(1, CONTAINER_DM3),
    weight_g=st.integers(1, CONTAINER_G),
)
def test_a_container_is_drawn_exactly_when_the_shipment_does_not_fit(
    free_dm3: int, free_g: int, volume_dm3: int, weight_g: int
) -> None:
    drawn = containers_to_draw(pool(free_dm3, free_g), volume_dm3, weight_g)
    fits_now = volume_dm3 <= free_dm3 and weight_g <= free_g

    assert drawn == (0 if fits_now else 1)
    # One more container is always enough for a shipment that passed the check.
    assert volume_dm3 <= free_dm3 + drawn * CONTAINER_DM3
    assert weight_g <= free_g + drawn * CONTAINER_G
