"""HTTP endpoints of webhook endpoints (v1)."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, Response, delete, get, patch, post
from litestar.params import Parameter

from app.accounts.actor import Actor, OrgKind, Scope
from app.accounts.auth import requires
from app.api.contract import API_KEY, LOCATION, answers, example_body
from app.api.idempotent import AnyRequest, IdempotencyKey, run_idempotent
from app.domain.errors import Conflict, InvalidRequest, NotFound
from app.runtime import Runtime
from app.webhooks import service
from app.webhooks.schemas import (
    AttemptPage,
    EndpointChange,
    EndpointCreate,
    EndpointCreated,
    EndpointView,
    Redelivery,
    RedeliveryScheduled,
    SecretRotated,
    SecretRotation,
)

# Organisations that receive events: carriers speak to the platform through their adapters.
RECEIVERS = (OrgKind.SHIPPER, OrgKind.MARKETPLACE, OrgKind.OPERATOR)


class WebhookEndpointController(Controller):
    path = "/v1/webhook-endpoints"
    tags = ["webhooks"]
    security = API_KEY

    @post(
        "/",
        guards=[requires(Scope.WRITE, *RECEIVERS)],
        status_code=201,
        summary="Register an endpoint",
        operation_id="createWebhookEndpoint",
        response_headers=[LOCATION],
        responses=answers(InvalidRequest, body=True, idempotent=True),
    )
    async def create(
        self,
        request: AnyRequest,
        data: Annotated[
            EndpointCreate, example_body(EndpointCreate, event_types=["hold.expired", "booking.rolled"])
        ],
        rt: Runtime,
        actor: Actor,
        idempotency_key: IdempotencyKey,
    ) -> Response[EndpointCreated]:
        """Events are POSTed to ``url``, signed per Standard Webhooks with the ``secret`` in this
        answer (shown once: keep it). Verify each request with it before trusting it."""
        return await run_idempotent(
            request,
            rt,
            actor,
            lambda finish: service.create_endpoint(rt, actor, data, finish),
            status=201,
            headers=lambda view: {"Location": f"/v1/webhook-endpoints/{view.id}"},
        )

    @get(
        "/",
        guards=[requires(Scope.READ, *RECEIVERS)],
        summary="List endpoints",
        operation_id="listWebhookEndpoints",
        responses=answers(),
    )
    async def index(self, rt: Runtime, actor: Actor) -> list[EndpointView]:
        return await service.list_endpoints(rt, actor)

    @get(
        "/{endpoint_id:uuid}",
        guards=[requires(Scope.READ, *RECEIVERS)],
        summary="Read an endpoint",
        operation_id="getWebhookEndpoint",
        responses=answers(NotFound),
    )
    async def read(self, endpoint_id: uuid.UUID, rt: Runtime, actor: Actor) -> EndpointView:
        return await service.get_endpoint(rt, actor, endpoint_id)

    @patch(
        "/{endpoint_id:uuid}",
        guards=[requires(Scope.WRITE, *RECEIVERS)],
        summary="Change an endpoint",
        operation_id="changeWebhookEndpoint",
        responses=answers(NotFound, InvalidRequest, body=True),
    )
    async def change(
        self,
        endpoint_id: uuid.UUID,
        data: Annotated[EndpointChange, example_body(EndpointChange, enabled=True)],
        rt: Runtime,
        actor: Actor,
    ) -> EndpointView:
        """URL, event types, description, enabled. Disabling gives up deliveries not yet made."""
        return await service.change_endpoint(rt, actor, endpoint_id, data)

    @delete(
        "/{endpoint_id:uuid}",
        guards=[requires(Scope.WRITE, *RECEIVERS)],
        summary="Delete an endpoint",
        operation_id="deleteWebhookEndpoint",
        responses=answers(NotFound),
    )
    async def remove(self, endpoint_id: uuid.UUID, rt: Runtime, actor: Actor) -> None:
        await service.delete_endpoint(rt, actor, endpoint_id)

    @post(
        "/{endpoint_id:uuid}/rotate-secret",
        guards=[requires(Scope.WRITE, *RECEIVERS)],
        status_code=200,
        summary="Rotate the signing secret",
        operation_id="rotateWebhookSecret",
        responses=answers(NotFound, body=True, idempotent=True),
    )
    async def rotate_secret(
        self,
        request: AnyRequest,
        endpoint_id: uuid.UUID,
        data: Annotated[SecretRotation, example_body(SecretRotation, overlap_seconds=86400)],
        rt: Runtime,
        actor: Actor,
        idempotency_key: IdempotencyKey,
    ) -> Response[SecretRotated]:
        """A new secret, shown once. For ``overlap_seconds`` (default a day) each request is
        signed with both, so receivers can switch secrets at any moment in the window."""
        return await run_idempotent(
            request,
            rt,
            actor,
            lambda finish: service.rotate_secret(rt, actor, endpoint_id, data, finish),
            status=200,
        )

    @get(
        "/{endpoint_id:uuid}/attempts",
        guards=[requires(Scope.READ, *RECEIVERS)],
        summary="List delivery attempts",
        operation_id="listWebhookAttempts",
        responses=answers(NotFound),
    )
    async def attempts(
        self,
        endpoint_id: uuid.UUID,
        rt: Runtime,
        actor: Actor,
        cursor: Annotated[str | None, Parameter(max_length=200)] = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
    ) -> AttemptPage:
        """Newest first: status code, latency and error of each request sent."""
        return await service.list_attempts(rt, actor, endpoint_id, cursor, limit)

    @post(
        "/{endpoint_id:uuid}/redeliver",
        guards=[requires(Scope.WRITE, *RECEIVERS)],
        status_code=202,
        summary="Send events again",
        operation_id="redeliverWebhookEvents",
        responses=answers(NotFound, Conflict, InvalidRequest, body=True, idempotent=True),
    )
    async def redeliver(
        self,
        request: AnyRequest,
        endpoint_id: uuid.UUID,
        data: Annotated[
            Redelivery, example_body(Redelivery, since="2026-12-01T00:00:00Z", until="2026-12-01T06:00:00Z")
        ],
        rt: Runtime,
        actor: Actor,
        idempotency_key: IdempotencyKey,
    ) -> Response[RedeliveryScheduled]:
        """One event by ``event_id``, or every event between ``since`` and ``until`` of the
        types the endpoint receives, still in the feed's retention; sent with the same
        webhook-id as before."""
        return await run_idempotent(
            request,
            rt,
            actor,
            lambda finish: service.redeliver(rt, actor, endpoint_id, data, finish),
            status=202,
        )
