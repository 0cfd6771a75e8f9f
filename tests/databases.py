"""Fresh databases for tests: one migrated template per backend, copied for every test.

SQLite copies a template file; PostgreSQL uses ``CREATE DATABASE ... TEMPLATE``. The template is
built with ``alembic upgrade head`` (never ``create_all``), so every test runs on the schema the
migrations produce.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from pathlib import Path

import asyncpg
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
POSTGRES_URL = os.environ.get(
    "SLOTPOOL_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)


def alembic_config(database_url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["database_url"] = database_url
    config.attributes["configure_logger"] = False
    return config


def migrate(database_url: str, revision: str = "head") -> None:
    """Upgrade to ``revision``; ``base`` downgrades everything."""
    config = alembic_config(database_url)
    if revision == "base":
        command.downgrade(config, "base")
    else:
        command.upgrade(config, revision)


def _dsn(database: str) -> str:
    url = make_url(POSTGRES_URL).set(drivername="postgresql", database=database)
    return url.render_as_string(hide_password=False)


def postgres_url(database: str) -> str:
    return make_url(POSTGRES_URL).set(database=database).render_as_string(hide_password=False)


async def postgres_reachable() -> str | None:
    """None when PostgreSQL answers, else why not."""
    try:
        connection = await asyncpg.connect(_dsn(make_url(POSTGRES_URL).database or "postgres"), timeout=3)
    except (TimeoutError, OSError, asyncpg.PostgresError) as error:
        return f"PostgreSQL at {make_url(POSTGRES_URL).render_as_string()} unreachable: {error}"
    await connection.close()
    return None


async def _admin(sql: str) -> None:
    connection = await asyncpg.connect(_dsn(make_url(POSTGRES_URL).database or "postgres"))
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


class TemplateDatabases:
    """Migrated templates, built once per test session, and fresh copies of them."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.sqlite_template: Path | None = None
        self.postgres_template: str | None = None

    async def sqlite(self) -> str:
        if self.sqlite_template is None:
            template = self.workdir / "template.db"
            # Alembic's env runs its own event loop: give it a thread of its own.
            await asyncio.to_thread(migrate, f"sqlite+aiosqlite:///{template}")
            self.sqlite_template = template
        copy = self.workdir / f"t_{uuid.uuid4().hex}.db"
        shutil.copyfile(self.sqlite_template, copy)
        return f"sqlite+aiosqlite:///{copy}"

    async def postgres(self) -> str:
        if self.postgres_template is None:
            name = f"slotpool_template_{os.getpid()}"
            await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await _admin(f'CREATE DATABASE "{name}"')
            await asyncio.to_thread(migrate, postgres_url(name))
            self.postgres_template = name
        database = f"slotpool_t_{uuid.uuid4().hex[:16]}"
        await _admin(f'CREATE DATABASE "{database}" TEMPLATE "{self.postgres_template}"')
        return postgres_url(database)

    async def drop_postgres(self, url: str) -> None:
        database = make_url(url).database
        await _admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')

    async def close(self) -> None:
        if self.postgres_template is not None:
            await _admin(f'DROP DATABASE IF EXISTS "{self.postgres_template}" WITH (FORCE)')
