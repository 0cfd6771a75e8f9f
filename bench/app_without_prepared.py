"""The app with app/prepared.py bypassed: every statement goes through SQLAlchemy, as it does in
a transaction. ``bench/holds.py --backends ... pg-sqlalchemy`` serves it beside the usual app, to
measure in one run what running the hold's statements on the driver's connection is worth."""

from __future__ import annotations

from typing import Any

from litestar import Litestar

from app import main, prepared


def create_app() -> Litestar:
    def never(_conn: Any) -> bool:
        return False

    prepared._autocommits = never
    return main.create_app()
