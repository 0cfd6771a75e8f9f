"""Database time. Expiry is always decided by the database clock, never the app's.

A ``Clock`` may carry an offset so tests can jump time forward without sleeping;
production uses offset zero.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, Float, Interval, bindparam, func, literal_column, type_coerce

from app.dbtypes import UtcDateTime


class Clock:
    """The database's "now" shifted by ``offset_seconds``."""

    def __init__(self, offset_seconds: float = 0.0) -> None:
        self.offset_seconds = offset_seconds

    def advance(self, seconds: float) -> None:
        self.offset_seconds += seconds

    def now_sql(self, dialect: str, plus_seconds: float = 0.0) -> ColumnElement[datetime]:
        """Database "now" (shifted by the offset and ``plus_seconds``), its shift carried by the
        expression."""
        return database_now(dialect, self.shift(plus_seconds))

    def shift(self, plus_seconds: float = 0.0) -> float:
        """The value of a :func:`database_now` parameter: the offset plus ``plus_seconds``."""
        return float(self.offset_seconds + plus_seconds)

    def app_now(self) -> datetime:
        """Wall-clock time with the same offset, for values that never decide expiry."""
        return datetime.now(UTC) + timedelta(seconds=self.offset_seconds)


def database_now(
    dialect: str, shift: float | None = None, name: str = "clock_shift"
) -> ColumnElement[datetime]:
    """Database "now" plus a shift in seconds: the one expression of database time.

    ``shift`` None: the bind parameter ``name``, given at each execution (a statement built once
    and run many times). A number: a value the expression carries, in a bind parameter of its
    own, so that the statement's compiled form is cached whatever the shift.
    """
    if shift is None:
        seconds = bindparam(name, type_=Float())
    else:
        seconds = bindparam(name, shift, type_=Float(), unique=True)
    if dialect == "sqlite":
        # %f gives SS.SSS; three zeros match SQLAlchemy's six-digit storage format so that
        # stored timestamps and the database clock compare correctly as strings.
        modifier = func.printf("%+.6f seconds", seconds)
        return type_coerce(func.strftime("%Y-%m-%d %H:%M:%f", "now", modifier).concat("000"), UtcDateTime())
    return type_coerce(func.now() + _ONE_SECOND * seconds, UtcDateTime())


_ONE_SECOND = literal_column("interval '1 second'", Interval())
