"""Database time. Expiry is always decided by the database clock, never the app's.

A ``Clock`` may carry an offset so tests can jump time forward without sleeping;
production uses offset zero.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, func, type_coerce

from app.dbtypes import UtcDateTime


class Clock:
    """The SQL expression for "now" on a dialect, shifted by ``offset_seconds``."""

    def __init__(self, offset_seconds: float = 0.0) -> None:
        self.offset_seconds = offset_seconds

    def advance(self, seconds: float) -> None:
        self.offset_seconds += seconds

    def now_sql(self, dialect: str, plus_seconds: float = 0.0) -> ColumnElement[datetime]:
        """Database "now" (shifted by the offset and ``plus_seconds``) as a SQL expression."""
        shift = self.offset_seconds + plus_seconds
        if dialect == "sqlite":
            # %f gives SS.SSS; three zeros match SQLAlchemy's six-digit storage format so that
            # stored timestamps and the database clock compare correctly as strings.
            modifier = f"{shift:+.6f} seconds"
            expr = func.strftime("%Y-%m-%d %H:%M:%f", "now", modifier).concat("000")
            return type_coerce(expr, UtcDateTime())
        if shift:
            shifted = func.now() + func.make_interval(0, 0, 0, 0, 0, 0, shift)
            return type_coerce(shifted, UtcDateTime())
        return type_coerce(func.now(), UtcDateTime())

    def app_now(self) -> datetime:
        """Wall-clock time with the same offset, for values that never decide expiry."""
        return datetime.now(UTC) + timedelta(seconds=self.offset_seconds)
