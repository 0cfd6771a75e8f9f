"""The vector bin packing under the planner: both dimensions, conflicts, and its two passes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.consolidation.binpacking import lower_bound, pack

CAPACITY = (100, 1000)


def never(p: int, q: int) -> bool:
    return False


def no_conflicts(count: int) -> list[int]:
    return [-1] * count


def test_construction_alone_spreads_heavy_items_instead_of_pairing_them() -> None:
    # Two heavy crates (557 and 584 of 1000) and three light bales. Best fit on volume alone
    # fills one bin with the bales, then cannot put both crates in the other: three bins.
    volumes = [37, 14, 36, 25, 12]
    weights = [22, 557, 59, 9, 584]

    bins = pack(volumes, weights, no_conflicts(5), never, CAPACITY, improve=False)

    assert len(bins) == lower_bound(sum(volumes), sum(weights), CAPACITY) == 2
    assert [sum(1 for i in b if i in (1, 4)) for b in bins] == [1, 1]


def test_improvement_empties_a_bin_that_best_fit_left_over() -> None:
    volumes = [44, 40, 41, 48, 10, 16]  # 44+40+16 and 41+48+10; best fit decreasing needs three

    assert len(pack(volumes, [1] * 6, no_conflicts(6), never, CAPACITY, improve=False)) == 3
    assert len(pack(volumes, [1] * 6, no_conflicts(6), never, CAPACITY)) == 2


def test_weight_bound_items_are_packed_on_weight() -> None:
    bins = pack([1] * 6, [500] * 6, no_conflicts(6), never, CAPACITY)

    assert len(bins) == 3


def test_conflicting_profiles_never_share_a_bin() -> None:
    # Profiles 0 and 1 exclude each other; profile 2 goes with anything.
    bins = pack([10] * 4, [1] * 4, [0, 1, 2, -1], lambda p, q: {p, q} == {0, 1}, CAPACITY)

    assert bins == [[0, 2, 3], [1]]


def test_item_larger_than_a_bin_is_refused() -> None:
    with pytest.raises(ValueError, match="larger than one bin"):
        pack([101], [1], [-1], never, CAPACITY)


@st.composite
def instances(draw: st.DrawFn) -> tuple[list[int], list[int], list[int], list[frozenset[int]]]:
    count = draw(st.integers(0, 60))
    volumes = draw(st.lists(st.integers(1, 100), min_size=count, max_size=count))
    weights = draw(st.lists(st.integers(1, 1000), min_size=count, max_size=count))
    profiles = draw(st.lists(st.integers(-1, 3), min_size=count, max_size=count))
    pairs = draw(st.sets(st.tuples(st.integers(0, 3), st.integers(0, 3))))
    incompatible = [
        frozenset(q for p2, q in pairs if p2 == p) | {q for q, p2 in pairs if p2 == p} for p in range(4)
    ]
    return volumes, weights, profiles, [frozenset(s) for s in incompatible]


@settings(max_examples=300)
@given(instances())
def test_every_item_once_within_capacity_and_conflicts(
    instance: tuple[list[int], list[int], list[int], list[frozenset[int]]],
) -> None:
    volumes, weights, profiles, incompatible = instance
    # An item whose profile excludes itself would need a bin of its own per item: allowed.
    conflicting = lambda p, q: q in incompatible[p]  # noqa: E731
    bins = pack(volumes, weights, profiles, conflicting, CAPACITY)

    assert sorted(i for b in bins for i in b) == list(range(len(volumes)))
    assert len(bins) >= lower_bound(sum(volumes), sum(weights), CAPACITY)
    for b in bins:
        assert sum(volumes[i] for i in b) <= CAPACITY[0]
        assert sum(weights[i] for i in b) <= CAPACITY[1]
        aboard = [profiles[i] for i in b if profiles[i] >= 0]
        for n, p in enumerate(aboard):
            for q in aboard[n + 1 :]:
                assert q not in incompatible[p], (p, q)
    assert pack(volumes, weights, profiles, conflicting, CAPACITY) == bins
