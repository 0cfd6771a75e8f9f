"""The Litestar application: plugins, controllers, problem mapping and the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

import structlog
from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme

from app.accounts.api import ApiKeyController, OrganisationAdminController, ShipperController
from app.accounts.auth import ApiKeyMiddleware, provide_actor, provide_runtime
from app.accounts.service import KeyCache
from app.api.bodies import JsonRequest, NulRefusal
from app.api.contract import DecimalSchemaPlugin, ProblemSchemaPlugin
from app.api.health import health, problem, problems, ready
from app.api.problems import EXCEPTION_HANDLERS
from app.carrier_adapters.cache import CarrierAdapters
from app.cli import SlotpoolCLIPlugin
from app.clock import Clock
from app.config import Settings
from app.db import create_engine
from app.feed.api import EventController, EventTypeController
from app.inventory.api import InventoryAdminController, SailingController
from app.jobs.scheduler import running_scheduler
from app.logging import configure_logging, request_id_middleware
from app.manifests.api import CarrierManifestController, ContainerEquipmentAdminController
from app.reconcile.api import ReconcileAdminController
from app.reservations.api import BookingController, HoldController, InvariantsController
from app.runtime import Runtime
from app.sync.api import CarrierNotificationController, CarrierSyncAdminController, LiveScheduleController
from app.webhooks.api import WebhookEndpointController

log = structlog.get_logger("slotpool")


class SlotpoolApp(Litestar):
    """Litestar with the request id taken before anything else runs, so that every answer
    (404, 405 and 401 included, which are raised before route middleware) carries it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._with_request_id = request_id_middleware(cast(Any, super().__call__))

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self._with_request_id(scope, receive, send)


PUBLIC_PATHS = ["^/health$", "^/ready$", "^/schema", "^/problems(/[^/]*)?$"]


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> Litestar:
    """Build the app. Given a ``runtime`` (tests), it uses that engine and leaves it open."""
    settings = runtime.settings if runtime is not None else settings or Settings.from_env()
    configure_logging(settings.log_level, settings.log_json)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        owned = runtime is None
        rt = runtime or Runtime(
            settings=settings,
            engine=create_engine(settings),
            clock=Clock(),
            carriers=app.state.carrier_adapters,
        )
        app.state.runtime = rt
        log.info("app.started", database=rt.dialect)
        try:
            if not settings.scheduler_enabled:
                yield
                return
            # Stopped before the engine closes: runs in flight still need their connections.
            async with running_scheduler(rt) as scheduler:
                app.state.scheduler = scheduler
                yield
        finally:
            await app.state.carrier_adapters.aclose()
            if owned:
                await rt.engine.dispose()

    return SlotpoolApp(
        route_handlers=[
            health,
            ready,
            problems,
            problem,
            SailingController,
            LiveScheduleController,
            HoldController,
            BookingController,
            ShipperController,
            ApiKeyController,
            InventoryAdminController,
            OrganisationAdminController,
            CarrierSyncAdminController,
            CarrierNotificationController,
            ReconcileAdminController,
            InvariantsController,
            EventController,
            EventTypeController,
            WebhookEndpointController,
            CarrierManifestController,
            ContainerEquipmentAdminController,
        ],
        dependencies={"rt": Provide(provide_runtime), "actor": Provide(provide_actor)},
        middleware=[
            NulRefusal(),
            DefineMiddleware(ApiKeyMiddleware, exclude=PUBLIC_PATHS),
        ],
        request_class=JsonRequest,
        exception_handlers=EXCEPTION_HANDLERS,
        # An injected runtime (tests) is usable at once, even where no lifespan runs.
        # One set of carrier adapters for the sync API and the jobs: the injected runtime's, if any.
        state=State(
            {
                "runtime": runtime,
                "key_cache": KeyCache(),
                "carrier_adapters": runtime.carriers if runtime is not None else CarrierAdapters(),
            }
        ),
        lifespan=[lifespan],
        openapi_config=OpenAPIConfig(
            title="Slotpool",
            version="1.0.0",
            description="Ocean freight space: search sailings, hold space, confirm bookings.",
            path="/schema",
            render_plugins=[ScalarRenderPlugin()],
            components=Components(
                security_schemes={
                    "apiKey": SecurityScheme(type="http", scheme="bearer", description="Slotpool API key")
                }
            ),
        ),
        plugins=[SlotpoolCLIPlugin(), ProblemSchemaPlugin(), DecimalSchemaPlugin()],
        logging_config=None,
        debug=False,
    )
