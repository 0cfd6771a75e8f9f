"""A consolidation plan: the containers a pool's bookings are packed into, and what was rolled."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

import msgspec

from app.domain.consolidation.cargo import ContainerSpec


class RollReason(StrEnum):
    """Why a live booking is not in any container of the plan."""

    # The booking alone is larger or heavier than one container (an amendment grew it past FCL).
    EXCEEDS_VOLUME = "exceeds-container-volume"
    EXCEEDS_PAYLOAD = "exceeds-container-payload"
    # Temperature-controlled cargo in a pool of dry containers.
    REEFER_IN_DRY_POOL = "reefer-cargo-in-dry-pool"
    # Its own dangerous goods must be segregated from each other: no container can take it whole.
    SEGREGATION_WITHIN_BOOKING = "segregation-within-booking"
    # Packing needs more containers than the pool may use; the newest bookings give way first.
    CONTAINER_BUDGET = "container-budget-exhausted"


class RolledBooking(msgspec.Struct, frozen=True, kw_only=True):
    reference: str
    reason: RollReason
    detail: str


class PlannedContainer(msgspec.Struct, frozen=True, kw_only=True):
    """One container of the plan: its bookings (oldest first) and what they add up to.

    ``set_point_c`` is the set point of an operating reefer; a reefer that carries only dry cargo
    has none and is ``non_operating_reefer``.
    """

    number: int
    size_type: str
    bookings: tuple[str, ...]
    volume_dm3: int
    weight_g: int
    dangerous_goods_classes: tuple[str, ...] = ()
    set_point_c: Decimal | None = None
    non_operating_reefer: bool = False


class ConsolidationPlan(msgspec.Struct, frozen=True, kw_only=True):
    """The containers of one pool's size-type, and the bookings rolled (newest first) with reasons.

    ``lower_bound`` is the fewest containers the placed bookings could need: per group of cargo
    that may share a container (dry, each reefer set point band), the larger of volume over usable
    volume and weight over payload, rounded up.
    """

    container: ContainerSpec
    containers: tuple[PlannedContainer, ...]
    rolled: tuple[RolledBooking, ...]
    lower_bound: int

    def container_by_booking(self) -> dict[str, int]:
        """Each placed booking's reference mapped to its container's number."""
        return {reference: planned.number for planned in self.containers for reference in planned.bookings}

    def fill_percent(self, planned: PlannedContainer) -> tuple[Decimal, Decimal]:
        """Volume and weight of one container as percentages of usable volume and payload."""
        return (
            _percent(planned.volume_dm3, self.container.usable_dm3),
            _percent(planned.weight_g, self.container.payload_g),
        )


def _percent(used: int, capacity: int) -> Decimal:
    return (Decimal(100 * used) / capacity).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
