"""The Litestar application: plugins, controllers, problem mapping and the lifespan."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

import structlog
from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.prometheus import PrometheusConfig
from litestar.template.config import TemplateConfig
from litestar.types import ControllerRouterHandler, Middleware

from app import metrics
from app.accounts.api import ApiKeyController, OrganisationAdminController, ShipperController
from app.accounts.auth import ApiKeyMiddleware, provide_actor, provide_runtime
from app.accounts.service import KeyCache
from app.api.bodies import JsonRequest, NulRefusal
from app.api.contract import DecimalSchemaPlugin, ProblemSchemaPlugin
from app.api.health import health, problem, problems, ready
from app.api.http_metrics import LeanPrometheusMiddleware
from app.api.problems import EXCEPTION_HANDLERS
from app.carrier_adapters.cache import CarrierAdapters
from app.cli import SlotpoolCLIPlugin
from app.clock import Clock
from app.config import Settings, settings_or_exit
from app.consolidation.api import TEMPLATES, ConsolidationAdminController, HouseBillController
from app.database_status import probe
from app.db import create_engine
from app.dispatch.api import CarrierRequestAdminController
from app.feed.api import EventController, EventTypeController
from app.inventory.api import InventoryAdminController, SailingController
from app.jobs.api import JobAdminController, jobs_health, metrics_exposition
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


PUBLIC_PATHS = ["^/health$", "^/health/jobs$", "^/ready$", "^/metrics$", "^/schema", "^/problems(/[^/]*)?$"]
# What a browser checkout sends and must be able to read (optimistic concurrency, idempotent
# retries, the created resource, the request id to quote to support).
CORS_ALLOW_HEADERS = ["Authorization", "Content-Type", "Idempotency-Key", "If-Match", "X-Request-ID"]
CORS_EXPOSE_HEADERS = ["ETag", "Location", "Idempotent-Replayed", "X-Request-ID", "Retry-After"]


def cors_config(settings: Settings) -> CORSConfig | None:
    """CORS for the origins configured, or none at all. A preflight (OPTIONS) needs no API key:
    the authentication middleware lets OPTIONS through, and the browser sends the key after."""
    if not settings.cors_origins:
        return None
    return CORSConfig(
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        allow_headers=CORS_ALLOW_HEADERS,
        expose_headers=CORS_EXPOSE_HEADERS,
        # API keys travel in Authorization, never in cookies.
        allow_credentials=False,
        max_age=600,
    )


def http_metrics(settings: Settings) -> list[Middleware]:
    """Litestar's Prometheus middleware (requests, durations, errors by route template), or
    nothing when metrics are off."""
    if not settings.metrics_enabled:
        return []
    config = PrometheusConfig(
        app_name="slotpool",
        prefix="slotpool_http",
        group_path=True,
        exclude_unhandled_paths=True,
        exclude=["^/metrics$"],
        middleware_class=LeanPrometheusMiddleware,
    )
    return [config.middleware]


def metrics_routes(settings: Settings) -> list[ControllerRouterHandler]:
    return [metrics_exposition] if settings.metrics_enabled else []


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> Litestar:
    """Build the app. Given a ``runtime`` (tests), it uses that engine and leaves it open."""
    settings = runtime.settings if runtime is not None else settings or settings_or_exit()
    configure_logging(settings.log_level, settings.log_json)
    if runtime is not None and settings.metrics_enabled:
        metrics.instrument_pool(runtime.engine)

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
        if settings.metrics_enabled:
            metrics.instrument_pool(rt.engine)
        log.info("app.started", database=rt.dialect)
        # A database that is down is said once now, with what to do; /ready answers 503 until it is up.
        await probe(rt.engine, rt.database)
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
                # Its live gauges (pool in use, breaker states) leave the multiprocess sums.
                metrics.mark_dead_process(os.getpid())

    return SlotpoolApp(
        route_handlers=[
            health,
            ready,
            jobs_health,
            *metrics_routes(settings),
            problems,
            problem,
            SailingController,
            LiveScheduleController,
            HoldController,
            BookingController,
            HouseBillController,
            ShipperController,
            ApiKeyController,
            InventoryAdminController,
            OrganisationAdminController,
            CarrierSyncAdminController,
            CarrierNotificationController,
            ReconcileAdminController,
            CarrierRequestAdminController,
            ConsolidationAdminController,
            InvariantsController,
            EventController,
            EventTypeController,
            WebhookEndpointController,
            JobAdminController,
            CarrierManifestController,
            ContainerEquipmentAdminController,
        ],
        dependencies={"rt": Provide(provide_runtime), "actor": Provide(provide_actor)},
        middleware=[
            # First: refusals by the others (401, 400) are counted too.
            *http_metrics(settings),
            NulRefusal(),
            DefineMiddleware(ApiKeyMiddleware, exclude=PUBLIC_PATHS),
        ],
        request_class=JsonRequest,
        cors_config=cors_config(settings),
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
        # Printable documents (house bills of lading), rendered by Jinja2.
        template_config=TemplateConfig(directory=TEMPLATES, engine=JinjaTemplateEngine),
        logging_config=None,
        debug=False,
    )
