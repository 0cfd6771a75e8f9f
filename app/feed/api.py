"""HTTP endpoints of the events feed and the event type catalogue."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.params import Parameter

from app.accounts.actor import Actor, Scope
from app.accounts.auth import requires
from app.api.contract import API_KEY, answers
from app.feed import reader as feed
from app.feed.schemas import EventPage, EventTypeView
from app.runtime import Runtime


class EventController(Controller):
    path = "/v1/events"
    tags = ["events"]
    guards = [requires(Scope.READ)]
    security = API_KEY

    @get("/", summary="Poll the events feed", operation_id="listEvents", responses=answers())
    async def poll(
        self,
        rt: Runtime,
        actor: Actor,
        after: Annotated[
            str | None,
            Parameter(max_length=200, description="The next_cursor of the previous page; omit to start"),
        ] = None,
        types: Annotated[
            list[str] | None,
            Parameter(description="Only these event types (repeat the parameter, or comma-separate)"),
        ] = None,
        limit: Annotated[int, Parameter(ge=1, le=500)] = 100,
    ) -> EventPage:
        """Your organisation's events (and those of holds and bookings you placed as a
        marketplace) in a stable order. Poll with ``next_cursor`` as ``after``: no event is
        ever skipped, even one whose transaction committed after a later event's."""
        return await feed.read_feed(rt, actor, after=after, event_types=types or [], limit=limit)


class EventTypeController(Controller):
    path = "/v1/event-types"
    tags = ["events"]
    guards = [requires(Scope.READ)]
    security = API_KEY

    @get(
        "/",
        summary="Every event type, with its payload schema and an example",
        operation_id="listEventTypes",
        responses=answers(),
    )
    async def catalogue(self) -> list[EventTypeView]:
        return feed.event_types()
