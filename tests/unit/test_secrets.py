"""Stored secrets are sealed with the configured keys and open only with them."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.secrets import SecretBox, SecretUnreadable, new_key


def test_a_sealed_secret_opens_with_its_key_and_is_not_stored_in_clear() -> None:
    box = SecretBox([new_key()])

    sealed = box.seal("whsec_c2VjcmV0")

    assert "whsec_" not in sealed
    assert box.open(sealed) == "whsec_c2VjcmV0"


def test_another_key_cannot_open_it() -> None:
    sealed = SecretBox([new_key()]).seal("token")

    with pytest.raises(SecretUnreadable):
        SecretBox([new_key()]).open(sealed)


def test_a_new_key_in_front_still_opens_what_the_old_key_sealed() -> None:
    old, new = new_key(), new_key()
    sealed = SecretBox([old]).seal("token")

    rotated = SecretBox.from_config(f"{new}, {old}", key_file="unused")

    assert rotated.open(sealed) == "token"
    assert SecretBox([new]).open(rotated.seal("other")) == "other"


def test_without_keys_one_key_file_is_made_once_readable_by_its_owner(tmp_path: Path) -> None:
    key_file = tmp_path / "var" / "secret.key"

    first = SecretBox.from_config("", str(key_file))
    second = SecretBox.from_config("", str(key_file))

    assert second.open(first.seal("token")) == "token"
    assert key_file.stat().st_mode & 0o777 == 0o600


def test_a_malformed_key_is_refused_with_a_clear_message() -> None:
    with pytest.raises(ValueError, match="not a Fernet key"):
        SecretBox(["not-a-key"])
