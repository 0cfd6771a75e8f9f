"""Fixtures: every database test runs on SQLite and on PostgreSQL, each on a fresh database."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from app.clock import Clock
from app.config import Settings
from app.db import create_engine
from app.main import create_app
from app.runtime import Runtime
from tests.databases import TemplateDatabases, postgres_reachable
from tests.factories import World, build_world

BACKENDS = ["sqlite", "postgresql"]
IN_CI = os.environ.get("CI", "").lower() == "true"
# A fixed key, so that tests never write a key file into the checkout.
TEST_SECRET_KEY = "x2bPmQm0jzrvQ2RXkyHkdcVB0YX8lY0jJ5x3Yx3d7lA="


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TemplateDatabases]:
    databases = TemplateDatabases(tmp_path_factory.mktemp("databases"))
    yield databases
    asyncio.run(databases.close())


@pytest.fixture(scope="session")
def postgres_unavailable() -> str | None:
    return asyncio.run(postgres_reachable())


def require_postgres(reason: str | None) -> None:
    """Skip a PostgreSQL case when the server is down, except in CI where that is a failure."""
    if reason is None:
        return
    if IN_CI:
        pytest.fail(f"CI requires PostgreSQL: {reason}")
    pytest.skip(reason)


@pytest.fixture(params=BACKENDS)
async def database_url(
    request: pytest.FixtureRequest, templates: TemplateDatabases, postgres_unavailable: str | None
) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield await templates.sqlite()
        return
    require_postgres(postgres_unavailable)
    url = await templates.postgres()
    try:
        yield url
    finally:
        await templates.drop_postgres(url)


def test_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "log_level": "WARNING",
        "scheduler_enabled": False,
        "secret_keys": TEST_SECRET_KEY,
    }
    values.update(overrides)
    return Settings(**values)


@asynccontextmanager
async def test_runtime(database_url: str, **overrides: Any) -> AsyncIterator[Runtime]:
    """A runtime on ``database_url`` with test settings (and ``overrides``); its engine is
    disposed on exit."""
    settings = test_settings(database_url, **overrides)
    rt = Runtime(settings=settings, engine=create_engine(settings), clock=Clock())
    try:
        yield rt
    finally:
        await rt.engine.dispose()


@pytest.fixture
async def runtime(database_url: str) -> AsyncIterator[Runtime]:
    async with test_runtime(database_url) as rt:
        yield rt


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    """The app in this event loop (the engine's connections belong to it), over ASGI."""
    transport = httpx.ASGITransport(app=create_app(runtime=runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://slotpool.test") as test_client:
        yield test_client


@pytest.fixture
async def world(runtime: Runtime) -> World:
    return await build_world(runtime)
