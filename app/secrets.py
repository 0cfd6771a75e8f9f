"""Secrets the service must read back (carrier credentials, webhook signing secrets) are stored
sealed, never in clear.

Fernet from ``cryptography`` (AES-128-CBC with HMAC-SHA256, a timestamped token) behind
``MultiFernet``: the first key seals, every key opens, so an operator adds a new key in front,
re-seals at leisure, then drops the old one. Secrets that are only ever compared (API keys) are
hashed instead (app/accounts/keys.py).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class SecretUnreadable(Exception):
    """A sealed value that none of the configured keys opens (wrong key, or tampered)."""


class SecretBox:
    """Seals and opens short secrets with the configured keys (URL-safe base64 Fernet keys)."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("at least one secret key is needed")
        try:
            self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])
        except ValueError as error:
            raise ValueError(
                f"a secret key is not a Fernet key (32 url-safe base64 bytes): {error}"
            ) from None

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise SecretUnreadable("a stored secret cannot be opened with the configured keys") from None

    @classmethod
    def from_config(cls, keys: str, key_file: str) -> SecretBox:
        """Keys from ``keys`` (comma-separated, newest first); when empty, the one key kept in
        ``key_file``, made on first use (readable by this user only), so that the embedded
        default needs no set-up. Replicas sharing a database must share their keys."""
        listed = [key.strip() for key in keys.split(",") if key.strip()]
        if listed:
            return cls(listed)
        return cls([_key_from_file(Path(key_file))])


def new_key() -> str:
    return Fernet.generate_key().decode()


def _key_from_file(path: Path) -> str:
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(new_key())
    # A hard link never replaces: of two processes starting at once, both end up with the key
    # the first one linked.
    try:
        os.link(draft, path)
    except FileExistsError:
        pass
    finally:
        draft.unlink()
    return path.read_text().strip()
