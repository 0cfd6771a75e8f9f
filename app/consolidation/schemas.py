"""Bodies of the consolidation API: a sailing's pools as planned or as packed, house bills."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Literal

import msgspec

from app.reservations.schemas import Party


class PlannedContainerView(msgspec.Struct, kw_only=True):
    """One container: its fill in CBM and kg and as a percentage of usable volume and payload,
    and its bookings (references, oldest first). ``master_reference`` once it is stored."""

    number: int
    master_reference: str | None
    size_type: str
    cbm: Decimal
    kg: Decimal
    volume_percent: Decimal
    weight_percent: Decimal
    dangerous_goods_classes: list[str]
    set_point_c: Decimal | None
    non_operating_reefer: bool
    bookings: list[str]


class RolledView(msgspec.Struct, kw_only=True):
    """A live booking the plan leaves out, and why (a reason slug and its figures)."""

    reference: str
    reason: str
    detail: str


class PoolConsolidation(msgspec.Struct, kw_only=True):
    """An open pool: the plan it would get now (``containers_to_draw`` more from the allotment,
    ``rolled`` what would not fit). A closed pool: its stored containers."""

    pool_id: uuid.UUID
    size_type: str
    state: Literal["open", "closed"]
    lcl_cut_off: datetime
    closed_at: datetime | None
    containers_drawn: int
    containers_to_draw: int
    containers: list[PlannedContainerView]
    rolled: list[RolledView]


class SailingConsolidation(msgspec.Struct, kw_only=True):
    sailing_id: uuid.UUID
    pools: list[PoolConsolidation]


class CloseReport(msgspec.Struct, kw_only=True):
    """One run of the close-pools job."""

    pools_closed: int = 0
    # Busy (another replica closing it, a hold being placed) or failed: tried again next run.
    skipped: int = 0
    failed: int = 0
    containers: int = 0
    bookings_rolled: int = 0
    leftover_holds_released: int = 0


class HouseBillContainer(msgspec.Struct, kw_only=True):
    number: int
    master_reference: str
    size_type: str


class HouseBillDangerousGoods(msgspec.Struct, kw_only=True):
    un_number: str
    imo_class: str
    proper_shipping_name: str | None = None
    packing_group: int | None = None


class HouseBillReefer(msgspec.Struct, kw_only=True):
    set_point_c: Decimal


class HouseBillSailing(msgspec.Struct, kw_only=True):
    carrier_scac: str
    carrier_name: str
    vessel_name: str
    voyage_number: str
    service_code: str
    etd: datetime
    eta: datetime


class HouseBill(msgspec.Struct, kw_only=True):
    """A house bill of lading: the platform's bill to the shipper for LCL cargo that travels
    under the container's master booking with the carrier."""

    number: str
    booking_reference: str
    container: HouseBillContainer
    shipper: Party
    consignee: Party
    notify: Party | None
    cargo_description: str
    hs_code: str
    packages: int
    gross_kg: Decimal
    cbm: Decimal
    dangerous_goods: list[HouseBillDangerousGoods]
    reefer: HouseBillReefer | None
    sailing: HouseBillSailing
    port_of_loading: str
    port_of_discharge: str
    issued_at: datetime
