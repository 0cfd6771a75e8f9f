"""The live schedule query: every carrier asked at once, each within its own timeout.

One slow or broken carrier never fails the answer nor delays it past the timeout; the answer
says, beside the sailings, how each carrier fared (ok, timeout, error, circuit_open).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import msgspec

from app.db import transaction
from app.runtime import Runtime
from app.schemas import Money
from app.sync import repository
from carriers.base import ScheduleQuery
from carriers.fanout import fan_out


class LiveAllocation(msgspec.Struct, kw_only=True):
    size_type: str
    units: int
    rate: Money


class LiveSailing(msgspec.Struct, kw_only=True):
    carrier_scac: str
    service_code: str | None
    vessel_name: str | None
    voyage_number: str
    port_of_loading: str
    port_of_discharge: str
    etd: datetime
    eta: datetime
    cut_offs: dict[str, datetime]
    status: str
    allocations: list[LiveAllocation]


class CarrierStatus(msgspec.Struct, kw_only=True):
    """How a carrier answered; ``complete`` False when it said it may have missed sailings."""

    scac: str
    status: str
    detail: str | None
    elapsed_ms: float
    complete: bool | None = None


class LiveSchedules(msgspec.Struct, kw_only=True):
    sailings: list[LiveSailing]
    carriers: list[CarrierStatus]


async def live_schedules(rt: Runtime, query: ScheduleQuery) -> LiveSchedules:
    """Ask every registered carrier for its sailings now; answer within the live timeout."""
    async with transaction(rt.engine, read_only=True) as conn:
        rows = await repository.carriers_to_sync(conn)
    adapters, refused = await rt.carriers.adapters_for_rows(rt, rows)
    result = await fan_out(
        list(adapters.values()),
        lambda adapter: adapter.schedules(query),
        timeout=rt.settings.live_query_timeout_seconds,
        breakers=rt.carriers.breakers,
    )
    statuses = [
        CarrierStatus(scac=scac, status="error", detail=why, elapsed_ms=0.0) for scac, why in refused.items()
    ]
    statuses += [
        CarrierStatus(
            scac=n.scac,
            status=n.status,
            detail=n.detail,
            elapsed_ms=round(n.elapsed_ms, 1),
            complete=result.results[n.scac].complete if n.scac in result.results else None,
        )
        for n in result.notices
    ]
    sailings = [
        LiveSailing(
            carrier_scac=offer.carrier_scac,
            service_code=offer.service_code,
            vessel_name=offer.vessel_name,
            voyage_number=offer.voyage_number,
            port_of_loading=offer.port_of_loading,
            port_of_discharge=offer.port_of_discharge,
            etd=offer.etd,
            eta=offer.eta,
            cut_offs=dict(offer.cut_offs),
            status=offer.status,
            allocations=[
                LiveAllocation(
                    size_type=a.size_type,
                    units=a.units,
                    rate=Money(amount=Decimal(a.rate), currency=a.currency),
                )
                for a in offer.allocations
            ],
        )
        for answer in result.results.values()
        for offer in answer.offers
    ]
    sailings.sort(key=lambda s: (s.etd, s.carrier_scac, s.voyage_number))
    return LiveSchedules(sailings=sailings, carriers=sorted(statuses, key=lambda s: s.scac))
