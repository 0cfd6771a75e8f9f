"""Test-only app: FCL holds claim space by a naive read-then-write, the race that the
conditional UPDATE exists to prevent.

The control test serves this app (``tests.concurrency.unguarded:create_app``) to prove that its
requests really race. Each FCL hold reads the allotment's counters in a transaction of its own,
refuses if that reading shows too little space, and otherwise places the hold with a claim that
writes back ``units_held`` as read plus the units, computed outside the database's row lock.
Done one at a time this never oversells; done concurrently it does. Everything else (HTTP,
keys, idempotency, the placement statement) is the real app.
"""

from __future__ import annotations

import uuid
from contextvars import ContextVar
from typing import Any

from litestar import Litestar
from sqlalchemy import Integer, Update, bindparam, select, update

from app import main
from app.accounts.actor import Actor
from app.db import transaction
from app.domain.capacity import Quantity
from app.domain.errors import InsufficientCapacity
from app.domain.states import Load
from app.events.idempotency import Finish
from app.inventory.repository import allotments, units_free
from app.reservations import holds, repository
from app.reservations.schemas import HoldCreate, HoldView
from app.runtime import Runtime

# ``units_held`` of the hold's allotment as this request read it, before its statement ran.
_observed_held: ContextVar[int | None] = ContextVar("observed_held", default=None)


def create_app() -> Litestar:
    """The app with the naive claim; an app factory for uvicorn (``--factory``)."""
    guarded_place = holds.place_hold
    guarded_statement = repository.claim_statement
    guarded_params = repository.claim_params

    async def place_hold(
        rt: Runtime, actor: Actor, request: HoldCreate, finish: Finish | None = None
    ) -> HoldView:
        if request.load is not Load.FCL or request.size_type is None or request.units is None:
            return await guarded_place(rt, actor, request, finish)
        observed = await _observe(rt, request.sailing_id, request.size_type)
        if observed is not None:
            held, free = observed
            if free < request.units:
                raise InsufficientCapacity(request.sailing_id, f"{request.units} units", f"{free} units")
            _observed_held.set(held)
        return await guarded_place(rt, actor, request, finish)

    def claim_statement(load: Load, stage: str = "held") -> Update:
        if load is Load.FCL and stage == "held":
            return _naive_claim()
        return guarded_statement(load, stage)

    def claim_params(quantity: Quantity) -> dict[str, Any]:
        return {**guarded_params(quantity), "observed_held": _observed_held.get()}

    holds.place_hold = place_hold  # type: ignore[assignment]
    repository.claim_statement = claim_statement  # type: ignore[assignment]
    repository.claim_params = claim_params
    return main.create_app()


def _naive_claim() -> Update:
    """``units_held = :observed_held + :claim_units`` whatever is free now: a lost update."""
    a = allotments
    return (
        update(a)
        .where(a.c.id == bindparam("claim_counter_id"))
        .values(
            units_held=bindparam("observed_held", type_=Integer) + bindparam("claim_units", type_=Integer)
        )
        .returning(a.c.id)
    )


async def _observe(rt: Runtime, sailing_id: uuid.UUID, size_type: str) -> tuple[int, int] | None:
    """The allotment's held and free units as they are now, read in a transaction of its own."""
    query = select(allotments.c.units_held, units_free).where(
        allotments.c.sailing_id == sailing_id, allotments.c.size_type == size_type
    )
    async with transaction(rt.engine, read_only=True) as conn:
        row = (await conn.execute(query)).first()
    return None if row is None else (int(row[0]), int(row[1]))
