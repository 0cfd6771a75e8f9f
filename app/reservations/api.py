"""HTTP endpoints of holds and bookings (v1)."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, Response, delete, get, patch, post
from litestar.params import Parameter

from app.accounts.actor import Actor, OrgKind, Scope
from app.accounts.auth import requires
from app.api.idempotent import AnyRequest, IdempotencyKey, run_idempotent
from app.domain.errors import InvalidRequest, PreconditionRequired
from app.reservations import bookings, holds
from app.reservations.invariants import InvariantReport, check_invariants
from app.reservations.schemas import BookingAmend, BookingPage, BookingView, HoldConfirm, HoldCreate, HoldView
from app.reservations.views import etag
from app.runtime import Runtime


class HoldController(Controller):
    path = "/v1/holds"
    tags = ["holds"]

    @post("/", guards=[requires(Scope.WRITE)], status_code=201, summary="Hold space on a sailing")
    async def place(
        self,
        request: AnyRequest,
        data: HoldCreate,
        rt: Runtime,
        actor: Actor,
        idempotency_key: IdempotencyKey,
    ) -> Response[HoldView]:
        """Hold FCL units or LCL CBM+kg for a few minutes at a locked price."""
        return await run_idempotent(
            request,
            rt,
            actor,
            lambda finish: holds.place_hold(rt, actor, data, finish),
            status=201,
            headers=lambda view: {"Location": f"/v1/holds/{view.id}"},
            # A hold stores its answer with its change: no separate lease of the key.
            lease_first=False,
        )

    @get("/{hold_id:uuid}", guards=[requires(Scope.READ)], summary="Read a hold")
    async def read(self, hold_id: uuid.UUID, rt: Runtime, actor: Actor) -> HoldView:
        return await holds.get_hold(rt, actor, hold_id)

    @delete("/{hold_id:uuid}", guards=[requires(Scope.WRITE)], status_code=200, summary="Release a hold")
    async def release(self, hold_id: uuid.UUID, rt: Runtime, actor: Actor) -> HoldView:
        """Give the space back at once; releasing twice answers the released hold."""
        return await holds.release_hold(rt, actor, hold_id)

    @post(
        "/{hold_id:uuid}/confirm",
        guards=[requires(Scope.WRITE)],
        status_code=201,
        summary="Confirm a hold into a booking",
    )
    async def confirm(
        self,
        request: AnyRequest,
        hold_id: uuid.UUID,
        data: HoldConfirm,
        rt: Runtime,
        actor: Actor,
        idempotency_key: IdempotencyKey,
    ) -> Response[BookingView]:
        """Add cargo and parties; the booking is charged the hold's quoted price."""
        return await run_idempotent(
            request,
            rt,
            actor,
            lambda finish: bookings.confirm_hold(rt, actor, hold_id, data, finish),
            status=201,
            headers=lambda view: {"Location": f"/v1/bookings/{view.reference}", "ETag": etag(view.version)},
        )


class BookingController(Controller):
    path = "/v1/bookings"
    tags = ["bookings"]

    @get("/", guards=[requires(Scope.READ)], summary="List bookings")
    async def list(
        self,
        rt: Runtime,
        actor: Actor,
        booking_state: Annotated[str | None, Parameter(query="state")] = None,
        sailing_id: uuid.UUID | None = None,
        cursor: str | None = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
    ) -> BookingPage:
        return await bookings.list_bookings(
            rt, actor, state=booking_state, sailing_id=sailing_id, cursor=cursor, limit=limit
        )

    @get("/{reference:str}", guards=[requires(Scope.READ)], summary="Read a booking")
    async def read(self, reference: str, rt: Runtime, actor: Actor) -> Response[BookingView]:
        view = await bookings.get_booking(rt, actor, reference)
        return Response(view, headers={"ETag": etag(view.version)})

    @patch("/{reference:str}", guards=[requires(Scope.WRITE)], summary="Amend a booking")
    async def amend(
        self,
        reference: str,
        data: BookingAmend,
        rt: Runtime,
        actor: Actor,
        if_match: Annotated[str | None, Parameter(header="If-Match", required=False)] = None,
    ) -> Response[BookingView]:
        """Change units, CBM/kg, cargo or parties. Send the ETag you read in If-Match."""
        view = await bookings.amend_booking(rt, actor, reference, _version(if_match), data)
        return Response(view, headers={"ETag": etag(view.version)})

    @post("/{reference:str}/cancel", guards=[requires(Scope.WRITE)], status_code=200, summary="Cancel")
    async def cancel(
        self,
        request: AnyRequest,
        reference: str,
        rt: Runtime,
        actor: Actor,
        idempotency_key: IdempotencyKey,
    ) -> Response[BookingView]:
        """Cancel before cut-off; the space goes back on sale."""
        return await run_idempotent(
            request,
            rt,
            actor,
            lambda finish: bookings.cancel_booking(rt, actor, reference, finish),
            status=200,
            headers=lambda view: {"ETag": etag(view.version)},
        )


def _version(if_match: str | None) -> int:
    if if_match is None:
        raise PreconditionRequired()
    value = if_match.strip().removeprefix("W/").strip('"')
    if not value.startswith("v") or not value[1:].isdigit():
        raise InvalidRequest("If-Match", 'If-Match must be an ETag this API returned, such as "v3"')
    return int(value[1:])


class InvariantsController(Controller):
    path = "/v1/admin/invariants"
    tags = ["admin"]
    guards = [requires(Scope.ADMIN, OrgKind.OPERATOR)]

    @get("/", summary="Check DESIGN invariants 1-4 now")
    async def check(self, rt: Runtime) -> InvariantReport:
        """Every violation found; an empty list means the inventory and its ledger agree."""
        violations = await check_invariants(rt)
        return InvariantReport(ok=not violations, violations=violations)
