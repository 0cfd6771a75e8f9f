"""What a running process shares: settings, the engine and the database clock."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine

from app.clock import Clock
from app.config import Settings


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    engine: AsyncEngine
    clock: Clock = field(default_factory=Clock)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name
