"""Request and response bodies of the inventory API."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

import msgspec

from app.schemas import (
    Currency,
    Moment,
    Money,
    NonNegativeMoney,
    PositiveDecimal,
    PositiveMoney,
    Scac,
    SizeType,
    Text,
    UnLocode,
    check_decimals,
)

CutOffCode = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$", examples=["DCO", "FCO", "LCO"])]


class CarrierCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    scac: Scac
    name: Text
    adapter_kind: Annotated[str, msgspec.Meta(pattern=r"^(dcsa|feed|simulated)$")] = "simulated"
    adapter_settings: dict[str, Any] = msgspec.field(default_factory=dict)
    release_deadline_days: Annotated[int, msgspec.Meta(ge=0, le=60)] = 7


class CarrierView(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    scac: str
    name: str
    adapter_kind: str
    release_deadline_days: int


class SailingCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    carrier_scac: Scac
    service_code: Annotated[str, msgspec.Meta(min_length=1, max_length=16)]
    vessel_name: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    vessel_imo: Annotated[str, msgspec.Meta(pattern=r"^[0-9]{7}$")] | None = None
    voyage_number: Annotated[str, msgspec.Meta(min_length=1, max_length=32)]
    port_of_loading: UnLocode
    port_of_discharge: UnLocode
    etd: Moment
    eta: Moment
    # DCSA cut-off codes (CutOffDateTimeCodeList): DCO, VCO, FCO, LCO, ...
    cut_offs: dict[CutOffCode, Moment] = msgspec.field(default_factory=dict)
    # When sales stop; defaults to the earliest cut-off given, else 24 h before ETD.
    cut_off: Moment | None = None


class AllotmentCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    size_type: SizeType
    units: Annotated[int, msgspec.Meta(ge=0, le=10_000)]
    rate: PositiveMoney
    currency: Currency

    def __post_init__(self) -> None:
        check_decimals(self)


class PoolCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """LCL space drawn container by container from the allotment of the same size-type."""

    size_type: SizeType
    rate_per_revenue_tonne: PositiveMoney
    minimum: NonNegativeMoney
    currency: Currency
    # Usable space and payload per container; defaults follow the container length.
    usable_cbm: PositiveDecimal | None = None
    payload_kg: PositiveDecimal | None = None

    def __post_init__(self) -> None:
        check_decimals(self)


class FclSpace(msgspec.Struct, kw_only=True):
    size_type: str
    units_total: int
    units_free: int
    price_per_unit: Money


class LclSpace(msgspec.Struct, kw_only=True):
    size_type: str
    # Free space counts the pool's own plus what it may still draw from the allotment.
    cbm_free: Decimal
    kg_free: Decimal
    usable_cbm_per_container: Decimal
    rate_per_revenue_tonne: Money
    minimum: Money


class SailingView(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    carrier_scac: str
    service_code: str
    vessel_name: str
    vessel_imo: str | None
    voyage_number: str
    port_of_loading: str
    port_of_discharge: str
    etd: datetime
    eta: datetime
    cut_off: datetime
    cut_offs: dict[str, datetime]
    status: str
    fcl: list[FclSpace]
    lcl: list[LclSpace]


class SailingPage(msgspec.Struct, kw_only=True):
    items: list[SailingView]
    next_cursor: str | None
