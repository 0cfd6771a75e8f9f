"""Two-dimensional (volume and weight) vector bin packing with pairwise conflicts.

Pure arithmetic over integer lists, no knowledge of bookings: item ``i`` has a size in the
primary and the secondary dimension and a conflict profile (-1 for none; two items whose profiles
conflict never share a bin). ``pack`` returns bins as lists of item indices.

Method, chosen by measurement (bench/consolidation.py):

1. Open as many bins as the lower bound asks for. Items dominated by the secondary dimension
   (heavy cargo in a volume-bound pool) go first, heaviest first, each to the bin with the most
   secondary room left, so that they spread evenly instead of filling a few bins on weight alone.
2. The other items, largest first, go best-fit: to the bin with the least primary room that still
   takes them. A bin is opened only when none takes the item.
3. While more bins are used than the lower bound, try to empty the least filled bin into the
   others: direct best fit, then a chain (move an item of a bin to a third bin to make room),
   then swaps that leave a smaller item outside. A try that fails is undone.

Everything is ordered by sizes and then by index: the same items always give the same bins.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, insort
from collections.abc import Callable, Sequence
from typing import Final, TypeAlias

# Bounds on the improvement pass, so its cost is predictable (never a clock: plans are reproducible).
_ROUNDS_PER_TRY: Final = 12
_CANDIDATES: Final = 4  # least filled bins tried per round
_TRIES: Final = 16  # tries in all
_CHAIN_TARGETS: Final = 24

# move(item, from bin, to bin); -1 is "outside any bin".
_Move: TypeAlias = Callable[[int, int, int], None]


class _Bins:
    """Bins under construction: their items, free room in both dimensions, conflict profiles."""

    def __init__(
        self,
        primary: Sequence[int],
        secondary: Sequence[int],
        profiles: Sequence[int],
        conflicting: Callable[[int, int], bool],
        capacity: tuple[int, int],
    ) -> None:
        self.primary = primary
        self.secondary = secondary
        self.profiles = profiles
        self.conflicting = conflicting
        self.conflicts: dict[tuple[int, int], bool] = {}
        self.capacity = capacity
        self.items: list[list[int]] = []
        self.free_p: list[int] = []
        self.free_s: list[int] = []
        self.aboard: list[dict[int, int]] = []
        self.alive: list[bool] = []

    def open(self) -> int:
        self.items.append([])
        self.free_p.append(self.capacity[0])
        self.free_s.append(self.capacity[1])
        self.aboard.append({})
        self.alive.append(True)
        return len(self.items) - 1

    def compatible(self, b: int, i: int, leaving: int = -1) -> bool:
        """Whether item i may join bin b (once item ``leaving`` has left it)."""
        profile = self.profiles[i]
        if profile < 0:
            return True
        gone = self.profiles[leaving] if leaving >= 0 else -1
        for other, count in self.aboard[b].items():
            if other == gone and count == 1:
                continue
            pair = (profile, other)
            conflict = self.conflicts.get(pair)
            if conflict is None:
                conflict = self.conflicts[pair] = self.conflicting(profile, other)
            if conflict:
                return False
        return True

    def fits(self, b: int, i: int) -> bool:
        return (
            self.primary[i] <= self.free_p[b]
            and self.secondary[i] <= self.free_s[b]
            and self.compatible(b, i)
        )

    def add(self, b: int, i: int) -> None:
        self.items[b].append(i)
        self.free_p[b] -= self.primary[i]
        self.free_s[b] -= self.secondary[i]
        profile = self.profiles[i]
        if profile >= 0:
            self.aboard[b][profile] = self.aboard[b].get(profile, 0) + 1

    def remove(self, b: int, i: int) -> None:
        self.items[b].remove(i)
        self.free_p[b] += self.primary[i]
        self.free_s[b] += self.secondary[i]
        profile = self.profiles[i]
        if profile >= 0:
            left = self.aboard[b][profile] - 1
            if left:
                self.aboard[b][profile] = left
            else:
                del self.aboard[b][profile]

    def live(self) -> list[int]:
        return [b for b, alive in enumerate(self.alive) if alive and self.items[b]]


def lower_bound(primary_total: int, secondary_total: int, capacity: tuple[int, int]) -> int:
    """Fewest bins any packing needs: the larger total over its capacity, rounded up."""
    return max(-(-primary_total // capacity[0]), -(-secondary_total // capacity[1]))


def pack(
    volumes: Sequence[int],
    weights: Sequence[int],
    profiles: Sequence[int],
    conflicting: Callable[[int, int], bool],
    capacity: tuple[int, int],
    *,
    improve: bool = True,
) -> list[list[int]]:
    """Bins (lists of item indices, ascending) holding every item; each item must fit one bin.

    ``capacity`` is (volume, weight) of one bin; ``conflicting(p, q)`` whether profiles ``p`` and
    ``q`` (also ``p`` with itself) may not share a bin; it is asked once per pair, when needed.
    Without ``improve`` only the (fast) construction runs: never fewer bins than with it.
    """
    if not volumes:
        return []
    if max(volumes) > capacity[0] or max(weights) > capacity[1]:
        raise ValueError("an item larger than one bin cannot be packed")
    total_v, total_w = sum(volumes), sum(weights)
    # Work in the binding dimension first: volume unless weight fills the bins sooner.
    if total_w * capacity[0] > total_v * capacity[1]:
        bins = _Bins(weights, volumes, profiles, conflicting, (capacity[1], capacity[0]))
    else:
        bins = _Bins(volumes, weights, profiles, conflicting, capacity)
    target = lower_bound(total_v, total_w, capacity)
    _construct(bins, target)
    if improve:
        _improve(bins, target)
    return sorted(sorted(bins.items[b]) for b in bins.live())


def _construct(bins: _Bins, target: int) -> None:
    primary, secondary = bins.primary, bins.secondary
    cap_p, cap_s = bins.capacity
    order = range(len(primary))
    heavy = [i for i in order if secondary[i] * cap_p > primary[i] * cap_s]
    light = [i for i in order if secondary[i] * cap_p <= primary[i] * cap_s]
    heavy.sort(key=lambda i: (-secondary[i], -primary[i], i))
    light.sort(key=lambda i: (-primary[i], -secondary[i], i))
    for _ in range(target):
        bins.open()
    _spread(bins, heavy)
    _best_fit(bins, light)


def _spread(bins: _Bins, items: list[int]) -> None:
    """Each item to the bin with the most secondary room that takes it (worst fit)."""
    heap = [(-bins.free_s[b], b) for b in range(len(bins.items))]
    heapq.heapify(heap)
    for i in items:
        skipped: list[tuple[int, int]] = []
        chosen = -1
        while heap:
            key, b = heapq.heappop(heap)
            if -key != bins.free_s[b]:
                continue  # stale entry: the bin's room changed since it was pushed
            if bins.fits(b, i):
                chosen = b
                break
            skipped.append((key, b))
        if chosen < 0:
            chosen = bins.open()
        bins.add(chosen, i)
        heapq.heappush(heap, (-bins.free_s[chosen], chosen))
        for entry in skipped:
            heapq.heappush(heap, entry)


def _best_fit(bins: _Bins, items: list[int]) -> None:
    """Each item to the bin with the least primary room that takes it."""
    by_room = sorted((bins.free_p[b], b) for b in range(len(bins.items)))
    for i in items:
        chosen = -1
        for position in range(bisect_left(by_room, (bins.primary[i], -1)), len(by_room)):
            b = by_room[position][1]
            if bins.fits(b, i):
                chosen = b
                del by_room[position]
                break
        if chosen < 0:
            chosen = bins.open()
        bins.add(chosen, i)
        insort(by_room, (bins.free_p[chosen], chosen))


def _improve(bins: _Bins, target: int) -> None:
    """Empty the least filled bins into the others while more bins than the lower bound are used."""
    failed: set[int] = set()
    tries = 0
    while tries < _TRIES:
        live = bins.live()
        if len(live) <= target:
            return
        candidates = sorted(
            (b for b in live if b not in failed),
            key=lambda b: (bins.capacity[0] - bins.free_p[b], b),
        )[:_CANDIDATES]
        if not candidates:
            return
        for b in candidates:
            tries += 1
            if _empty(bins, b):
                break
            failed.add(b)
        else:
            return


def _empty(bins: _Bins, doomed: int) -> bool:
    """Move every item of one bin into the others; undo everything and answer False if it fails."""
    moves: list[tuple[int, int, int]] = []  # (item, from bin, to bin); -1 is "outside any bin"

    def move(i: int, source: int, target: int) -> None:
        if source >= 0:
            bins.remove(source, i)
        if target >= 0:
            bins.add(target, i)
        moves.append((i, source, target))

    outside = list(bins.items[doomed])
    for i in outside:
        move(i, doomed, -1)
    bins.alive[doomed] = False
    others = bins.live()
    size = _sizes(bins)
    for _ in range(_ROUNDS_PER_TRY):
        outside.sort(key=lambda i: (-size[i], i))
        outside = [i for i in outside if not _place(bins, others, i, move)]
        if outside and _chain(bins, others, outside[0], move):
            outside = outside[1:]
        elif outside:
            swapped = _swap(bins, others, outside, size, move)
            if swapped is None:
                break
            outside = swapped
        if not outside:
            return True
    for i, source, target in reversed(moves):
        if target >= 0:
            bins.remove(target, i)
        if source >= 0:
            bins.add(source, i)
    bins.alive[doomed] = True
    return False


def _sizes(bins: _Bins) -> list[int]:
    """Both dimensions as fractions of capacity, summed (scaled to integers)."""
    cap_p, cap_s = bins.capacity
    return [p * cap_s + s * cap_p for p, s in zip(bins.primary, bins.secondary, strict=True)]


def _place(bins: _Bins, others: list[int], i: int, move: _Move) -> bool:
    """Best fit of one item among the given bins."""
    p, s = bins.primary[i], bins.secondary[i]
    free_p, free_s = bins.free_p, bins.free_s
    best, best_room = -1, 0
    for b in others:
        room = free_p[b]
        if p <= room and s <= free_s[b] and (best < 0 or room < best_room) and bins.compatible(b, i):
            best, best_room = b, room
    if best < 0:
        return False
    move(i, -1, best)
    return True


def _chain(bins: _Bins, others: list[int], i: int, move: _Move) -> bool:
    """Make room for item i in a bin by moving one of its items to a bin with room for it."""
    primary, secondary, free_p, free_s = bins.primary, bins.secondary, bins.free_p, bins.free_s
    roomy = sorted(others, key=lambda b: (-free_p[b], b))[:_CHAIN_TARGETS]
    if not roomy:
        return False
    most_room = free_p[roomy[0]]
    for host in others:
        need_p = primary[i] - free_p[host]
        if need_p > most_room:
            continue  # no bin has room for an item large enough to make room here
        need_s = secondary[i] - free_s[host]
        for y in bins.items[host]:
            if primary[y] < need_p or secondary[y] < need_s or primary[y] > most_room:
                continue
            if not bins.compatible(host, i, leaving=y):
                continue
            for target in roomy:
                if free_p[target] < primary[y]:
                    break
                if target != host and bins.fits(target, y):
                    move(y, host, target)
                    move(i, -1, host)
                    return True
    return False


def _swap(
    bins: _Bins, others: list[int], outside: list[int], size: list[int], move: _Move
) -> list[int] | None:
    """Swap an outside item for a smaller one inside, filling the host as tightly as possible."""
    primary, secondary = bins.primary, bins.secondary
    for i in outside:
        best: tuple[int, int, int, int] | None = None  # (room left, -gain, host, item)
        for host in others:
            need_p = primary[i] - bins.free_p[host]
            need_s = secondary[i] - bins.free_s[host]
            for y in bins.items[host]:
                if size[y] >= size[i] or primary[y] < need_p or secondary[y] < need_s:
                    continue
                if not bins.compatible(host, i, leaving=y):
                    continue
                candidate = (primary[y] - need_p, size[y] - size[i], host, y)
                if best is None or candidate < best:
                    best = candidate
        if best is not None:
            _, _, host, y = best
            move(y, host, -1)
            move(i, -1, host)
            return [y if x == i else x for x in outside]
    return None
