"""HTTP endpoints of organisations and API keys."""

from __future__ import annotations

import uuid

from litestar import Controller, Response, get, post

from app.accounts import service
from app.accounts.actor import Actor, OrgKind, Scope
from app.accounts.auth import requires
from app.accounts.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    OrganisationCreate,
    OrganisationView,
    ShipperCreate,
)
from app.api.idempotent import AnyRequest, IdempotencyKey, run_idempotent
from app.runtime import Runtime


class OrganisationAdminController(Controller):
    path = "/v1/admin/organisations"
    tags = ["admin"]
    guards = [requires(Scope.ADMIN, OrgKind.OPERATOR)]

    @post("/", summary="Create an organisation")
    async def create(
        self,
        request: AnyRequest,
        data: OrganisationCreate,
        rt: Runtime,
        actor: Actor,
        idempotency_key: IdempotencyKey,
    ) -> Response[OrganisationView]:
        return await run_idempotent(
            request, rt, actor, lambda finish: service.create_organisation(rt, data, finish), status=201
        )

    @get("/", summary="List organisations")
    async def list(self, rt: Runtime) -> list[OrganisationView]:
        return await service.list_organisations(rt)

    @post("/{org_id:uuid}/api-keys", summary="Issue an API key (shown once)")
    async def issue_key(
        self,
        request: AnyRequest,
        org_id: uuid.UUID,
        data: ApiKeyCreate,
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
    guards = [requires(Scope.WRITE, OrgKind.MARKETPLACE)]

    @post("/", summary="Register one of this marketplace's shippers")
    async def create(
        self,
        request: AnyRequest,
        data: ShipperCreate,
        rt: Runtime,
        actor: Actor,
        idempotency_key: IdempotencyKey,
    ) -> Response[OrganisationView]:
        shipper = OrganisationCreate(
            name=data.name, kind=OrgKind.SHIPPER, marketplace_id=actor.organisation_id
        )
        return await run_idempotent(
            request, rt, actor, lambda finish: service.create_organisation(rt, shipper, finish), status=201
        )
