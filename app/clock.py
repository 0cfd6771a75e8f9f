"""Database time. Expiry is always decided by the database clock, never the app's.

A ``Clock`` may carry an offset so tests can jump time forward without sleeping;
production uses offset zero.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Float,
    Interval,
    bindparam,
    func,
    literal_column,
    type_coerce,
)

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

    def shift(self, plus_seconds: float = 0.0) -> float:
        """The value for a :func:`bound_now` parameter: the offset plus ``plus_seconds``."""
        return float(self.offset_seconds + plus_seconds)

    def app_now(self) -> datetime:
        """Wall-clock time with the same offset, for values that never decide expiry."""
        return datetime.now(UTC) + timedelta(seconds=self.offset_seconds)


def bound_now(dialect: str, name: str = "clock_shift") -> ColumnElement[datetime]:
    """Database "now" shifted by the bind parameter ``name`` (seconds, from
    :meth:`Clock.shift`), for statements built once and run many times: the hot path's."""
    shift: BindParameter[float] = bindparam(name, type_=Float())
    if dialect == "sqlite":
        modifier = func.printf("%+.6f seconds", shift)
        expr = func.strftime("%Y-%m-%d %H:%M:%f", "now", modifier).concat("000")
        return type_coerce(expr, UtcDateTime())
    return type_coerce(func.now() + _ONE_SECOND * shift, UtcDateTime())


_ONE_SECOND = literal_column("interval '1 second'", Interval())


def bound_now_text(dialect: str, name: str = "clock_shift") -> str:
    """:func:`bound_now` as SQL text with the parameter ``:name``, for ``text()`` statements."""
    if dialect == "sqlite":
        return f"(strftime('%Y-%m-%d %H:%M:%f', 'now', printf('%+.6f seconds', :{name})) || '000')"
    return f"(now() + CAST(:{name} AS double precision) * interval '1 second')"
