"""HTTP endpoints of organisations, marketplaces' shippers and API keys."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, Response, delete, get, post
from litestar.params import Parameter

from app.accounts import service
from app.accounts.actor import Actor, OrgKind, Scope
from app.accounts.auth import requires
from app.accounts.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyPage,
    ApiKeyRotated,
    ApiKeyRotation,
    ApiKeyView,
    ExternalId,
    OrganisationCreate,
    OrganisationView,
    ShipperCreate,
    ShipperPage,
)
from app.accounts.service import KeyCache
from app.api.contract import API_KEY, answers, example_body
from app.api.idempotent import AnyRequest, IdempotencyKey, run_idempotent
from app.api.paging import Cursor, Limit
from app.domain.errors import Conflict, InvalidRequest, InvalidTransition, NotFound
from app.runtime import Runtime


class OrganisationAdminController(Controller):
    path = "/v1/admin/organisations"
    tags = ["admin"]
    guards = [requires(Scope.ADMIN, OrgKind.OPERATOR)]
    security = API_KEY

    @post(
        "/",
        summary="Create an organisation",
        operation_id="createOrganisation",
        responses=answers(InvalidRequest, body=True, idempotent=True),
    )
    async def create(
        self,
        request: AnyRequest,
        data: Annotated[
            OrganisationCreate, example_body(OrganisationCreate, name="Cart Co", kind="marketplace")
        ],
        rt: Runtime,
        actor: Actor,
        idempotency_key: IdempotencyKey,
    ) -> Response[OrganisationView]:
        return await run_idempotent(
            request, rt, actor, lambda finish: service.create_organisation(rt, data, finish), status=201
        )

    @get("/", summary="List organisations", operation_id="listOrganisations", responses=answers())
    async def list(self, rt: Runtime) -> list[OrganisationView]:
        return await service.list_organisations(rt)

    @post(
        "/{org_id:uuid}/api-keys",
        summary="Issue an API key (shown once)",
        operation_id="issueApiKey",
        responses=answers(NotFound, InvalidRequest, body=True, idempotent=True),
    )
    async def issue_key(
        self,
        request: AnyRequest,
        org_id: uuid.UUID,
        data: Annotated[ApiKeyCreate, example_body(ApiKeyCreate, name="checkout production")],
        rt: Runtime,
        actor: Actor,
        idempotency_key: IdempotencyKey,
    ) -> Response[ApiKeyCreated]:
        """The key is in this answer only; a replay of the same request answers ``key: null``."""
        return await run_idempotent(
            request, rt, actor, lambda finish: service.create_api_key(rt, org_id, data, finish), status=201
        )


class ShipperController(Controller):
    """A marketplace registers its shippers, then holds and books on their behalf."""

    path = "/v1/shippers"
    tags = ["accounts"]
    security = API_KEY

    @post(
        "/",
        guards=[requires(Scope.WRITE, OrgKind.MARKETPLACE)],
        summary="Register one of this marketplace's shippers",
        operation_id="createShipper",
        responses=answers(Conflict, body=True, idempotent=True),
    )
    async def create(
        self,
        request: AnyRequest,
        data: Annotated[ShipperCreate, example_body(ShipperCreate, name="Exporter Ltd")],
        rt: Runtime,
        actor: Actor,
        idempotency_key: IdempotencyKey,
    ) -> Response[OrganisationView]:
        """``external_id``, the marketplace's own id for the shipper, is unique among its
        shippers (409 ``conflict`` naming the shipper that has it)."""
        return await run_idempotent(
            request, rt, actor, lambda finish: service.create_shipper(rt, actor, data, finish), status=201
        )

    @get(
        "/",
        guards=[requires(Scope.READ, OrgKind.MARKETPLACE)],
        summary="List this marketplace's shippers",
        operation_id="listShippers",
        responses=answers(),
    )
    async def list(
        self,
        rt: Runtime,
        actor: Actor,
        external_id: Annotated[
            ExternalId | None, Parameter(description="Only the shipper with this id")
        ] = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> ShipperPage:
        """Newest first; ``external_id`` finds the shipper the marketplace knows by that id."""
        return await service.list_shippers(rt, actor, external_id=external_id, cursor=cursor, limit=limit)


class ApiKeyController(Controller):
    """An organisation's own API keys; an operator's key reaches every organisation's."""

    path = "/v1/api-keys"
    tags = ["accounts"]
    security = API_KEY

    @get(
        "/",
        guards=[requires(Scope.READ)],
        summary="List API keys",
        operation_id="listApiKeys",
        responses=answers(),
    )
    async def list(
        self,
        rt: Runtime,
        actor: Actor,
        organisation_id: Annotated[
            uuid.UUID | None, Parameter(description="Operators: one organisation's keys only")
        ] = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> ApiKeyPage:
        """Newest first, revoked ones too; never a key itself, only its first characters."""
        owner = organisation_id if actor.sees_everything else actor.organisation_id
        return await service.list_api_keys(rt, owner, cursor=cursor, limit=limit)

    @delete(
        "/{key_id:uuid}",
        guards=[requires(Scope.WRITE)],
        status_code=200,
        summary="Revoke an API key",
        operation_id="revokeApiKey",
        responses=answers(NotFound),
    )
    async def revoke(self, request: AnyRequest, key_id: uuid.UUID, rt: Runtime, actor: Actor) -> ApiKeyView:
        """The key is refused from now on (by every replica within 5 seconds); revoking it
        again answers the same."""
        view = await service.revoke_api_key(rt, _owner(actor), key_id)
        _key_cache(request).clear()
        return view

    @post(
        "/{key_id:uuid}/rotate",
        guards=[requires(Scope.WRITE)],
        status_code=201,
        summary="Rotate an API key",
        operation_id="rotateApiKey",
        responses=answers(NotFound, InvalidTransition, body=True, idempotent=True),
    )
    async def rotate(
        self,
        request: AnyRequest,
        key_id: uuid.UUID,
        data: Annotated[ApiKeyRotation, example_body(ApiKeyRotation, overlap_seconds=3600)],
        rt: Runtime,
        actor: Actor,
        idempotency_key: IdempotencyKey,
    ) -> Response[ApiKeyRotated]:
        """A new key with the old one's name and scopes, shown once; the old one keeps working
        ``overlap_seconds`` (default 0: it stops now)."""
        response = await run_idempotent(
            request,
            rt,
            actor,
            lambda finish: service.rotate_api_key(rt, _owner(actor), key_id, data, finish),
            status=201,
        )
        _key_cache(request).clear()
        return response


def _owner(actor: Actor) -> uuid.UUID | None:
    """Whose keys the actor manages: its organisation's, or (operators) anyone's."""
    return None if actor.sees_everything else actor.organisation_id


def _key_cache(request: AnyRequest) -> KeyCache:
    cache: KeyCache = request.app.state.key_cache
    return cache
