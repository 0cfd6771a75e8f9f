"""Operator endpoint: run a reconcile pass now (the sync job runs one after every sync)."""

from __future__ import annotations

from litestar import Controller, Response, post
from litestar.di import Provide

from app.accounts.actor import Actor, OrgKind, Scope
from app.accounts.auth import requires
from app.api.contract import API_KEY, answers
from app.api.idempotent import AnyRequest, IdempotencyKey, run_idempotent
from app.carrier_adapters.cache import CarrierAdapters
from app.reconcile import service
from app.reconcile.schemas import ReconcileReport
from app.runtime import Runtime
from app.sync.api import provide_carrier_adapters


class ReconcileAdminController(Controller):
    path = "/v1/admin"
    tags = ["admin"]
    guards = [requires(Scope.ADMIN, OrgKind.OPERATOR)]
    dependencies = {"adapters": Provide(provide_carrier_adapters)}
    security = API_KEY

    @post(
        "/reconcile",
        summary="Apply pending carrier changes and poll carrier bookings now",
        status_code=200,
        operation_id="reconcile",
        responses=answers(idempotent=True),
    )
    async def reconcile(
        self,
        request: AnyRequest,
        rt: Runtime,
        actor: Actor,
        adapters: CarrierAdapters,
        idempotency_key: IdempotencyKey,
    ) -> Response[ReconcileReport]:
        """Cuts, schedule changes and cancellations the carrier sync recorded are carried out
        (holds released, bookings rolled with an alternative offered); safe to repeat."""
        return await run_idempotent(
            request, rt, actor, lambda finish: service.reconcile(rt, adapters, finish), status=200
        )
