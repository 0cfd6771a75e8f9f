"""HTTP endpoints of the carrier sync (operators) and of carrier notifications (carriers)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import Provide
from litestar.params import Parameter

from app.accounts.actor import Actor, OrgKind, Scope
from app.accounts.auth import requires
from app.api.bodies import with_offsets
from app.api.contract import API_KEY, answers, example_body
from app.api.idempotent import AnyRequest, IdempotencyKey, run_idempotent
from app.carrier_adapters.cache import CarrierAdapters
from app.domain import trade_codes
from app.domain.errors import Conflict, InvalidRequest, NotFound
from app.runtime import Runtime
from app.schemas import Moment
from app.sync import notifications, service
from app.sync.live import LiveSchedules, live_schedules
from app.sync.notifications import (
    MalformedNotification,
    NotThisCarrier,
    SignatureInvalid,
    SigningSecretUnreadable,
)
from app.sync.schemas import (
    CarrierAccountLink,
    CarrierAccountView,
    CarrierHealthView,
    NotificationReceipt,
    SyncReport,
)
from carriers.base import ScheduleQuery


async def provide_carrier_adapters(request: Request[Any, Any, Any]) -> CarrierAdapters:
    carrier_adapters: CarrierAdapters = request.app.state.carrier_adapters
    return carrier_adapters


class CarrierSyncAdminController(Controller):
    """Operators watch carrier health and trigger a sync now."""

    path = "/v1/admin"
    tags = ["admin"]
    guards = [requires(Scope.ADMIN, OrgKind.OPERATOR)]
    dependencies = {"carrier_adapters": Provide(provide_carrier_adapters)}
    security = API_KEY

    @get(
        "/carriers/health",
        summary="Sync health and circuit breaker of every carrier",
        operation_id="carrierHealth",
        responses=answers(),
    )
    async def health(self, rt: Runtime, carrier_adapters: CarrierAdapters) -> list[CarrierHealthView]:
        return await service.carrier_health(rt, carrier_adapters)

    @post(
        "/carriers/{scac:str}/sync",
        summary="Sync one carrier now",
        status_code=200,
        operation_id="syncCarrier",
        responses=answers(NotFound, idempotent=True),
    )
    async def sync_carrier(
        self,
        request: AnyRequest,
        scac: str,
        rt: Runtime,
        actor: Actor,
        carrier_adapters: CarrierAdapters,
        idempotency_key: IdempotencyKey,
    ) -> Response[SyncReport]:
        return await run_idempotent(
            request,
            rt,
            actor,
            lambda finish: service.sync_carrier(rt, carrier_adapters, scac, finish),
            status=200,
        )

    @post(
        "/sync",
        summary="Sync every carrier now",
        status_code=200,
        operation_id="syncCarriers",
        responses=answers(idempotent=True),
    )
    async def sync_all(
        self,
        request: AnyRequest,
        rt: Runtime,
        actor: Actor,
        carrier_adapters: CarrierAdapters,
        idempotency_key: IdempotencyKey,
    ) -> Response[SyncReport]:
        return await run_idempotent(
            request, rt, actor, lambda finish: service.sync_all(rt, carrier_adapters, finish), status=200
        )

    @post(
        "/carriers/{scac:str}/account",
        summary="Link a carrier to the organisation whose keys speak for it",
        operation_id="linkCarrierAccount",
        responses=answers(NotFound, Conflict, InvalidRequest, body=True, idempotent=True),
    )
    async def link_account(
        self,
        request: AnyRequest,
        scac: str,
        data: Annotated[CarrierAccountLink, example_body(CarrierAccountLink)],
        rt: Runtime,
        actor: Actor,
        idempotency_key: IdempotencyKey,
    ) -> Response[CarrierAccountView]:
        return await run_idempotent(
            request,
            rt,
            actor,
            lambda finish: notifications.link_carrier_account(rt, scac, data, finish),
            status=201,
        )


class CarrierNotificationController(Controller):
    """Carriers report booking status changes (DCSA Booking 2.0 notifications, CloudEvents).

    No Idempotency-Key here, unlike every other POST: carriers do not send one, and the
    CloudEvent id serves instead (the same event twice answers 200 and changes nothing). A
    carrier account linked with a signature secret must sign the body (``sha256=<hex>`` HMAC in
    its signature header, 401 otherwise); an older notification or one after a final status
    answers 200 with ``applied`` false and why.
    """

    path = "/v1/carriers"
    tags = ["carriers"]
    guards = [requires(Scope.READ, OrgKind.CARRIER)]
    security = API_KEY

    @post(
        "/{scac:str}/notifications",
        summary="Receive a DCSA booking notification",
        status_code=200,
        operation_id="receiveCarrierNotification",
        responses=answers(
            NotFound,
            NotThisCarrier,
            SignatureInvalid,
            SigningSecretUnreadable,
            MalformedNotification,
            body=True,
        ),
    )
    async def receive(self, request: AnyRequest, scac: str, rt: Runtime, actor: Actor) -> NotificationReceipt:
        return await notifications.receive_booking_notification(
            rt, actor, scac, await request.body(), request.headers
        )


class LiveScheduleController(Controller):
    path = "/v1/sailings/live"
    tags = ["sailings"]
    guards = [requires(Scope.READ)]
    security = API_KEY

    @get(
        "/",
        summary="Ask every carrier now, each within its own timeout",
        operation_id="liveSchedules",
        responses=answers(),
    )
    async def live(
        self,
        rt: Runtime,
        origin: Annotated[str | None, Parameter(pattern=trade_codes.UN_LOCODE)] = None,
        destination: Annotated[str | None, Parameter(pattern=trade_codes.UN_LOCODE)] = None,
        etd_from: Moment | None = None,
        etd_to: Moment | None = None,
    ) -> LiveSchedules:
        """Sailings as the carriers offer them this moment (not yet bookable here), and how each
        carrier answered: ok, timeout, error or circuit_open."""
        with_offsets(etd_from=etd_from, etd_to=etd_to)
        query = ScheduleQuery(origin=origin, destination=destination, etd_from=etd_from, etd_to=etd_to)
        return await live_schedules(rt, query)
