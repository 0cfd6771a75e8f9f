"""API key material: generated once, shown once, stored as a SHA-256 digest."""

from __future__ import annotations

import hashlib
import secrets

KEY_PREFIX = "sp_"


def new_key() -> str:
    """A 256-bit random bearer token."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def digest(key: str) -> str:
    # The key is high-entropy random, so a plain SHA-256 (no slow KDF) cannot be brute-forced.
    return hashlib.sha256(key.encode()).hexdigest()


def visible_prefix(key: str) -> str:
    return key[:10]
