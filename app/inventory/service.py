"""Use cases of the inventory: carriers, sailings, allotments, pools and search."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TypeVar

import msgspec
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from app.carrier_adapters.credentials import seal_settings
from app.db import transaction
from app.domain import trade_codes
from app.domain.errors import Conflict, InvalidRequest, NotFound
from app.domain.units import from_milli, to_milli
from app.events.idempotency import Finish
from app.inventory import repository
from app.inventory.schemas import (
    AllotmentCreate,
    CarrierCreate,
    CarrierView,
    FclSpace,
    LclSpace,
    PoolCreate,
    SailingCreate,
    SailingPage,
    SailingView,
)
from app.pagination import decode_cursor, page_of
from app.runtime import Runtime
from app.schemas import QUANTITY_LIMITS, Money

V = TypeVar("V", bound=msgspec.Struct)


class SailingSearch(msgspec.Struct, kw_only=True, frozen=True):
    origin: str | None = None
    destination: str | None = None
    etd_from: datetime | None = None
    etd_to: datetime | None = None
    size_type: str | None = None
    min_units: int | None = None
    min_cbm: Decimal | None = None
    cursor: str | None = None
    limit: int = 20


async def create_carrier(rt: Runtime, request: CarrierCreate, finish: Finish | None = None) -> CarrierView:
    async with transaction(rt.engine) as conn:
        if await repository.carrier_id_by_scac(conn, request.scac) is not None:
            raise Conflict(f"carrier {request.scac} exists already", scac=request.scac)
        carrier_id = await repository.insert_carrier(
            conn,
            {
                "scac": request.scac,
                "name": request.name,
                "adapter_kind": request.adapter_kind,
                # Credentials (a DCSA token, an OAuth2 client secret) are stored sealed.
                "adapter_settings": seal_settings(rt.secrets, request.adapter_kind, request.adapter_settings),
                "release_deadline_days": request.release_deadline_days,
                "created_at": rt.clock.app_now(),
            },
        )
        view = CarrierView(
            id=carrier_id,
            scac=request.scac,
            name=request.name,
            adapter_kind=request.adapter_kind,
            release_deadline_days=request.release_deadline_days,
        )
        await _finish(conn, view, finish)
    return view


async def list_carriers(rt: Runtime) -> list[CarrierView]:
    async with transaction(rt.engine, read_only=True) as conn:
        rows = await repository.list_carriers(conn)
    return [
        CarrierView(
            id=row.id,
            scac=row.scac,
            name=row.name,
            adapter_kind=row.adapter_kind,
            release_deadline_days=row.release_deadline_days,
        )
        for row in rows
    ]


async def _finish(conn: AsyncConnection, view: V, finish: Finish | None) -> V:
    if finish is not None:
        await finish(conn, view)
    return view


def _booking_cut_off(request: SailingCreate) -> datetime:
    if request.cut_off is not None:
        return request.cut_off
    if request.cut_offs:
        return min(request.cut_offs.values())
    return request.etd - timedelta(hours=24)


def _require_utc(field: str, value: datetime) -> None:
    if value.tzinfo is None:
        raise InvalidRequest(field, f"{field} needs a timezone offset (UTC recommended)")


async def create_sailing(rt: Runtime, request: SailingCreate, finish: Finish | None = None) -> SailingView:
    for field in ("etd", "eta"):
        _require_utc(field, getattr(request, field))
    for code, moment in request.cut_offs.items():
        _require_utc(f"cut_offs.{code}", moment)
    cut_off = _booking_cut_off(request)
    _require_utc("cut_off", cut_off)
    if request.eta <= request.etd:
        raise InvalidRequest("eta", "eta must be after etd")
    if cut_off > request.etd:
        raise InvalidRequest("cut_off", "the booking cut-off cannot be after etd")
    if request.port_of_loading == request.port_of_discharge:
        raise InvalidRequest("port_of_discharge", "ports of loading and discharge are the same")
    async with transaction(rt.engine) as conn:
        carrier_id = await repository.carrier_id_by_scac(conn, request.carrier_scac)
        if carrier_id is None:
            raise InvalidRequest("carrier_scac", f"no carrier {request.carrier_scac}")
        try:
            sailing_id = await repository.insert_sailing(
                conn,
                {
                    "carrier_id": carrier_id,
                    "service_code": request.service_code,
                    "vessel_name": request.vessel_name,
                    "vessel_imo": request.vessel_imo,
                    "voyage_number": request.voyage_number,
                    "port_of_loading": request.port_of_loading,
                    "port_of_discharge": request.port_of_discharge,
                    "etd": request.etd,
                    "eta": request.eta,
                    "cut_off": cut_off,
                    "cut_offs": {code: t.isoformat() for code, t in request.cut_offs.items()},
                    "status": "open",
                    "created_at": rt.clock.app_now(),
                },
            )
        except IntegrityError as error:
            raise Conflict("this carrier already has that voyage on that lane") from error
        return await _finish(conn, await _view_one(conn, sailing_id), finish)


def _check_size_type(size_type: str) -> int:
    try:
        return trade_codes.size_type_length_ft(size_type)
    except ValueError as error:
        raise InvalidRequest("size_type", str(error)) from error


async def add_allotment(
    rt: Runtime, sailing_id: uuid.UUID, request: AllotmentCreate, finish: Finish | None = None
) -> SailingView:
    _check_size_type(request.size_type)
    async with transaction(rt.engine) as conn:
        await _require_sailing(conn, sailing_id)
        if await repository.allotment_by_size_type(conn, sailing_id, request.size_type):
            raise Conflict(f"sailing already has a {request.size_type} allotment")
        await repository.insert_allotment(
            conn,
            {
                "sailing_id": sailing_id,
                "size_type": request.size_type,
                "units_total": request.units,
                "rate": request.rate,
                "currency": request.currency,
            },
        )
        return await _finish(conn, await _view_one(conn, sailing_id), finish)


async def add_pool(
    rt: Runtime, sailing_id: uuid.UUID, request: PoolCreate, finish: Finish | None = None
) -> SailingView:
    length = _check_size_type(request.size_type)
    usable = request.usable_cbm or Decimal(trade_codes.POOL_USABLE_CBM[length])
    payload = request.payload_kg or Decimal(trade_codes.POOL_PAYLOAD_KG[length])
    async with transaction(rt.engine) as conn:
        await _require_sailing(conn, sailing_id)
        allotment = await repository.allotment_by_size_type(conn, sailing_id, request.size_type)
        if allotment is None:
            raise InvalidRequest("size_type", f"add a {request.size_type} allotment first")
        try:
            await repository.insert_pool(
                conn,
                {
                    "sailing_id": sailing_id,
                    "allotment_id": allotment.id,
                    "size_type": request.size_type,
                    "container_volume_dm3": to_milli(usable, "usable_cbm"),
                    "container_weight_g": to_milli(payload, "payload_kg"),
                    "rate": request.rate_per_revenue_tonne,
                    "minimum": request.minimum,
                    "currency": request.currency,
                },
            )
        except IntegrityError as error:
            raise Conflict(f"sailing already has a {request.size_type} pool") from error
        return await _finish(conn, await _view_one(conn, sailing_id), finish)


async def get_sailing(rt: Runtime, sailing_id: uuid.UUID) -> SailingView:
    async with transaction(rt.engine, read_only=True) as conn:
        return await _view_one(conn, sailing_id)


async def search_sailings(rt: Runtime, search: SailingSearch) -> SailingPage:
    if search.min_cbm is not None and (why := QUANTITY_LIMITS.refusal(search.min_cbm)) is not None:
        raise InvalidRequest("min_cbm", f"min_cbm {why}")
    min_volume = to_milli(search.min_cbm, "min_cbm") if search.min_cbm else None
    async with transaction(rt.engine, read_only=True) as conn:
        rows = await repository.search_sailings(
            conn,
            now=rt.clock.now_sql(rt.dialect),
            origin=search.origin,
            destination=search.destination,
            etd_from=search.etd_from,
            etd_to=search.etd_to,
            size_type=search.size_type,
            min_units=search.min_units,
            min_volume_dm3=min_volume,
            after=decode_cursor(search.cursor),
            limit=search.limit + 1,
        )
        page, next_cursor = page_of(rows, search.limit, lambda row: (row.etd, row.id))
        views = await _views(conn, page)
    return SailingPage(items=views, next_cursor=next_cursor)


async def _require_sailing(conn: AsyncConnection, sailing_id: uuid.UUID) -> repository.AnyRow:
    sailing = await repository.get_sailing(conn, sailing_id)
    if sailing is None:
        raise NotFound("sailing", sailing_id)
    return sailing


async def _view_one(conn: AsyncConnection, sailing_id: uuid.UUID) -> SailingView:
    return (await _views(conn, [await _require_sailing(conn, sailing_id)]))[0]


async def _views(conn: AsyncConnection, rows: list[repository.AnyRow]) -> list[SailingView]:
    ids = [row.id for row in rows]
    fcl: dict[uuid.UUID, list[FclSpace]] = defaultdict(list)
    lcl: dict[uuid.UUID, list[LclSpace]] = defaultdict(list)
    if ids:
        for a in await repository.allotments_of(conn, ids):
            fcl[a.sailing_id].append(
                FclSpace(
                    size_type=a.size_type,
                    units_total=a.units_total,
                    units_free=a.units_free,
                    price_per_unit=Money(amount=a.rate, currency=a.currency),
                )
            )
        for p in await repository.pools_of(conn, ids):
            lcl[p.sailing_id].append(_lcl_space(p))
    return [
        SailingView(
            id=row.id,
            carrier_scac=row.carrier_scac,
            service_code=row.service_code,
            vessel_name=row.vessel_name,
            vessel_imo=row.vessel_imo,
            voyage_number=row.voyage_number,
            port_of_loading=row.port_of_loading,
            port_of_discharge=row.port_of_discharge,
            etd=row.etd,
            eta=row.eta,
            cut_off=row.cut_off,
            cut_offs={code: datetime.fromisoformat(t) for code, t in row.cut_offs.items()},
            status=row.status,
            fcl=fcl[row.id],
            lcl=lcl[row.id],
        )
        for row in rows
    ]


def _lcl_space(pool: repository.AnyRow) -> LclSpace:
    drawable = max(pool.units_drawable, 0)
    return LclSpace(
        size_type=pool.size_type,
        cbm_free=from_milli(pool.volume_free_dm3 + drawable * pool.container_volume_dm3),
        kg_free=from_milli(pool.weight_free_g + drawable * pool.container_weight_g),
        usable_cbm_per_container=from_milli(pool.container_volume_dm3),
        rate_per_revenue_tonne=Money(amount=pool.rate, currency=pool.currency),
        minimum=Money(amount=pool.minimum, currency=pool.currency),
    )
