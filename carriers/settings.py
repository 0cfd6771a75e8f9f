"""Turning a carrier row's plain JSON settings into a typed settings Struct."""

from collections.abc import Mapping
from typing import Any, TypeVar

import msgspec

S = TypeVar("S")


def parse_settings(settings: Mapping[str, Any], kind: type[S]) -> S:
    """Convert plain settings to `kind`; any problem is a ValueError naming the field."""
    try:
        return msgspec.convert(dict(settings), kind)
    except (msgspec.ValidationError, ValueError, TypeError) as exc:
        raise ValueError(f"bad {kind.__name__}: {exc}") from exc
