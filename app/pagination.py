"""Keyset cursors shared by every list endpoint: a position as (time, id), opaque to clients,
and the condition that reads the page after it (newest first)."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, Table, literal, tuple_

from app.dbtypes import UtcDateTime
from app.domain.errors import InvalidRequest


def encode_cursor(at: datetime, row_id: uuid.UUID) -> str:
    """The cursor of a page that ends with the row at (``at``, ``row_id``)."""
    raw = f"{at.isoformat()}|{row_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    """The position a cursor names, None for no cursor; a cursor this API did not make is 422."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        at, row_id = raw.split("|")
        position = datetime.fromisoformat(at), uuid.UUID(row_id)
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidRequest("cursor", "cursor is not one this API returned") from error
    if position[0].tzinfo is None:
        raise InvalidRequest("cursor", "cursor is not one this API returned")
    return position


def newest_first(query: Select[Any], table: Table, before: tuple[datetime, uuid.UUID] | None) -> Select[Any]:
    """``query`` over ``table`` ordered newest first by (``created_at``, ``id``), from after the
    position ``before`` (a decoded cursor) on."""
    if before is not None:
        query = query.where(
            tuple_(table.c.created_at, table.c.id)
            < tuple_(literal(before[0], UtcDateTime()), literal(before[1]))
        )
    return query.order_by(table.c.created_at.desc(), table.c.id.desc())


Row = TypeVar("Row")


def page_of(
    rows: Sequence[Row], limit: int, position: Callable[[Row], tuple[datetime, uuid.UUID]]
) -> tuple[list[Row], str | None]:
    """The first ``limit`` of ``rows`` (read ``limit + 1`` of them) and the cursor of the page
    after them, None when there is none."""
    page = list(rows[:limit])
    return page, encode_cursor(*position(page[-1])) if len(rows) > limit else None
