"""Webhook tests run with loopback endpoints allowed (the development setting), and a receiver
on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from app.runtime import Runtime
from tests.conftest import test_runtime
from tests.webhooks.receiver import Receiver, receiving


@pytest.fixture
async def runtime(database_url: str) -> AsyncIterator[Runtime]:
    async with test_runtime(database_url, webhook_allow_loopback=True, webhook_timeout_seconds=5.0) as rt:
        yield rt


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with receiving() as server:
        yield server
