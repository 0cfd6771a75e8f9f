"""Operators read the carrier request outbox and settle requests whose outcome is unknown:
``/v1/admin/carrier-requests``."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.params import Parameter

from app.accounts.actor import Actor, OrgKind, Scope
from app.accounts.auth import requires
from app.api.contract import API_KEY, answers, example_body
from app.api.idempotent import AnyRequest, IdempotencyKey, run_idempotent
from app.api.paging import Cursor, Limit
from app.carrier_requests.models import RequestState
from app.dispatch import settle
from app.dispatch.schemas import CarrierRequestPage, CarrierRequestView, RequestSettlement
from app.domain.errors import InvalidTransition, NotFound
from app.events.idempotency import Finish
from app.runtime import Runtime


class CarrierRequestAdminController(Controller):
    path = "/v1/admin/carrier-requests"
    tags = ["admin"]
    guards = [requires(Scope.ADMIN, OrgKind.OPERATOR)]
    security = API_KEY

    @get(
        summary="List requests to carriers",
        operation_id="listCarrierRequests",
        responses=answers(),
    )
    async def list(
        self,
        rt: Runtime,
        request_state: Annotated[RequestState | None, Parameter(query="state")] = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> CarrierRequestPage:
        """Requests to carriers (bookings, amendments, cancellations, master bookings), newest
        first; ``state=unknown`` lists those waiting for an operator to settle them."""
        return await settle.list_requests(rt, request_state, cursor, limit)

    @get(
        "/{request_id:uuid}",
        summary="Read a request to a carrier",
        operation_id="getCarrierRequest",
        responses=answers(NotFound),
    )
    async def read(self, request_id: uuid.UUID, rt: Runtime) -> CarrierRequestView:
        return await settle.get_request(rt, request_id)

    @post(
        "/{request_id:uuid}/settle",
        summary="Settle a booking request whose outcome is unknown",
        status_code=200,
        operation_id="settleCarrierRequest",
        responses=answers(NotFound, InvalidTransition, body=True, idempotent=True),
    )
    async def settle(
        self,
        request: AnyRequest,
        request_id: uuid.UUID,
        data: Annotated[
            RequestSettlement,
            example_body(
                RequestSettlement, outcome="received", carrier_reference="CBR0001234", status="RECEIVED"
            ),
        ],
        rt: Runtime,
        actor: Actor,
        idempotency_key: IdempotencyKey,
    ) -> Response[CarrierRequestView]:
        """A booking request whose answer was lost, to a carrier that cannot deduplicate it
        (DCSA), waits as ``unknown`` and holds back the booking's later requests. Ask the
        carrier, then say what it answered: ``received`` with its reference and status (the
        booking shows them, and its amendments and cancellation follow), or ``not_received``
        (the request is sent again). Only an ``unknown`` request can be settled: 409 otherwise."""

        async def operation(finish: Finish) -> CarrierRequestView:
            return await settle.settle(rt, request_id, data, finish)

        return await run_idempotent(request, rt, actor, operation, status=200)
