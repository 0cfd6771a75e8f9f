"""Fixtures for the carrier adapter tests."""

from __future__ import annotations

import dcsa_spec
import pytest
from carrier_world import FakeMonotonic
from dcsa_world import fake_sailings
from fake_dcsa import FakeDcsaState


@pytest.fixture
def monotonic() -> FakeMonotonic:
    return FakeMonotonic()


@pytest.fixture
def fake_dcsa_state() -> FakeDcsaState:
    """The fake DCSA carrier's world; skips when the DCSA specs are not available."""
    dcsa_spec.require_specs()
    return FakeDcsaState(fake_sailings("DCSA"))
