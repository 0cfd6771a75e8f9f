"""Lazy reclaim: an overdue hold never blocks a sale, sweeper or not; and when a confirm races
the reclaim of the same hold, exactly one of them wins and the counters move once."""

from __future__ import annotations

import asyncio
from collections import Counter

import msgspec
import pytest
from sqlalchemy import select, update

from app.accounts.actor import OrgKind
from app.clock import Clock
from app.db import create_engine, transaction
from app.domain.errors import HoldExpired, InsufficientCapacity
from app.domain.states import Load
from app.events.models import OutboxEvent
from app.inventory.models import Allotment
from app.reservations import bookings, holds
from app.reservations.invariants import check_invariants
from app.reservations.schemas import HoldConfirm, HoldCreate
from app.runtime import Runtime
from tests.factories import confirmation, make_account, make_sailing


def one_unit(sailing_id: object) -> HoldCreate:
    return HoldCreate(sailing_id=sailing_id, load=Load.FCL, size_type="42G1", units=1, ttl_seconds=60)  # type: ignore[arg-type]


async def events_of(runtime: Runtime, kind: str) -> Counter[str]:
    table = OutboxEvent.__table__
    async with transaction(runtime.engine, read_only=True) as conn:
        rows = await conn.execute(select(table.c.subject_id).where(table.c.type == kind))
        return Counter(subject for (subject,) in rows)


async def test_overdue_hold_never_blocks_a_new_hold(runtime: Runtime) -> None:
    first, second = await make_account(runtime, OrgKind.SHIPPER), await make_account(runtime, OrgKind.SHIPPER)
    sailing = await make_sailing(runtime, units=1, pool=False)
    stale = await holds.place_hold(runtime, first.actor, one_unit(sailing.id))

    runtime.clock.advance(61)  # past the TTL; no sweeper runs in this test
    fresh = await holds.place_hold(runtime, second.actor, one_unit(sailing.id))

    assert fresh.state == "active"
    assert (await holds.get_hold(runtime, first.actor, stale.id)).state == "expired"
    assert (await events_of(runtime, "hold.expired")) == {str(stale.id): 1}
    assert await check_invariants(runtime) == []


async def test_hold_not_yet_due_still_blocks(runtime: Runtime) -> None:
    first, second = await make_account(runtime, OrgKind.SHIPPER), await make_account(runtime, OrgKind.SHIPPER)
    sailing = await make_sailing(runtime, units=1, pool=False)
    await holds.place_hold(runtime, first.actor, one_unit(sailing.id))

    runtime.clock.advance(59)
    with pytest.raises(InsufficientCapacity):
        await holds.place_hold(runtime, second.actor, one_unit(sailing.id))


async def test_confirm_racing_the_reclaim_of_the_same_hold_has_exactly_one_winner(
    runtime: Runtime,
) -> None:
    """The confirm sees the hold still valid; the competing hold, on its own connection with a
    clock just past the expiry, reclaims it. Row locks decide; never both, never neither."""
    owner, rival = await make_account(runtime, OrgKind.SHIPPER), await make_account(runtime, OrgKind.SHIPPER)
    late_engine = create_engine(runtime.settings)
    late = Runtime(settings=runtime.settings, engine=late_engine, clock=Clock(offset_seconds=61))
    body = msgspec.convert(confirmation(), HoldConfirm)
    winners: Counter[str] = Counter()
    try:
        for _ in range(12):
            sailing = await make_sailing(runtime, units=1, pool=False)
            held = await holds.place_hold(runtime, owner.actor, one_unit(sailing.id))
            confirm, steal = await asyncio.gather(
                bookings.confirm_hold(runtime, owner.actor, held.id, body),
                holds.place_hold(late, rival.actor, one_unit(sailing.id)),
                return_exceptions=True,
            )
            confirmed = not isinstance(confirm, BaseException)
            stolen = not isinstance(steal, BaseException)
            assert confirmed != stolen, (confirm, steal)
            if confirmed:
                assert isinstance(steal, InsufficientCapacity)
            else:
                assert isinstance(confirm, HoldExpired)
            winners["confirm" if confirmed else "reclaim"] += 1
    finally:
        await late_engine.dispose()
    assert sum(winners.values()) == 12
    assert await check_invariants(runtime) == []
    expired = await events_of(runtime, "hold.expired")
    assert all(count == 1 for count in expired.values())
    assert len(expired) == winners["reclaim"]


async def test_a_refusal_after_waiting_for_the_row_reports_what_is_free_then(runtime: Runtime) -> None:
    """A claim that waited for another transaction's row lock fails on the newest counters,
    while the one statement's snapshot still shows the space that transaction took: the 409 must
    say what is free after it, not before."""
    if runtime.dialect != "postgresql":
        pytest.skip("SQLite runs one writer at a time: no claim waits inside its statement")
    shipper = await make_account(runtime, OrgKind.SHIPPER)
    sailing = await make_sailing(runtime, units=1, pool=False)
    allotments = Allotment.__table__
    bump = (
        update(allotments)
        .where(allotments.c.sailing_id == sailing.id)
        .values(units_held=allotments.c.units_held + 1)
    )
    async with runtime.engine.connect() as other:
        taking = await other.begin()
        await other.execute(bump)  # takes the last unit and holds the row lock
        attempt = asyncio.create_task(holds.place_hold(runtime, shipper.actor, one_unit(sailing.id)))
        await asyncio.sleep(0.3)  # the hold's statement is now waiting for the row
        await taking.commit()
        with pytest.raises(InsufficientCapacity) as refused:
            await attempt
    assert refused.value.extensions["free"] == "0 units"
