"""Webhook tests run with loopback endpoints allowed (the development setting), and a receiver
on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from app.clock import Clock
from app.db import create_engine
from app.runtime import Runtime
from tests.conftest import test_settings
from tests.webhooks.receiver import Receiver, receiving


@pytest.fixture
async def runtime(database_url: str) -> AsyncIterator[Runtime]:
    settings = test_settings(database_url, webhook_allow_loopback=True, webhook_timeout_seconds=5.0)
    rt = Runtime(settings=settings, engine=create_engine(settings), clock=Clock())
    try:
        yield rt
    finally:
        await rt.engine.dispose()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with receiving() as server:
        yield server
