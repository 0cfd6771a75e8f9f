"""The migrations build exactly the schema the models describe, and unwind cleanly."""

from __future__ import annotations

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from app.config import Settings
from app.db import create_engine
from app.models import metadata
from tests.databases import migrate


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names()) - {"alembic_version"}


async def test_models_and_migrations_agree(database_url: str) -> None:
    engine = create_engine(Settings(database_url=database_url))
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
    finally:
        await engine.dispose()


async def test_downgrade_to_base_and_upgrade_again(database_url: str) -> None:
    await asyncio.to_thread(migrate, database_url, "base")
    engine = create_engine(Settings(database_url=database_url))
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_tables) == set()
        await asyncio.to_thread(migrate, database_url, "head")
        async with engine.connect() as connection:
            assert await connection.run_sync(_tables) == set(metadata.tables)
    finally:
        await engine.dispose()
