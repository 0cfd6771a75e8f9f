"""What a pool must carry when it closes: its container, its live LCL bookings, its container budget.

Quantities are exact integers as the pools count them (app.domain.units): volume in dm3, weight in
grams. Set points are decimal degrees Celsius.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Final

import msgspec

from app.domain import trade_codes
from app.domain.errors import InvalidRequest
from app.domain.units import to_milli

# Reefer equipment runs from superfreezer (-70 °C) to warm cargo (+40 °C).
SET_POINT_RANGE_C: Final = (Decimal(-70), Decimal(40))
# Class 1 may carry its compatibility group letter (DCSA imoClass "1.4S"); segregation reads the division.
_CLASS_1_WITH_GROUP: Final = re.compile(r"^(1\.[1-6])[A-HJ-LN-S]$")
# IMDG 3.1.4 lists 18 segregation groups (DCSA segregationGroups "1" to "18").
SEGREGATION_GROUPS: Final = range(1, 19)


def hazard_division(imo_class: str) -> str:
    """The IMDG class or division of an IMO class code, without a class 1 compatibility group."""
    if imo_class in trade_codes.IMO_CLASSES:
        return imo_class
    with_group = _CLASS_1_WITH_GROUP.match(imo_class)
    if with_group:
        return with_group.group(1)
    raise InvalidRequest("imo_class", f"unknown IMDG class or division {imo_class!r}")


class DangerousGoods(msgspec.Struct, frozen=True, kw_only=True):
    """One dangerous goods line of a booking, as far as segregation needs it."""

    un_number: str
    imo_class: str
    subsidiary_classes: tuple[str, ...] = ()
    segregation_groups: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        if not re.match(trade_codes.UN_NUMBER, self.un_number):
            raise InvalidRequest("un_number", f"UN number {self.un_number!r} is not four digits")
        for imo_class in (self.imo_class, *self.subsidiary_classes):
            hazard_division(imo_class)
        if not self.segregation_groups <= set(SEGREGATION_GROUPS):
            raise InvalidRequest("segregation_groups", "IMDG segregation groups are numbered 1 to 18")


class PoolBooking(msgspec.Struct, frozen=True, kw_only=True):
    """A live LCL booking to pack: its space, when it was booked, and what it needs of a container.

    ``set_point_c`` is the reefer set point of temperature-controlled cargo; None is dry cargo.
    """

    reference: str
    volume_dm3: int
    weight_g: int
    booked_at: datetime
    dangerous_goods: tuple[DangerousGoods, ...] = ()
    set_point_c: Decimal | None = None

    def __post_init__(self) -> None:
        if self.volume_dm3 <= 0 or self.weight_g <= 0:
            raise InvalidRequest("cbm", f"booking {self.reference} needs a positive volume and weight")
        if self.booked_at.tzinfo is None:
            raise InvalidRequest("booked_at", "booking times are timezone-aware")
        low, high = SET_POINT_RANGE_C
        if self.set_point_c is not None and not low <= self.set_point_c <= high:
            raise InvalidRequest("set_point_c", f"set point must be between {low} and {high} °C")

    @property
    def is_reefer(self) -> bool:
        return self.set_point_c is not None


class ContainerSpec(msgspec.Struct, frozen=True, kw_only=True):
    """The pool's container: ISO 6346 size-type, usable volume (below nominal) and payload."""

    size_type: str
    usable_dm3: int
    payload_g: int

    def __post_init__(self) -> None:
        trade_codes.size_type_length_ft(self.size_type)
        if self.usable_dm3 <= 0 or self.payload_g <= 0:
            raise InvalidRequest("size_type", "a container needs positive usable volume and payload")

    @property
    def is_reefer(self) -> bool:
        """ISO 6346 type group R: integral reefer equipment."""
        return self.size_type[2] == "R"

    @classmethod
    def standard(cls, size_type: str) -> ContainerSpec:
        """The usable space and payload the platform sells per container of this size-type."""
        length_ft = trade_codes.size_type_length_ft(size_type)
        return cls(
            size_type=size_type,
            usable_dm3=to_milli(Decimal(trade_codes.POOL_USABLE_CBM[length_ft]), "cbm"),
            payload_g=to_milli(Decimal(trade_codes.POOL_PAYLOAD_KG[length_ft]), "kg"),
        )


class PoolCargo(msgspec.Struct, frozen=True, kw_only=True):
    """A closing pool: its container, its live bookings and how many containers it may use.

    ``container_budget`` is the containers the pool drew plus those still free in its allotment
    (None: no limit). Reefer cargo shares a container only with set points at most
    ``set_point_tolerance_c`` apart; the container runs at the lowest of them.
    """

    container: ContainerSpec
    bookings: tuple[PoolBooking, ...]
    container_budget: int | None = None
    set_point_tolerance_c: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        if self.container_budget is not None and self.container_budget < 0:
            raise InvalidRequest("container_budget", "a container budget cannot be negative")
        if self.set_point_tolerance_c < 0:
            raise InvalidRequest("set_point_tolerance_c", "a set point tolerance cannot be negative")
        references = [booking.reference for booking in self.bookings]
        if len(set(references)) != len(references):
            raise InvalidRequest("bookings", "each booking is packed once: references repeat")
