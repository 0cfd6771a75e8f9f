"""Fixtures for the carrier adapter tests."""

from __future__ import annotations

import pytest
from carrier_world import FakeMonotonic


@pytest.fixture
def monotonic() -> FakeMonotonic:
    return FakeMonotonic()
