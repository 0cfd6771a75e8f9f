"""HTTP endpoints of consolidation: the operator's plan of a sailing's pools, and house bills."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.params import Parameter
from litestar.response import Template

from app.accounts.actor import Actor, OrgKind, Scope
from app.accounts.auth import requires
from app.api.contract import API_KEY, answers
from app.api.idempotent import AnyRequest, IdempotencyKey, run_idempotent
from app.consolidation import house_bills, service
from app.consolidation.schemas import HouseBill, SailingConsolidation
from app.db import transaction
from app.domain.errors import NotFound
from app.events.idempotency import Finish
from app.runtime import Runtime

Reference = Annotated[
    str, Parameter(max_length=32, description="The booking reference, such as SP-7KQ4M2XD9A")
]
HTML = "text/html"
# The printable documents' Jinja2 templates (Litestar's template engine, app.main).
TEMPLATES = Path(__file__).parent / "templates"


class ConsolidationAdminController(Controller):
    path = "/v1/admin/sailings"
    tags = ["admin"]
    guards = [requires(Scope.ADMIN, OrgKind.OPERATOR)]
    security = API_KEY

    @get(
        "/{sailing_id:uuid}/consolidation",
        summary="Preview a sailing's LCL consolidation",
        operation_id="getConsolidation",
        responses=answers(NotFound),
    )
    async def preview(self, sailing_id: uuid.UUID, rt: Runtime) -> SailingConsolidation:
        """Per pool: before its LCL cut-off the plan it would get now (a dry run: containers with
        their fill, bookings per container, containers to draw, what would be rolled and why);
        after it, the stored containers with their live bookings."""
        return await service.preview(rt, sailing_id)

    @post(
        "/{sailing_id:uuid}/consolidation",
        summary="Close a sailing's LCL pools now, or re-plan closed ones",
        status_code=200,
        operation_id="runConsolidation",
        responses=answers(NotFound, idempotent=True),
    )
    async def run(
        self,
        request: AnyRequest,
        sailing_id: uuid.UUID,
        rt: Runtime,
        actor: Actor,
        idempotency_key: IdempotencyKey,
    ) -> Response[SailingConsolidation]:
        """Open pools close now (holds released, bookings packed, what does not fit rolled);
        closed pools are packed again from their live bookings, each container keeping its
        number and master reference where the same bookings stay together."""

        async def operation(finish: Finish) -> SailingConsolidation:
            view = await service.rerun(rt, sailing_id)
            async with transaction(rt.engine) as conn:
                await finish(conn, view)
            return view

        return await run_idempotent(request, rt, actor, operation, status=200)


class HouseBillController(Controller):
    path = "/v1/bookings"
    tags = ["bookings"]
    security = API_KEY

    @get(
        "/{reference:str}/house-bill",
        guards=[requires(Scope.READ)],
        summary="Read or print a booking's house bill of lading",
        operation_id="getHouseBill",
        responses=answers(NotFound),
    )
    async def read(
        self, request: Request[Any, Any, Any], reference: Reference, rt: Runtime, actor: Actor
    ) -> HouseBill:
        """The house bill of an LCL booking once its pool closed (404 before): JSON, or a
        printable HTML page with ``Accept: text/html``."""
        bill = await house_bills.get_house_bill(rt, actor, reference)
        if request.accept.best_match(["application/json", HTML], default="application/json") == HTML:
            # Builtins the template can format (times with strftime, decimals as written).
            context = {"bill": msgspec.to_builtins(bill, builtin_types=(datetime, Decimal))}
            return Template(template_name="house_bill.html", context=context, media_type=HTML)  # type: ignore[return-value]
        return bill
