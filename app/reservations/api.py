"""HTTP endpoints of holds and bookings (v1)."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, Response, delete, get, patch, post
from litestar.params import Parameter

from app.accounts.actor import Actor, OrgKind, Scope
from app.accounts.auth import requires
from app.api.contract import API_KEY, ETAG, LOCATION, answers, example_body
from app.api.idempotent import AnyRequest, IdempotencyKey, run_idempotent
from app.api.paging import Cursor, Limit
from app.domain.errors import (
    HoldExpired,
    HoldNotExtendable,
    InsufficientCapacity,
    InvalidRequest,
    InvalidTransition,
    NotFound,
    OnBehalfOfRequired,
    PoolClosed,
    PreconditionFailed,
    PreconditionRequired,
    SailingClosed,
)
from app.domain.states import BookingState, HoldState
from app.reservations import bookings, holds
from app.reservations.invariants import InvariantReport, check_invariants
from app.reservations.schemas import (
    BookingAmend,
    BookingPage,
    BookingView,
    HoldConfirm,
    HoldCreate,
    HoldExtend,
    HoldPage,
    HoldView,
)
from app.reservations.views import etag
from app.runtime import Runtime

IfMatch = Annotated[
    str | None,
    Parameter(
        header="If-Match",
        required=True,
        description='The ETag of the booking as last read, such as "v3" (428 without it, 412 if stale).',
        schema_extra={"oneOf": None, "type": "string", "examples": ['"v1"']},
    ),
]


CARGO_EXAMPLE = {
    "description": "Wooden furniture",
    "hs_code": "940360",
    "packages": 40,
    "gross_kg": "18500",
    "cbm": "52.4",
}
PARTIES_EXAMPLE = {"shipper": {"name": "Exporter Ltd"}, "consignee": {"name": "Importer Inc"}}


class HoldController(Controller):
    path = "/v1/holds"
    tags = ["holds"]
    security = API_KEY

    @post(
        "/",
        guards=[requires(Scope.WRITE)],
        status_code=201,
        summary="Hold space on a sailing",
        operation_id="placeHold",
        response_headers=[LOCATION],
        responses=answers(
            NotFound,
            InsufficientCapacity,
            SailingClosed,
            PoolClosed,
            InvalidTransition,
            OnBehalfOfRequired,
            body=True,
            idempotent=True,
        ),
    )
    async def place(
        self,
        request: AnyRequest,
        data: Annotated[HoldCreate, example_body(HoldCreate, size_type="42G1", units=2, ttl_seconds=600)],
        rt: Runtime,
        actor: Actor,
        idempotency_key: IdempotencyKey,
    ) -> Response[HoldView]:
        """Hold FCL units or LCL CBM+kg for a few minutes at a locked price. A marketplace names
        the shipper it holds for in ``on_behalf_of``."""
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

    @get(
        "/",
        guards=[requires(Scope.READ)],
        summary="List holds",
        operation_id="listHolds",
        responses=answers(),
    )
    async def list(
        self,
        rt: Runtime,
        actor: Actor,
        hold_state: Annotated[HoldState | None, Parameter(query="state")] = None,
        sailing_id: uuid.UUID | None = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> HoldPage:
        """Your holds (a marketplace's include those it placed), newest first."""
        return await holds.list_holds(
            rt, actor, state=hold_state, sailing_id=sailing_id, cursor=cursor, limit=limit
        )

    @get(
        "/{hold_id:uuid}",
        guards=[requires(Scope.READ)],
        summary="Read a hold",
        operation_id="getHold",
        responses=answers(NotFound),
    )
    async def read(self, hold_id: uuid.UUID, rt: Runtime, actor: Actor) -> HoldView:
        return await holds.get_hold(rt, actor, hold_id)

    @delete(
        "/{hold_id:uuid}",
        guards=[requires(Scope.WRITE)],
        status_code=200,
        summary="Release a hold",
        operation_id="releaseHold",
        responses=answers(NotFound, InvalidTransition),
    )
    async def release(self, hold_id: uuid.UUID, rt: Runtime, actor: Actor) -> HoldView:
        """Give the space back at once; releasing twice answers the released hold."""
        return await holds.release_hold(rt, actor, hold_id)

    @post(
        "/{hold_id:uuid}/extend",
        guards=[requires(Scope.WRITE)],
        status_code=200,
        summary="Keep a hold longer",
        operation_id="extendHold",
        responses=answers(
            NotFound,
            HoldExpired,
            HoldNotExtendable,
            InvalidTransition,
            SailingClosed,
            body=True,
            idempotent=True,
        ),
    )
    async def extend(
        self,
        request: AnyRequest,
        hold_id: uuid.UUID,
        data: Annotated[HoldExtend, example_body(HoldExtend)],
        rt: Runtime,
        actor: Actor,
        idempotency_key: IdempotencyKey,
    ) -> Response[HoldView]:
        """Keep the hold ``ttl_seconds`` from now, never past its maximum lifetime nor the
        sailing's cut-off (``expires_at`` says where it ended). An expired hold is 409
        ``hold-expired``, a released or confirmed one 409 ``invalid-state``, one already at its
        limit 409 ``hold-not-extendable``."""
        return await run_idempotent(
            request,
            rt,
            actor,
            lambda finish: holds.extend_hold(rt, actor, hold_id, data, finish),
            status=200,
        )

    @post(
        "/{hold_id:uuid}/confirm",
        guards=[requires(Scope.WRITE)],
        status_code=201,
        summary="Confirm a hold into a booking",
        operation_id="confirmHold",
        response_headers=[LOCATION, ETAG],
        responses=answers(NotFound, HoldExpired, InvalidTransition, PoolClosed, body=True, idempotent=True),
    )
    async def confirm(
        self,
        request: AnyRequest,
        hold_id: uuid.UUID,
        data: Annotated[HoldConfirm, example_body(HoldConfirm, cargo=CARGO_EXAMPLE, parties=PARTIES_EXAMPLE)],
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


Reference = Annotated[
    str, Parameter(max_length=32, description="The booking reference, such as SP-7KQ4M2XD9A")
]


class BookingController(Controller):
    path = "/v1/bookings"
    tags = ["bookings"]
    security = API_KEY

    @get(
        "/",
        guards=[requires(Scope.READ)],
        summary="List bookings",
        operation_id="listBookings",
        responses=answers(),
    )
    async def list(
        self,
        rt: Runtime,
        actor: Actor,
        booking_state: Annotated[BookingState | None, Parameter(query="state")] = None,
        sailing_id: uuid.UUID | None = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> BookingPage:
        return await bookings.list_bookings(
            rt, actor, state=booking_state, sailing_id=sailing_id, cursor=cursor, limit=limit
        )

    @get(
        "/{reference:str}",
        guards=[requires(Scope.READ)],
        summary="Read a booking",
        operation_id="getBooking",
        response_headers=[ETAG],
        responses=answers(NotFound),
    )
    async def read(self, reference: Reference, rt: Runtime, actor: Actor) -> Response[BookingView]:
        view = await bookings.get_booking(rt, actor, reference)
        return Response(view, headers={"ETag": etag(view.version)})

    @patch(
        "/{reference:str}",
        guards=[requires(Scope.WRITE)],
        summary="Amend a booking",
        operation_id="amendBooking",
        response_headers=[ETAG],
        responses=answers(
            NotFound,
            InvalidTransition,
            SailingClosed,
            PoolClosed,
            InsufficientCapacity,
            PreconditionFailed,
            PreconditionRequired,
            InvalidRequest,
            body=True,
        ),
    )
    async def amend(
        self,
        reference: Reference,
        data: Annotated[BookingAmend, example_body(BookingAmend, units=3)],
        rt: Runtime,
        actor: Actor,
        if_match: IfMatch = None,
    ) -> Response[BookingView]:
        """Change units, CBM/kg, cargo or parties. Send the ETag you read in If-Match."""
        view = await bookings.amend_booking(rt, actor, reference, _version(if_match), data)
        return Response(view, headers={"ETag": etag(view.version)})

    @post(
        "/{reference:str}/cancel",
        guards=[requires(Scope.WRITE)],
        status_code=200,
        summary="Cancel a booking",
        operation_id="cancelBooking",
        response_headers=[ETAG],
        responses=answers(NotFound, InvalidTransition, SailingClosed, idempotent=True),
    )
    async def cancel(
        self,
        request: AnyRequest,
        reference: Reference,
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
    if not value.startswith("v") or not value[1:].isdigit() or len(value) > 12:
        raise InvalidRequest("If-Match", 'If-Match must be an ETag this API returned, such as "v3"')
    return int(value[1:])


class InvariantsController(Controller):
    path = "/v1/admin/invariants"
    tags = ["admin"]
    guards = [requires(Scope.ADMIN, OrgKind.OPERATOR)]
    security = API_KEY

    @get("/", summary="Check DESIGN invariants 1-5 now", operation_id="checkInvariants", responses=answers())
    async def check(self, rt: Runtime) -> InvariantReport:
        """Every violation found; an empty list means the inventory and its ledger agree."""
        violations = await check_invariants(rt)
        return InvariantReport(ok=not violations, violations=violations)
