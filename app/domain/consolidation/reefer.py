"""Which reefer cargo may share a container, and at what set point the container runs.

A reefer container runs at one set point. Reefer cargo shares a container only with cargo whose
set point is at most the pool's tolerance away (default 0 °C: the same set point), and the
container runs at the lowest set point aboard, so no cargo is carried warmer than it asked.
Dry cargo never rides in an operating reefer (it was not declared for temperature control and
the manifest gives one set point per container); a reefer that carries only dry cargo is run as
a non-operating reefer (DCSA ``isNonOperatingReefer``).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal


def set_point_bands(set_points: Iterable[Decimal], tolerance_c: Decimal) -> dict[Decimal, Decimal]:
    """Each set point mapped to the lowest of its band; a band spans at most ``tolerance_c``.

    Bands are cut from the coldest set point upwards, so the grouping is a partition and the same
    set points always give the same bands.
    """
    bands: dict[Decimal, Decimal] = {}
    floor: Decimal | None = None
    for set_point in sorted(set(set_points)):
        if floor is None or set_point - floor > tolerance_c:
            floor = set_point
        bands[set_point] = floor
    return bands


def set_points_compatible(set_points: Iterable[Decimal], tolerance_c: Decimal) -> bool:
    """Whether cargo with these set points may ride in one operating reefer."""
    points = list(set_points)
    return not points or max(points) - min(points) <= tolerance_c
