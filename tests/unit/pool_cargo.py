"""Builders and hypothesis strategies for closing pools (consolidation tests)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import strategies as st

from app.domain.consolidation import ContainerSpec, DangerousGoods, PoolBooking, PoolCargo

T0 = datetime(2025, 3, 1, tzinfo=UTC)
# A small container makes packing decisions (and mistakes) frequent: 10 CBM, 5 t.
SMALL = ContainerSpec(size_type="45G1", usable_dm3=10_000, payload_g=5_000_000)
SMALL_REEFER = ContainerSpec(size_type="45R1", usable_dm3=10_000, payload_g=5_000_000)

PAINT = DangerousGoods(un_number="1263", imo_class="3")
INK = DangerousGoods(un_number="1210", imo_class="3")
OXIDIZER = DangerousGoods(un_number="1479", imo_class="5.1")
BATTERIES = DangerousGoods(un_number="3481", imo_class="9")
ACID = DangerousGoods(un_number="1789", imo_class="8", segregation_groups=frozenset({1}))
ALKALI = DangerousGoods(un_number="1719", imo_class="8", segregation_groups=frozenset({18}))
CARTRIDGES = DangerousGoods(un_number="0012", imo_class="1.4S")


def booking(
    reference: str,
    cbm: str | int = 1,
    kg: str | int = 100,
    *,
    minute: int = 0,
    goods: tuple[DangerousGoods, ...] = (),
    set_point: str | None = None,
) -> PoolBooking:
    return PoolBooking(
        reference=reference,
        volume_dm3=int(Decimal(cbm) * 1000),
        weight_g=int(Decimal(kg) * 1000),
        booked_at=T0 + timedelta(minutes=minute),
        dangerous_goods=goods,
        set_point_c=None if set_point is None else Decimal(set_point),
    )


def pool(
    *bookings: PoolBooking,
    container: ContainerSpec = SMALL,
    budget: int | None = None,
    tolerance: str = "0",
) -> PoolCargo:
    return PoolCargo(
        container=container,
        bookings=bookings,
        container_budget=budget,
        set_point_tolerance_c=Decimal(tolerance),
    )


_GOODS = st.sampled_from(
    [(), (), (), (PAINT,), (INK,), (OXIDIZER,), (BATTERIES,), (ACID,), (ALKALI,), (PAINT, INK)]
)
_SET_POINTS = st.sampled_from([None, None, None, Decimal(-18), Decimal("-17.5"), Decimal(2), Decimal(13)])


@st.composite
def pools(draw: st.DrawFn, *, reefer: bool | None = None, budget: bool = True) -> PoolCargo:
    """Pools of up to 40 bookings, some too large for a container, with DG, reefer and ties in time."""
    is_reefer = draw(st.booleans()) if reefer is None else reefer
    container = SMALL_REEFER if is_reefer else SMALL
    count = draw(st.integers(0, 40))
    bookings = tuple(
        PoolBooking(
            reference=f"B{n:03d}",
            volume_dm3=draw(st.integers(1, 11_000)),
            weight_g=draw(st.integers(1, 5_500_000)),
            booked_at=T0 + timedelta(minutes=draw(st.integers(0, 30))),
            dangerous_goods=draw(_GOODS),
            set_point_c=draw(_SET_POINTS),
        )
        for n in range(count)
    )
    container_budget = draw(st.none() | st.integers(0, 12)) if budget else None
    tolerance = draw(st.sampled_from([Decimal(0), Decimal("0.5")]))
    return PoolCargo(
        container=container,
        bookings=bookings,
        container_budget=container_budget,
        set_point_tolerance_c=tolerance,
    )
