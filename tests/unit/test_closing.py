"""When a pool closes, what the planner reads from a stored booking, and master references."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from app.domain.consolidation.closing import MASTER_REFERENCE_MAX, lcl_cut_off, master_reference, pool_booking
from app.domain.errors import InvalidRequest

CUT_OFF = datetime(2026, 12, 10, 12, tzinfo=UTC)


def test_the_lcl_cut_off_is_lco_else_the_earliest_cut_off() -> None:
    lco = CUT_OFF + timedelta(hours=6)
    assert (
        lcl_cut_off(CUT_OFF, {"LCO": lco.isoformat(), "DCO": (CUT_OFF - timedelta(days=1)).isoformat()})
        == lco
    )
    earliest = CUT_OFF - timedelta(days=1)
    assert lcl_cut_off(CUT_OFF, {"DCO": earliest.isoformat(), "FCO": CUT_OFF.isoformat()}) == earliest
    assert lcl_cut_off(CUT_OFF, {}) == CUT_OFF


def test_a_stored_cargo_becomes_a_pool_booking_with_its_dangerous_goods_and_set_point() -> None:
    cargo = {
        "description": "x",
        "dangerous_goods": [{"un_number": "1263", "imo_class": "3", "proper_shipping_name": "PAINT"}],
        "reefer": {"set_point": "-18.0"},
    }
    booking = pool_booking("SP-1", 2000, 500_000, CUT_OFF, cargo)
    assert booking.dangerous_goods[0].imo_class == "3"
    assert booking.set_point_c == Decimal("-18.0")
    assert pool_booking("SP-2", 1000, 1000, CUT_OFF, {"description": "dry"}).set_point_c is None
    with pytest.raises(InvalidRequest):
        pool_booking(
            "SP-3", 1000, 1000, CUT_OFF, {"dangerous_goods": [{"un_number": "1263", "imo_class": "9.9"}]}
        )


def test_master_references_are_readable_bounded_and_differ_per_pool_and_number() -> None:
    pool = uuid.UUID("12345678-9abc-4def-8123-456789abcdef")
    reference = master_reference("0421e/long-voyage-number", "45G1", pool, 3)
    assert reference == "SPM-0421ELONGV-45G1-12345678-003"
    assert len(reference) <= MASTER_REFERENCE_MAX
    assert master_reference("0421E", "45G1", pool, 4) != master_reference("0421E", "45G1", uuid.uuid4(), 4)
