"""The DCSA contract tests cannot pass by skipping in CI: without the specs they fail there."""

from __future__ import annotations

from pathlib import Path

import dcsa_spec
import pytest


def test_missing_specs_fail_under_ci(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SLOTPOOL_SHARED_DIR", str(tmp_path))
    monkeypatch.setenv("CI", "true")

    with pytest.raises(pytest.fail.Exception, match="CI requires the DCSA specs"):
        dcsa_spec.require_specs()


def test_missing_specs_skip_outside_ci(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SLOTPOOL_SHARED_DIR", str(tmp_path))
    monkeypatch.delenv("CI", raising=False)

    with pytest.raises(pytest.skip.Exception):
        dcsa_spec.require_specs()


def test_the_specs_are_found_here() -> None:
    assert (dcsa_spec.require_specs() / dcsa_spec.BKG).is_file()
