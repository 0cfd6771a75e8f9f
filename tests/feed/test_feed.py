"""The events feed: a poller with its cursor sees every event once, in a stable order, even one
whose transaction committed after an event with a higher id was already visible; it sees its
own events and those it placed as a marketplace, and nothing else."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import msgspec
import pytest
from sqlalchemy import insert, select

from app.db import transaction
from app.events import outbox
from app.feed.reader import read_feed
from app.feed.repository import outbox as outbox_table
from app.feed.sequencer import sequence_events
from app.runtime import Runtime
from tests.factories import Account, World, fcl_hold


def event(organisation_id: uuid.UUID, index: int) -> outbox.PendingEvent:
    return outbox.PendingEvent("hold.created", f"subject-{index}", organisation_id, {"index": index})


def with_id(pending: outbox.PendingEvent, at: datetime, event_id: int) -> dict[str, Any]:
    """The outbox row of ``pending`` with its sequence id chosen, to commit ids out of order."""
    return {**msgspec.structs.asdict(outbox.row(pending, at)), "id": event_id}


async def poll(rt: Runtime, account: Account, cursor: str | None, **kw: Any) -> tuple[list[int], str]:
    """One poll: the ``index`` of each event listed, and the next cursor."""
    page = await read_feed(
        rt, account.actor, after=cursor, event_types=kw.get("types", []), limit=kw.get("limit", 100)
    )
    return [item.data["index"] for item in page.items], page.next_cursor


async def test_an_event_committed_after_a_later_one_is_not_skipped_by_a_poller_past_it(
    runtime: Runtime, world: World
) -> None:
    """The hole of an ``id > cursor`` feed: event A takes the lower id, B the higher; B commits
    and is polled first, then A commits. The poller, resuming after B, must still get A."""
    org = world.shipper.organisation_id
    now = datetime.now(UTC)
    seen: list[int] = []
    if runtime.dialect == "postgresql":
        # Two real transactions committing out of id order.
        async with transaction(runtime.engine) as slow:
            await outbox.record(slow, [event(org, 1)], now)  # A: inserted first, lower id
            async with transaction(runtime.engine) as fast:
                await outbox.record(fast, [event(org, 2)], now)  # B: higher id, committed first
            await sequence_events(runtime)
            first, cursor = await poll(runtime, world.shipper, None)
    else:
        # SQLite admits one writer at a time, so its ids follow commit order; the same hole is
        # made by hand: B commits with a higher id, then A with a lower one.
        async with transaction(runtime.engine) as conn:
            await conn.execute(
                insert(outbox_table),
                [{**msgspec.structs.asdict(outbox.row(event(org, 2), now)), "id": 1_000}],
            )
        await sequence_events(runtime)
        first, cursor = await poll(runtime, world.shipper, None)
        async with transaction(runtime.engine) as conn:
            await conn.execute(
                insert(outbox_table), [{**msgspec.structs.asdict(outbox.row(event(org, 1), now)), "id": 500}]
            )
    seen += first
    assert seen == [2]  # B visible, A not yet committed
    await sequence_events(runtime)
    second, _ = await poll(runtime, world.shipper, cursor)
    seen += second

    assert seen == [2, 1]
    ids = await _ids_by_index(runtime)
    assert ids[1] < ids[2], "A has the lower id: a feed ordered by id would have skipped it"


async def _ids_by_index(rt: Runtime) -> dict[int, int]:
    async with transaction(rt.engine, read_only=True) as conn:
        rows = await conn.execute(select(outbox_table.c.id, outbox_table.c.payload))
        return {row.payload["index"]: row.id for row in rows if "index" in row.payload}


async def test_a_poller_sees_every_event_exactly_once_whatever_order_transactions_commit_in(
    runtime: Runtime, world: World
) -> None:
    org = world.shipper.organisation_id
    shuffle = random.Random(10)
    seen: list[int] = []
    cursor: str | None = None
    now = datetime.now(UTC)
    total = 0
    for round_ in range(6):
        batch = list(range(total, total + 8))
        total += 8
        order = batch[:]
        shuffle.shuffle(order)
        if runtime.dialect == "postgresql":
            # Eight writers insert in index order, then commit in a shuffled order with polls
            # in between.
            contexts = [transaction(runtime.engine) for _ in batch]
            conns = [await context.__aenter__() for context in contexts]
            for index, conn in zip(batch, conns, strict=True):
                await outbox.record(conn, [event(org, index)], now)
            for index in order:
                await contexts[index - batch[0]].__aexit__(None, None, None)
                await sequence_events(runtime)
                listed, cursor = await poll(runtime, world.shipper, cursor, limit=3)
                seen += listed
        else:
            base = 10_000 * (round_ + 1)
            for index in order:
                async with transaction(runtime.engine) as conn:
                    row = with_id(event(org, index), now, base - index)
                    await conn.execute(insert(outbox_table), [row])
                await sequence_events(runtime)
                listed, cursor = await poll(runtime, world.shipper, cursor, limit=3)
                seen += listed
    while True:
        listed, cursor = await poll(runtime, world.shipper, cursor, limit=3)
        if not listed:
            break
        seen += listed

    assert sorted(seen) == list(range(total))  # every one, none twice


async def test_pages_follow_one_another_in_a_stable_order_and_say_when_more_is_there(
    runtime: Runtime, world: World
) -> None:
    org = world.shipper.organisation_id
    async with transaction(runtime.engine) as conn:
        await outbox.record(conn, [event(org, i) for i in range(25)], datetime.now(UTC))
    await sequence_events(runtime)

    pages, cursor, more = [], None, True
    while more:
        page = await read_feed(runtime, world.shipper.actor, after=cursor, event_types=[], limit=10)
        pages.append([item.data["index"] for item in page.items])
        cursor, more = page.next_cursor, page.has_more
    assert pages == [list(range(10)), list(range(10, 20)), list(range(20, 25))]
    again = await read_feed(runtime, world.shipper.actor, after=None, event_types=[], limit=100)
    assert [item.data["index"] for item in again.items] == list(range(25))
    idle = await read_feed(runtime, world.shipper.actor, after=cursor, event_types=[], limit=10)
    assert (idle.items, idle.next_cursor, idle.has_more) == ([], cursor, False)


async def test_only_sequenced_events_are_listed(runtime: Runtime, world: World) -> None:
    async with transaction(runtime.engine) as conn:
        await outbox.record(conn, [event(world.shipper.organisation_id, 0)], datetime.now(UTC))
    assert (await poll(runtime, world.shipper, None))[0] == []
    await sequence_events(runtime)
    assert (await poll(runtime, world.shipper, None))[0] == [0]


async def test_each_organisation_sees_its_own_events_and_a_marketplace_those_it_placed(
    runtime: Runtime, client: httpx.AsyncClient, world: World
) -> None:
    mine = await client.post("/v1/holds", json=fcl_hold(world.sailing.id), headers=world.shipper.posting())
    placed = await client.post(
        "/v1/holds",
        json=fcl_hold(world.sailing.id, on_behalf_of=str(world.market_shipper.organisation_id)),
        headers=world.marketplace.posting(),
    )
    direct = await client.post(
        "/v1/holds", json=fcl_hold(world.sailing.id), headers=world.market_shipper.posting()
    )
    await sequence_events(runtime)

    async def subjects(account: Account) -> set[str]:
        page = (await client.get("/v1/events", headers=account.headers)).json()
        return {item["subject"] for item in page["items"]}

    assert await subjects(world.shipper) == {mine.json()["id"]}
    assert await subjects(world.other_shipper) == set()
    assert await subjects(world.market_shipper) == {placed.json()["id"], direct.json()["id"]}
    # The marketplace sees what it placed, not what its shipper did alone.
    assert await subjects(world.marketplace) == {placed.json()["id"]}
    assert await subjects(world.operator) >= {mine.json()["id"], placed.json()["id"], direct.json()["id"]}


async def test_a_type_filter_moves_the_cursor_past_what_it_leaves_out(
    runtime: Runtime, client: httpx.AsyncClient, world: World
) -> None:
    hold = (
        await client.post("/v1/holds", json=fcl_hold(world.sailing.id), headers=world.shipper.posting())
    ).json()
    await client.delete(f"/v1/holds/{hold['id']}", headers=world.shipper.headers)
    await sequence_events(runtime)

    released = await client.get("/v1/events?types=hold.released", headers=world.shipper.headers)
    assert [item["type"] for item in released.json()["items"]] == ["hold.released"]
    both = await client.get(
        "/v1/events?types=hold.released,hold.created&limit=1", headers=world.shipper.headers
    )
    assert [item["type"] for item in both.json()["items"]] == ["hold.created"]
    assert both.json()["has_more"] is True
    # Nothing of this type: the cursor still moves to the end, so the next poll starts there.
    empty = (await client.get("/v1/events?types=booking.cancelled", headers=world.shipper.headers)).json()
    assert empty["items"] == []
    everything = (
        await client.get(f"/v1/events?after={empty['next_cursor']}", headers=world.shipper.headers)
    ).json()
    assert everything["items"] == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("types=hold.teleported", "types"),
        ("after=not-a-cursor", "after"),
        ("after=ZmVlZDotMQ", "after"),  # "feed:-1"
        ("limit=0", "limit"),
        ("limit=501", "limit"),
    ],
)
async def test_bad_feed_queries_are_refused_by_field(
    client: httpx.AsyncClient, world: World, query: str, field: str
) -> None:
    response = await client.get(f"/v1/events?{query}", headers=world.shipper.headers)
    assert response.status_code in (400, 422), response.text
    assert field in response.text


async def test_an_event_naming_no_marketplace_as_its_placer_is_sequenced_all_the_same(
    runtime: Runtime, world: World
) -> None:
    org = world.shipper.organisation_id
    strangers = [str(uuid.uuid4()), str(world.other_shipper.organisation_id), "not-a-uuid"]
    async with transaction(runtime.engine) as conn:
        events = [
            outbox.PendingEvent("hold.created", i, org, {"index": i, "placed_by": p})
            for i, p in enumerate(strangers)
        ]
        await outbox.record(conn, events, datetime.now(UTC))

    assert await sequence_events(runtime) == 3
    assert (await poll(runtime, world.shipper, None))[0] == [0, 1, 2]
    assert (await poll(runtime, world.other_shipper, None))[0] == []
    async with transaction(runtime.engine, read_only=True) as conn:
        assert set((await conn.execute(select(outbox_table.c.marketplace_id))).scalars()) == {None}
