"""What a running process shares: settings, the engine, the database clock and the carriers."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy.ext.asyncio import AsyncEngine

from app.carrier_adapters.cache import CarrierAdapters
from app.clock import Clock
from app.config import Settings
from app.database_status import DatabaseStatus
from app.secrets import SecretBox


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    engine: AsyncEngine
    clock: Clock = field(default_factory=Clock)
    # Carrier adapters and circuit breakers, shared by the sync API and the jobs. Cheap to make:
    # adapters are built on first use.
    carriers: CarrierAdapters = field(default_factory=CarrierAdapters)

    @cached_property
    def database(self) -> DatabaseStatus:
        """Whether the database answered last time it was used, logged once per change."""
        return DatabaseStatus(self.settings.database_url)

    @cached_property
    def stopping(self) -> asyncio.Event:
        """Set on shutdown: jobs finish the batch in hand and take no other."""
        return asyncio.Event()

    @cached_property
    def secrets(self) -> SecretBox:
        """Seals and opens stored secrets with the configured keys (app/secrets.py)."""
        return SecretBox.from_config(self.settings.secret_keys, self.settings.secret_key_file)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name
