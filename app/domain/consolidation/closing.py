"""What closing a pool needs beyond packing: when it closes, what a booking's stored cargo asks
of a container, and the names of the containers it fills (pure, no I/O)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from app.domain.consolidation.cargo import DangerousGoods, PoolBooking
from app.domain.units import celsius

# DCSA cut-off code of the LCL delivery cut-off (CutOffDateTimeCodeList).
LCL_CUT_OFF: Final = "LCO"
# A master booking reference travels as DCSA carrierBookingRequestReference (max 100) and in
# EDIFACT RFF segments (an..35): 35 characters is the tighter of them.
MASTER_REFERENCE_MAX: Final = 35


def lcl_cut_off(cut_off: datetime, cut_offs: Mapping[str, str | datetime]) -> datetime:
    """When a sailing's LCL pools close: its LCL cut-off (``LCO``), else the earliest of its
    cut-offs (the booking cut-off among them)."""
    moments = {code: _moment(value) for code, value in cut_offs.items()}
    if LCL_CUT_OFF in moments:
        return moments[LCL_CUT_OFF]
    return min([cut_off, *moments.values()])


def _moment(value: str | datetime) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def pool_booking(
    reference: str, volume_dm3: int, weight_g: int, booked_at: datetime, cargo: Mapping[str, Any]
) -> PoolBooking:
    """A live LCL booking as the planner sees it, from its stored cargo (the API's ``Cargo``:
    ``dangerous_goods`` lines, ``reefer.set_point`` in its ``unit`` for temperature-controlled cargo)."""
    goods = tuple(
        DangerousGoods(
            un_number=str(line["un_number"]),
            imo_class=str(line["imo_class"]),
            subsidiary_classes=tuple(str(c) for c in line.get("subsidiary_classes") or ()),
            segregation_groups=frozenset(int(g) for g in line.get("segregation_groups") or ()),
        )
        for line in cargo.get("dangerous_goods") or ()
    )
    reefer = cargo.get("reefer") or {}
    set_point = reefer.get("set_point")
    return PoolBooking(
        reference=reference,
        volume_dm3=volume_dm3,
        weight_g=weight_g,
        booked_at=booked_at,
        dangerous_goods=goods,
        set_point_c=None
        if set_point is None
        else celsius(Decimal(str(set_point)), reefer.get("unit", "CEL")),
    )


def master_reference(voyage_number: str, size_type: str, pool_id: uuid.UUID, number: int) -> str:
    """The platform's reference of a container's master booking: readable (voyage, size-type,
    container number) and unique (the pool's id, whose first 32 bits tell pools apart)."""
    voyage = re.sub(r"[^A-Z0-9]", "", voyage_number.upper())[:10] or "V"
    reference = f"SPM-{voyage}-{size_type}-{pool_id.hex[:8].upper()}-{number:03d}"
    assert len(reference) <= MASTER_REFERENCE_MAX, reference
    return reference
