"""Carrier credentials inside a carrier row's adapter settings, kept sealed.

The paths that are credentials are declared per adapter kind (``carriers.registry
.SECRET_SETTINGS``: a DCSA carrier's bearer ``token``, its OAuth2 ``client_secret``). They are
sealed with the process's keys (app/secrets.py) before the row is written, stored as
``{"sealed": "<token>"}``, opened only to build the adapter, and never shown by the API.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from app.secrets import SecretBox, SecretUnreadable
from carriers.registry import SECRET_SETTINGS

SEALED = "sealed"


def _is_sealed(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {SEALED} and isinstance(value[SEALED], str)


def _parent(settings: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any] | None:
    node: Any = settings
    for name in path[:-1]:
        node = node.get(name) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else None


def seal_settings(box: SecretBox, kind: str, settings: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``settings`` with every credential of ``kind`` sealed (sealed ones kept)."""
    sealed = copy.deepcopy(dict(settings))
    for path in SECRET_SETTINGS.get(kind, ()):
        parent = _parent(sealed, path)
        if parent is None or parent.get(path[-1]) is None or _is_sealed(parent[path[-1]]):
            continue
        parent[path[-1]] = {SEALED: box.seal(str(parent[path[-1]]))}
    return sealed


def open_settings(box: SecretBox, kind: str, settings: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of stored ``settings`` with every sealed credential opened, for the adapter.
    A credential the configured keys cannot open raises ValueError (the carrier's settings
    are then reported as bad, like any other)."""
    opened = copy.deepcopy(dict(settings))
    for path in SECRET_SETTINGS.get(kind, ()):
        parent = _parent(opened, path)
        if parent is None or not _is_sealed(parent.get(path[-1])):
            continue
        try:
            parent[path[-1]] = box.open(parent[path[-1]][SEALED])
        except SecretUnreadable as error:
            raise ValueError(f"{'.'.join(path)}: {error}") from None
    return opened
