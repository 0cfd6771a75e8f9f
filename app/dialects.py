"""Statements whose spelling differs between PostgreSQL and SQLite."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite


def insert_ignoring_conflicts(dialect: str, table: Table, index_elements: list[str]) -> Any:
    """INSERT ... ON CONFLICT (cols) DO NOTHING on either database."""
    module: Any = postgresql if dialect == "postgresql" else sqlite
    return module.insert(table).on_conflict_do_nothing(index_elements=index_elements)


def upsert(dialect: str, table: Table, index_elements: list[str], update: list[str]) -> Any:
    """INSERT ... ON CONFLICT (cols) DO UPDATE SET the ``update`` columns to the new values."""
    module: Any = postgresql if dialect == "postgresql" else sqlite
    statement = module.insert(table)
    return statement.on_conflict_do_update(
        index_elements=index_elements, set_={name: statement.excluded[name] for name in update}
    )
