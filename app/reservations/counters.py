"""How a hold's or booking's quantity moves the counters of its allotment or pool.

Every move goes through app.inventory.repository.adjust. Lock order, everywhere: a hold or booking
row first, then pools, then allotments (the LCL draw takes its pool before the allotment), each
kind in id order; so transactions touching several counters never wait on each other in a cycle.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable
from typing import Any

import msgspec
from sqlalchemy import BindParameter, Integer, Table, Update, bindparam
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain.states import Load
from app.inventory import repository as inventory


class Quantity(msgspec.Struct, frozen=True, kw_only=True):
    """Space claimed on one counter row: units of an allotment, or dm3 and grams of a pool."""

    load: Load
    allotment_id: uuid.UUID | None
    pool_id: uuid.UUID | None
    units: int = 0
    volume_dm3: int = 0
    weight_g: int = 0

    @classmethod
    def of(cls, row: Any) -> Quantity:
        """The quantity recorded on a hold or booking row."""
        return cls(
            load=Load(row.load),
            allotment_id=row.allotment_id,
            pool_id=row.pool_id,
            units=row.units,
            volume_dm3=row.volume_dm3,
            weight_g=row.weight_g,
        )

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

    @property
    def counter_id(self) -> uuid.UUID:
        counter = self.allotment_id if self.load is Load.FCL else self.pool_id
        assert counter is not None
        return counter


def _deltas(quantity: Quantity, stage: str) -> dict[str, int]:
    if quantity.load is Load.FCL:
        return {f"units_{stage}": quantity.units}
    return {f"volume_{stage}_dm3": quantity.volume_dm3, f"weight_{stage}_g": quantity.weight_g}


def _table(quantity: Quantity) -> Table:
    return inventory.allotments if quantity.load is Load.FCL else inventory.pools


@functools.cache
def claim_template(load: Load, stage: str = "held") -> Update:
    """The claim statement built once, with bind parameters ``claim_counter_id`` and
    ``claim_units`` (FCL) or ``claim_volume_dm3`` and ``claim_weight_g`` (LCL), given by
    :func:`claim_params`. The names match no column: SQLAlchemy adds a parameter named like a
    column of the updated table to its SET clause."""
    units: BindParameter[int] = bindparam("claim_units", type_=Integer)
    volume: BindParameter[int] = bindparam("claim_volume_dm3", type_=Integer)
    weight: BindParameter[int] = bindparam("claim_weight_g", type_=Integer)
    if load is Load.FCL:
        return inventory.adjustment(
            inventory.allotments,
            bindparam("claim_counter_id"),
            {f"units_{stage}": units},
            when=inventory.units_available(units),
        )
    return inventory.adjustment(
        inventory.pools,
        bindparam("claim_counter_id"),
        {f"volume_{stage}_dm3": volume, f"weight_{stage}_g": weight},
        when=inventory.space_available(volume, weight),
    )


def claim_params(quantity: Quantity) -> dict[str, Any]:
    return {
        "claim_counter_id": quantity.counter_id,
        "claim_units": quantity.units,
        "claim_volume_dm3": quantity.volume_dm3,
        "claim_weight_g": quantity.weight_g,
    }


async def try_claim(conn: AsyncConnection, quantity: Quantity, stage: str = "held") -> bool:
    """Add to ``held`` (or ``booked``) only if that much space is free; positive parts only."""
    result = await conn.execute(claim_template(quantity.load, stage), claim_params(quantity))
    return result.first() is not None


async def move(conn: AsyncConnection, quantity: Quantity, *, held: int = 0, booked: int = 0) -> None:
    """Give back or transfer space: ``held``/``booked`` are -1, 0 or +1 times the quantity.

    Only moves that cannot exceed the total go through here (release, confirm); the CHECK
    constraints stand behind them.
    """
    deltas: dict[str, int] = {}
    if held:
        deltas.update(_deltas(quantity.scaled(held), "held"))
    if booked:
        deltas.update(_deltas(quantity.scaled(booked), "booked"))
    changed = await inventory.adjust(conn, _table(quantity), quantity.counter_id, deltas)
    assert changed, "counter row vanished"


async def release_all(conn: AsyncConnection, quantities: Iterable[Quantity], stage: str) -> None:
    """Give back many holds' or bookings' space, one UPDATE per counter row, in id order."""
    totals: dict[tuple[Load, uuid.UUID], Quantity] = {}
    for quantity in quantities:
        key = (quantity.load, quantity.counter_id)
        previous = totals.get(key)
        totals[key] = quantity if previous is None else previous.minus(quantity.scaled(-1))
    for key in sorted(totals, key=lambda k: (k[0] is Load.FCL, k[1])):
        deltas = _deltas(totals[key].scaled(-1), stage)
        await inventory.adjust(conn, _table(totals[key]), key[1], deltas)
