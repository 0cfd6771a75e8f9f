"""Consolidation: how close to the lower bound, and how fast, does a closing pool pack?

Generated pools (seeded) of LCL bookings with a realistic mix: volumes 0.5-15 CBM (mostly small),
15 % weight-heavy cargo, 5 % dangerous goods across IMDG classes, 5 % reefer cargo at common set
points. A sailing sells a dry pool of 40' high cubes (45G1) and, for the reefer share, a pool of
40' high cube reefers (45R1): each is planned by ``plan_consolidation`` as the close-pools job will.

Reported per pool size: containers used, lower bound (per compatibility group: the larger of
volume over usable volume and weight over payload, rounded up), their ratio and the wall time of
planning both pools. Targets: ratio <= 1.03; <= 1 s at 2,000 bookings, <= 5 s at 10,000.

Run: python bench/consolidation.py [--seeds 1,2,3] [--sizes 200,2000,10000] [--budget-cut 0]
(--budget-cut N plans again with N containers fewer than needed, to time the newest-first roll.)
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from app.domain.consolidation import (
    ContainerSpec,
    DangerousGoods,
    PoolBooking,
    PoolCargo,
    check_plan,
    plan_consolidation,
)

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


def pools(bookings: list[PoolBooking], budget_cut: int = 0) -> list[PoolCargo]:
    dry = tuple(b for b in bookings if b.set_point_c is None)
    reefer = tuple(b for b in bookings if b.set_point_c is not None)
    return [
        PoolCargo(container=ContainerSpec.standard("45G1"), bookings=dry),
        PoolCargo(container=ContainerSpec.standard("45R1"), bookings=reefer),
    ]


def run(count: int, seed: int, budget_cut: int) -> None:
    planned = pools(generate(count, seed))
    started = time.perf_counter()
    plans = [plan_consolidation(pool) for pool in planned]
    elapsed = time.perf_counter() - started
    used = sum(len(plan.containers) for plan in plans)
    bound = sum(plan.lower_bound for plan in plans)
    violations = sum(len(check_plan(pool, plan)) for pool, plan in zip(planned, plans, strict=True))
    rolled = sum(len(plan.rolled) for plan in plans)
    print(
        f"{count:>6} bookings seed {seed}: {used} containers / lower bound {bound} = {used / bound:.4f}"
        f" ({plans[0].lower_bound}+{plans[1].lower_bound} dry+reefer), {elapsed:.3f} s,"
        f" rolled {rolled}, violations {violations}"
    )
    if budget_cut:
        cut = [
            PoolCargo(
                container=p.container, bookings=p.bookings, container_budget=len(plan.containers) - budget_cut
            )
            for p, plan in zip(planned, plans, strict=True)
            if len(plan.containers) > budget_cut
        ]
        started = time.perf_counter()
        cut_plans = [plan_consolidation(pool) for pool in cut]
        elapsed = time.perf_counter() - started
        rolled = sum(len(plan.rolled) for plan in cut_plans)
        print(f"{'':>6} budget {budget_cut} fewer: rolled {rolled}, {elapsed:.3f} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--sizes", default="200,2000,10000")
    parser.add_argument("--budget-cut", type=int, default=0)
    args = parser.parse_args()
    for count in (int(size) for size in args.sizes.split(",")):
        for seed in (int(seed) for seed in args.seeds.split(",")):
            run(count, seed, args.budget_cut)


if __name__ == "__main__":
    main()
