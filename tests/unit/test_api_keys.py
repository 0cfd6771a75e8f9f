"""API keys: random, long, shown once; only their digest is stored."""

from __future__ import annotations

import hashlib

from app.accounts.keys import KEY_PREFIX, digest, new_key, visible_prefix


def test_keys_are_prefixed_and_carry_256_random_bits() -> None:
    key = new_key()

    assert key.startswith(KEY_PREFIX)
    # 32 random bytes in URL-safe base64 are 43 characters.
    assert len(key) - len(KEY_PREFIX) >= 43


def test_keys_are_unique() -> None:
    keys = {new_key() for _ in range(1000)}
    assert len(keys) == 1000


def test_the_digest_is_not_the_key_and_does_not_contain_it() -> None:
    key = new_key()
    stored = digest(key)

    assert stored != key
    assert key not in stored
    assert key.removeprefix(KEY_PREFIX) not in stored


def test_the_digest_is_stable_and_tells_keys_apart() -> None:
    key, other = new_key(), new_key()

    assert digest(key) == digest(key) == hashlib.sha256(key.encode()).hexdigest()
    assert digest(key) != digest(other)


def test_the_visible_prefix_shows_too_little_to_use() -> None:
    key = new_key()
    shown = visible_prefix(key)

    assert key.startswith(shown)
    assert len(shown) - len(KEY_PREFIX) <= 8
