"""Capacity arithmetic for allotments (whole containers) and pools (shared LCL space).

The database enforces these rules with conditional UPDATEs; these functions decide, from plain
numbers, what a request needs so the service knows which statements to run.
"""

from __future__ import annotations

import uuid

import msgspec

from app.domain.errors import InvalidQuantity
from app.domain.states import Load


class Quantity(msgspec.Struct, frozen=True, kw_only=True):
    """Space on one counter row: units of an allotment (FCL), or dm3 and grams of a pool (LCL)."""

    load: Load
    allotment_id: uuid.UUID | None
    pool_id: uuid.UUID | None
    units: int = 0
    volume_dm3: int = 0
    weight_g: int = 0

    @property
    def counter_id(self) -> uuid.UUID:
        """The row whose counters this quantity moves: the allotment (FCL) or the pool (LCL)."""
        counter = self.allotment_id if self.load is Load.FCL else self.pool_id
        assert counter is not None
        return counter

    def scaled(self, factor: int) -> Quantity:
        return msgspec.structs.replace(
            self,
            units=self.units * factor,
            volume_dm3=self.volume_dm3 * factor,
            weight_g=self.weight_g * factor,
        )

    def minus(self, other: Quantity) -> Quantity:
        return msgspec.structs.replace(
            self,
            units=self.units - other.units,
            volume_dm3=self.volume_dm3 - other.volume_dm3,
            weight_g=self.weight_g - other.weight_g,
        )

    def growth(self) -> Quantity:
        """The positive part of a change: what must be claimed (the rest is given back)."""
        return msgspec.structs.replace(
            self, units=max(self.units, 0), volume_dm3=max(self.volume_dm3, 0), weight_g=max(self.weight_g, 0)
        )

    @property
    def is_zero(self) -> bool:
        return not (self.units or self.volume_dm3 or self.weight_g)


class PoolSpace(msgspec.Struct, frozen=True, kw_only=True):
    """Free LCL space of one pool, in dm3 and grams, and the size of one more container."""

    free_dm3: int
    free_g: int
    container_dm3: int
    container_g: int


def check_lcl_request(volume_dm3: int, weight_g: int, container_dm3: int, container_g: int) -> None:
    """An LCL shipment must be positive and fit one container of its pool, else it is FCL."""
    if volume_dm3 <= 0 or weight_g <= 0:
        raise InvalidQuantity("cbm", "LCL holds need a positive volume and weight")
    if volume_dm3 > container_dm3:
        raise InvalidQuantity("cbm", "volume exceeds one container's usable space: book FCL")
    if weight_g > container_g:
        raise InvalidQuantity("kg", "weight exceeds one container's payload: book FCL")


def containers_to_draw(space: PoolSpace, volume_dm3: int, weight_g: int) -> int:
    """How many containers the pool must draw from its allotment to take this much more cargo:
    none when it fits, else one (a shipment never exceeds one container)."""
    return 0 if volume_dm3 <= space.free_dm3 and weight_g <= space.free_g else 1
