"""Consolidation: how close to the lower bound, and how fast, does a closing pool pack?

Generated pools (seeded) of LCL bookings with a realistic mix: volumes 0.5-15 CBM (mostly small),
15 % weight-heavy cargo, 5 % dangerous goods across IMDG classes, 5 % reefer cargo at common set
points. A sailing sells a dry pool of 40' high cubes (45G1) and, for the reefer share, a pool of
40' high cube reefers (45R1): each is planned by ``plan_consolidation`` as the close-pools job will.

Reported per pool size: containers used, lower bound (per compatibility group: the larger of
volume over usable volume and weight over payload, rounded up), their ratio and the wall time of
planning both pools. Targets: ratio <= 1.03; <= 1 s at 2,000 bookings, <= 5 s at 10,000.

Run: python bench/consolidation.py [--seeds 1,2,3,4,5] [--sizes 200,2000,10000] [--budget-cut N]
(--budget-cut N plans the first seed again with N containers fewer than each pool needs, to time
the newest-first roll.) Prints a Markdown table; every plan is also checked with ``check_plan``.
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

import msgspec

from app.domain.consolidation import (
    ContainerSpec,
    DangerousGoods,
    PoolBooking,
    PoolCargo,
    check_plan,
    plan_consolidation,
)
from app.domain.consolidation.planner import compatibility_groups, lower_bound
from app.domain.consolidation.segregation import first_conflict

# (class, UN numbers, weight): what LCL dangerous goods mostly are.
DANGEROUS_GOODS = [
    ("3", ["1263", "1210", "1993", "1133", "1866"], 30),
    ("9", ["3480", "3481", "3082", "3077", "2211"], 25),
    ("8", ["1760", "1719", "2735", "1789"], 12),
    ("2.1", ["1950", "1965"], 8),
    ("2.2", ["1950", "1956", "1072"], 5),
    ("4.1", ["1325", "1350"], 5),
    ("5.1", ["1479", "1942"], 4),
    ("6.1", ["2810", "2811"], 5),
    ("4.3", ["1396"], 1),
    ("5.2", ["3105"], 1),
    ("1.4S", ["0012"], 1),
    ("2.3", ["1005"], 1),
    ("6.2", ["3373"], 1),
    ("7", ["2910"], 1),
]
# Frozen cargo dominates; then chilled meat and dairy, then bananas.
SET_POINTS = [
    Decimal(-25),
    Decimal(-18),
    Decimal(-18),
    Decimal(-18),
    Decimal(0),
    Decimal(2),
    Decimal(4),
    Decimal(13),
]


def generate(count: int, seed: int) -> list[PoolBooking]:
    rng = random.Random(seed)
    start = datetime(2025, 3, 1, tzinfo=UTC)
    classes = [entry for entry in DANGEROUS_GOODS for _ in range(entry[2])]
    bookings = []
    for n in range(count):
        if rng.random() < 0.15:  # weight-heavy: machinery, tiles, steel
            cbm = rng.uniform(0.5, 5)
            kg_per_cbm = rng.uniform(800, 2500)
        else:
            band = rng.random()
            cbm = (
                rng.uniform(0.5, 3) if band < 0.6 else rng.uniform(3, 8) if band < 0.9 else rng.uniform(8, 15)
            )
            kg_per_cbm = rng.uniform(80, 400)
        goods: tuple[DangerousGoods, ...] = ()
        if rng.random() < 0.05:
            imo_class, numbers, _ = rng.choice(classes)
            goods = (DangerousGoods(un_number=rng.choice(numbers), imo_class=imo_class),)
        set_point = rng.choice(SET_POINTS) if rng.random() < 0.05 else None
        bookings.append(
            PoolBooking(
                reference=f"B{seed:02d}{n:06d}",
                volume_dm3=round(cbm * 1000),
                weight_g=min(round(cbm * kg_per_cbm * 1000), 26_000_000),
                booked_at=start + timedelta(minutes=rng.randrange(60 * 24 * 30)),
                dangerous_goods=goods,
                set_point_c=set_point,
            )
        )
    return bookings


def pools(bookings: list[PoolBooking]) -> list[PoolCargo]:
    """The dry share into 45G1, the reefer share into 45R1."""
    dry = tuple(b for b in bookings if b.set_point_c is None)
    reefer = tuple(b for b in bookings if b.set_point_c is not None)
    return [
        PoolCargo(container=ContainerSpec.standard("45G1"), bookings=dry),
        PoolCargo(container=ContainerSpec.standard("45R1"), bookings=reefer),
    ]


def segregation_bound(pool: PoolCargo) -> int:
    """A lower bound that also counts segregation: per group, at least as many containers as a
    set of bookings that pairwise may not share (found greedily; any such set is a bound)."""
    total = 0
    for members in compatibility_groups(pool, pool.bookings).values():
        apart: list[PoolBooking] = []
        for booking in members:
            if booking.dangerous_goods and all(
                first_conflict(booking.dangerous_goods, other.dangerous_goods) for other in apart
            ):
                apart.append(booking)
        total += max(lower_bound(pool.container, {None: members}), len(apart))
    return total


class Result(NamedTuple):
    used: int
    bound: int
    segregation_bound: int
    seconds: float
    violations: int


def run(count: int, seed: int) -> Result:
    planned = pools(generate(count, seed))
    started = time.perf_counter()
    plans = [plan_consolidation(pool) for pool in planned]
    seconds = time.perf_counter() - started
    return Result(
        used=sum(len(plan.containers) for plan in plans),
        bound=sum(plan.lower_bound for plan in plans),
        segregation_bound=sum(segregation_bound(pool) for pool in planned),
        seconds=seconds,
        violations=sum(len(check_plan(pool, plan)) for pool, plan in zip(planned, plans, strict=True)),
    )


def run_budget(count: int, seed: int, cut: int) -> tuple[int, int, float]:
    """Plan again with ``cut`` containers fewer than needed per pool: bookings rolled, seconds."""
    planned = pools(generate(count, seed))
    short = [
        msgspec.structs.replace(pool, container_budget=max(0, len(plan_consolidation(pool).containers) - cut))
        for pool in planned
    ]
    started = time.perf_counter()
    plans = [plan_consolidation(pool) for pool in short]
    seconds = time.perf_counter() - started
    assert all(not check_plan(pool, plan) for pool, plan in zip(short, plans, strict=True))
    return sum(len(p.containers) for p in plans), sum(len(p.rolled) for p in plans), seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", default="1,2,3,4,5")
    parser.add_argument("--sizes", default="200,2000,10000")
    parser.add_argument("--budget-cut", type=int, default=0)
    args = parser.parse_args()
    seeds = [int(seed) for seed in args.seeds.split(",")]
    print("| bookings | seed | containers | lower bound | ratio | bound with segregation | time |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for count in (int(size) for size in args.sizes.split(",")):
        results = []
        for seed in seeds:
            result = run(count, seed)
            results.append(result)
            assert result.violations == 0, "a plan broke invariant 5"
            print(
                f"| {count:,} | {seed} | {result.used} | {result.bound} | {result.used / result.bound:.4f}"
                f" | {result.segregation_bound} | {result.seconds:.3f} s |"
            )
        worst = max(r.used / r.bound for r in results)
        slowest = max(r.seconds for r in results)
        print(f"| {count:,} | worst of {len(seeds)} | | | {worst:.4f} | | {slowest:.3f} s |")
        if args.budget_cut:
            used, rolled, seconds = run_budget(count, seeds[0], args.budget_cut)
            short = f"{seeds[0]}, budget {args.budget_cut} short per pool"
            print(f"| {count:,} | {short} | {used} | | rolled {rolled} | | {seconds:.3f} s |")


if __name__ == "__main__":
    main()
