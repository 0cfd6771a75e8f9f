"""HTTP endpoints of the inventory: public search and operator administration."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.params import Parameter

from app.accounts.actor import Actor, OrgKind, Scope
from app.accounts.auth import requires
from app.api.bodies import with_offsets
from app.api.contract import API_KEY, LOCATION, answers, example_body
from app.api.idempotent import AnyRequest, IdempotencyKey, run_idempotent
from app.domain import trade_codes
from app.domain.errors import Conflict, InvalidRequest, NotFound
from app.inventory import service
from app.inventory.schemas import (
    AllotmentCreate,
    CarrierCreate,
    CarrierView,
    PoolCreate,
    SailingCreate,
    SailingPage,
    SailingView,
)
from app.runtime import Runtime
from app.schemas import QUANTITY_LIMITS, Moment, SizeType


class SailingController(Controller):
    path = "/v1/sailings"
    tags = ["sailings"]
    guards = [requires(Scope.READ)]
    security = API_KEY

    @get(
        "/",
        summary="Search open sailings with live free space and prices",
        operation_id="searchSailings",
        responses=answers(),
    )
    async def search(
        self,
        rt: Runtime,
        actor: Actor,
        origin: Annotated[str | None, Parameter(pattern=trade_codes.UN_LOCODE)] = None,
        destination: Annotated[str | None, Parameter(pattern=trade_codes.UN_LOCODE)] = None,
        etd_from: Moment | None = None,
        etd_to: Moment | None = None,
        size_type: SizeType | None = None,
        min_units: Annotated[int | None, Parameter(ge=1, le=10_000)] = None,
        min_cbm: Annotated[
            Decimal | None,
            Parameter(
                description="decimal, > 0, three places at most",
                schema_extra={
                    "oneOf": None,
                    "type": "string",
                    "format": "decimal",
                    "pattern": QUANTITY_LIMITS.pattern,
                },
            ),
        ] = None,
        cursor: Annotated[str | None, Parameter(max_length=200)] = None,
        limit: Annotated[int, Parameter(ge=1, le=100)] = 20,
    ) -> SailingPage:
        with_offsets(etd_from=etd_from, etd_to=etd_to)
        return await service.search_sailings(
            rt,
            service.SailingSearch(
                origin=origin,
                destination=destination,
                etd_from=etd_from,
                etd_to=etd_to,
                size_type=size_type,
                min_units=min_units,
                min_cbm=min_cbm,
                cursor=cursor,
                limit=limit,
            ),
        )

    @get(
        "/{sailing_id:uuid}",
        summary="Read one sailing",
        operation_id="getSailing",
        responses=answers(NotFound),
    )
    async def read(self, sailing_id: uuid.UUID, rt: Runtime) -> SailingView:
        return await service.get_sailing(rt, sailing_id)


class InventoryAdminController(Controller):
    """Operators load carriers, sailings and the space bought on them."""

    path = "/v1/admin"
    tags = ["admin"]
    guards = [requires(Scope.ADMIN, OrgKind.OPERATOR)]
    security = API_KEY

    @post(
        "/carriers",
        summary="Register a carrier",
        operation_id="createCarrier",
        responses=answers(Conflict, InvalidRequest, body=True, idempotent=True),
    )
    async def create_carrier(
        self,
        request: AnyRequest,
        data: Annotated[CarrierCreate, example_body(CarrierCreate, name="Maersk")],
        rt: Runtime,
        actor: Actor,
        idempotency_key: IdempotencyKey,
    ) -> Response[CarrierView]:
        return await run_idempotent(
            request, rt, actor, lambda finish: service.create_carrier(rt, data, finish), status=201
        )

    @get("/carriers", summary="List carriers", operation_id="listCarriers", responses=answers())
    async def list_carriers(self, rt: Runtime) -> list[CarrierView]:
        return await service.list_carriers(rt)

    @post(
        "/sailings",
        summary="Create a sailing",
        operation_id="createSailing",
        response_headers=[LOCATION],
        responses=answers(Conflict, InvalidRequest, body=True, idempotent=True),
    )
    async def create_sailing(
        self,
        request: AnyRequest,
        data: Annotated[
            SailingCreate,
            example_body(
                SailingCreate,
                service_code="TP1",
                vessel_name="MAERSK ESSEX",
                voyage_number="0421E",
                port_of_discharge="USLAX",
                eta="2026-12-15T09:30:00Z",
                cut_off="2026-11-30T12:00:00Z",
            ),
        ],
        rt: Runtime,
        actor: Actor,
        idempotency_key: IdempotencyKey,
    ) -> Response[SailingView]:
        return await run_idempotent(
            request,
            rt,
            actor,
            lambda finish: service.create_sailing(rt, data, finish),
            status=201,
            headers=lambda view: {"Location": f"/v1/sailings/{view.id}"},
        )

    @post(
        "/sailings/{sailing_id:uuid}/allotments",
        summary="Add FCL units bought on a sailing",
        operation_id="addAllotment",
        responses=answers(NotFound, Conflict, InvalidRequest, body=True, idempotent=True),
    )
    async def add_allotment(
        self,
        request: AnyRequest,
        sailing_id: uuid.UUID,
        data: Annotated[AllotmentCreate, example_body(AllotmentCreate, size_type="42G1", units=20)],
        rt: Runtime,
        actor: Actor,
        idempotency_key: IdempotencyKey,
    ) -> Response[SailingView]:
        return await run_idempotent(
            request, rt, actor, lambda finish: service.add_allotment(rt, sailing_id, data, finish), status=201
        )

    @post(
        "/sailings/{sailing_id:uuid}/pools",
        summary="Open an LCL pool on a sailing",
        operation_id="addPool",
        responses=answers(NotFound, Conflict, InvalidRequest, body=True, idempotent=True),
    )
    async def add_pool(
        self,
        request: AnyRequest,
        sailing_id: uuid.UUID,
        data: Annotated[
            PoolCreate,
            example_body(PoolCreate, size_type="42G1", rate_per_revenue_tonne="80.00", minimum="120.00"),
        ],
        rt: Runtime,
        actor: Actor,
        idempotency_key: IdempotencyKey,
    ) -> Response[SailingView]:
        return await run_idempotent(
            request, rt, actor, lambda finish: service.add_pool(rt, sailing_id, data, finish), status=201
        )
