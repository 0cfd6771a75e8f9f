"""Capacity arithmetic for allotments (whole containers) and pools (shared LCL space).

The database enforces these rules with conditional UPDATEs; these functions decide, from plain
numbers, what a request needs so the service knows which statements to run.
"""

from __future__ import annotations

import msgspec

from app.domain.errors import InvalidQuantity


class PoolSpace(msgspec.Struct, frozen=True, kw_only=True):
    """Free LCL space of one pool, in dm3 and grams, and the size of one more container."""

    free_dm3: int
    free_g: int
    container_dm3: int
    container_g: int


class LclPlan(msgspec.Struct, frozen=True, kw_only=True):
    containers_to_draw: int


def check_lcl_request(volume_dm3: int, weight_g: int, container_dm3: int, container_g: int) -> None:
    """An LCL shipment must be positive and fit one container of its pool, else it is FCL."""
    if volume_dm3 <= 0 or weight_g <= 0:
        raise InvalidQuantity("cbm", "LCL holds need a positive volume and weight")
    if volume_dm3 > container_dm3:
        raise InvalidQuantity("cbm", "volume exceeds one container's usable space: book FCL")
    if weight_g > container_g:
        raise InvalidQuantity("kg", "weight exceeds one container's payload: book FCL")


def plan_lcl(space: PoolSpace, volume_dm3: int, weight_g: int) -> LclPlan:
    """How many containers the pool must draw from the allotment to take this shipment."""
    check_lcl_request(volume_dm3, weight_g, space.container_dm3, space.container_g)
    if volume_dm3 <= space.free_dm3 and weight_g <= space.free_g:
        return LclPlan(containers_to_draw=0)
    return LclPlan(containers_to_draw=1)


def fits(free: int, wanted: int) -> bool:
    return 0 < wanted <= free
