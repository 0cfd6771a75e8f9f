"""Applying one carrier's sailing offer to the inventory, in the caller's transaction.

What is applied and what is only recorded (``carrier_sync_changes``, for the scheduler):

- a new sailing (unless cancelled or already past its booking cut-off) is inserted open, with
  one allotment per size-type offered (``units_total`` = units offered, the offered rate) and
  an LCL pool on the first 20' size-type offered, priced with the default LCL tariff below;
  the booking cut-off is the earliest DCSA cut-off;
- ETD, ETA or cut-offs that moved are written to the sailing (with the booking cut-off derived
  again) and recorded;
- more units offered lift ``units_total`` (safe: nothing sold is touched) and are recorded,
  except on an allotment units of which were given back to the carrier: there, only an
  allocation the carrier dates after the last release lifts it (a carrier that forgot a
  release, or reports its allocation undated, must not sell the units again);
- fewer units offered are only recorded, with the carrier's figure kept in
  ``allotment_offers.units_offered``: ``units_total`` stays until the scheduler has released
  holds and rolled bookings;
- a cancelled sailing keeps its status; ``sailing_carrier_states.carrier_status`` says
  ``cancelled`` and the change is recorded.

Rates of existing allotments and vessel or service swaps are not followed: the price sold is
the price quoted, and a vessel swap does not change the platform's space. A sailing offered
without a vessel is stored with the vessel "TBN" (to be nominated) and takes the vessel's name
when the carrier gives it.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from app.domain import trade_codes
from app.domain.units import to_milli
from app.inventory import repository as inventory
from app.inventory.repository import AnyRow
from app.inventory.schemas import SailingCreate
from app.inventory.service import _booking_cut_off as booking_cut_off
from app.sync import repository
from carriers.base import OfferedAllocation, SailingOffer

Change = dict[str, Any]

# Default LCL tariff of a pool opened by the sync: per revenue tonne (1 CBM or 1,000 kg,
# whichever is more), the 20' container rate over LCL_RATE_DIVISOR, with a minimum of one
# revenue tonne. 28 usable CBM sold at rate/20 bring in 1.4x the container rate: the
# consolidation margin. Operators change a pool's tariff through the inventory.
LCL_RATE_DIVISOR = 20
LCL_LENGTH_FT = 20
CENT = Decimal("0.01")
# What carriers write while a sailing's vessel is not nominated yet.
VESSEL_TO_BE_NAMED = "TBN"
log = structlog.get_logger("slotpool.sync")


def offer_problem(offer: SailingOffer, scac: str) -> str | None:
    """Why this offer cannot become a sailing here, or None when it can."""
    if offer.carrier_scac != scac:
        return f"offer of carrier {offer.carrier_scac}, expected {scac}"
    for port in (offer.port_of_loading, offer.port_of_discharge):
        if not re.match(trade_codes.UN_LOCODE, port):
            return f"port {port!r} is not a UN/LOCODE"
    if offer.port_of_loading == offer.port_of_discharge:
        return "ports of loading and discharge are the same"
    if not 0 < len(offer.voyage_number) <= 32 or len(offer.service_code or "") > 16:
        return "voyage number empty or too long, or service code too long"
    if len(offer.vessel_name or "") > 100:
        return "vessel name too long"
    if offer.vessel_imo is not None and not (len(offer.vessel_imo) == 7 and offer.vessel_imo.isdigit()):
        return "IMO number is not 7 digits"
    moments = [offer.etd, offer.eta, *offer.cut_offs.values()]
    if any(moment.tzinfo is None for moment in moments):
        return "times without a timezone"
    if offer.eta <= offer.etd:
        return "eta is not after etd"
    if any(at > offer.etd for at in offer.cut_offs.values()):
        return "a cut-off is after etd"
    for allocation in offer.allocations:
        problem = _allocation_problem(allocation)
        if problem:
            return f"{allocation.size_type}: {problem}"
    return None


def _allocation_problem(allocation: OfferedAllocation) -> str | None:
    if not trade_codes.is_size_type(allocation.size_type):
        return "not an ISO 6346 size-type we sell"
    if not 0 <= allocation.units <= 10_000:
        return f"{allocation.units} units"
    if not (allocation.rate.is_finite() and allocation.rate > 0):
        return f"rate {allocation.rate}"
    if not re.match(trade_codes.CURRENCY, allocation.currency):
        return f"currency {allocation.currency!r}"
    return None


def _sailing_request(offer: SailingOffer) -> SailingCreate:
    return SailingCreate(
        carrier_scac=offer.carrier_scac,
        service_code=offer.service_code or "",
        vessel_name=offer.vessel_name or VESSEL_TO_BE_NAMED,
        vessel_imo=offer.vessel_imo,
        voyage_number=offer.voyage_number,
        port_of_loading=offer.port_of_loading,
        port_of_discharge=offer.port_of_discharge,
        etd=offer.etd,
        eta=offer.eta,
        cut_offs=dict(offer.cut_offs),
    )


def change(carrier_id: uuid.UUID, sailing_id: uuid.UUID, kind: str, at: datetime, **detail: Any) -> Change:
    """A row of the sync's change log."""
    size_type = detail.get("size_type")
    return {
        "carrier_id": carrier_id,
        "sailing_id": sailing_id,
        "size_type": size_type,
        "kind": kind,
        "detail": detail,
        "detected_at": at,
    }


def _by_size_type(offer: SailingOffer) -> dict[str, OfferedAllocation]:
    offered: dict[str, OfferedAllocation] = {}
    for allocation in offer.allocations:
        offered.setdefault(allocation.size_type, allocation)  # the first figure of a size-type
    return offered


def unchanged(stored: repository.StoredSailing | None, offer: SailingOffer) -> bool:
    """True when applying ``offer`` would change and record nothing: the sailing is known,
    listed as scheduled, with the same times, a named vessel and the same figure for every
    size-type. Only a filter: anything else goes through :func:`apply_offer`, which decides."""
    if stored is None or stored.carrier_status != "scheduled" or offer.status != "scheduled":
        return False
    if (offer.vessel_name and stored.vessel_name == VESSEL_TO_BE_NAMED) or (stored.etd, stored.eta) != (
        offer.etd,
        offer.eta,
    ):
        return False
    if stored.cut_offs != {code: moment.isoformat() for code, moment in offer.cut_offs.items()}:
        return False
    offered = {size_type: a.units for size_type, a in _by_size_type(offer).items()}
    return stored.units_offered == offered


async def apply_offer(
    conn: AsyncConnection, carrier_id: uuid.UUID, offer: SailingOffer, at: datetime
) -> list[str]:
    """Bring one sailing in line with the carrier's offer; the kinds of the changes recorded."""
    sailing = await repository.find_sailing(
        conn, carrier_id, offer.voyage_number, offer.port_of_loading, offer.port_of_discharge
    )
    if sailing is None:
        if offer.status == "cancelled" or booking_cut_off(_sailing_request(offer)) <= at:
            return []  # never sold here, and nothing left to sell: nothing to discover
        found = await _discover(conn, carrier_id, offer, at)
    elif offer.status == "cancelled":
        found = await cancel(conn, carrier_id, sailing.id, at, reason="listed as cancelled")
    else:
        # Counters first (DESIGN section 4), then the sailing row, then rows referencing it.
        found = await _follow_allocations(conn, carrier_id, sailing.id, offer, at)
        if await repository.set_carrier_status(conn, sailing.id, "scheduled", at):
            found.append(change(carrier_id, sailing.id, "sailing.reinstated_by_carrier", at))
        found += await _follow_schedule(conn, carrier_id, sailing, offer, at)
        if sailing.vessel_name == VESSEL_TO_BE_NAMED and offer.vessel_name:
            await repository.name_vessel(conn, sailing.id, offer.vessel_name, offer.vessel_imo)
    await repository.record_changes(conn, found)
    return [change["kind"] for change in found]


async def cancel(
    conn: AsyncConnection, carrier_id: uuid.UUID, sailing_id: uuid.UUID, at: datetime, *, reason: str
) -> list[Change]:
    """Mark the sailing cancelled by its carrier; the change once, however often reported."""
    if not await repository.set_carrier_status(conn, sailing_id, "cancelled", at):
        return []
    return [change(carrier_id, sailing_id, "sailing.cancelled_by_carrier", at, reason=reason)]


async def _discover(
    conn: AsyncConnection, carrier_id: uuid.UUID, offer: SailingOffer, at: datetime
) -> list[Change]:
    cut_off = booking_cut_off(_sailing_request(offer))
    sailing_id = await repository.insert_sailing_if_absent(
        conn,
        {
            "carrier_id": carrier_id,
            "service_code": offer.service_code or "",
            "vessel_name": offer.vessel_name or VESSEL_TO_BE_NAMED,
            "vessel_imo": offer.vessel_imo,
            "voyage_number": offer.voyage_number,
            "port_of_loading": offer.port_of_loading,
            "port_of_discharge": offer.port_of_discharge,
            "etd": offer.etd,
            "eta": offer.eta,
            "cut_off": cut_off,
            "cut_offs": {code: moment.isoformat() for code, moment in offer.cut_offs.items()},
            "status": "open",
            "created_at": at,
        },
    )
    if sailing_id is None:
        return []  # another sync discovered it a moment ago and recorded it
    units: dict[str, int] = {}
    pool_size_type: str | None = None
    for size_type, allocation in _by_size_type(offer).items():
        allotment_id = await _add_allotment(conn, sailing_id, allocation, at)
        if allotment_id is None:
            continue
        units[size_type] = allocation.units
        if pool_size_type is None and trade_codes.size_type_length_ft(size_type) == LCL_LENGTH_FT:
            await _open_pool(conn, sailing_id, allotment_id, allocation)
            pool_size_type = size_type
    await repository.set_carrier_status(conn, sailing_id, "scheduled", at)
    return [
        change(
            carrier_id,
            sailing_id,
            "sailing.discovered",
            at,
            voyage_number=offer.voyage_number,
            port_of_loading=offer.port_of_loading,
            port_of_discharge=offer.port_of_discharge,
            etd=offer.etd.isoformat(),
            cut_off=cut_off.isoformat(),
            units=units,
            pool=pool_size_type,
        )
    ]


async def _add_allotment(
    conn: AsyncConnection, sailing_id: uuid.UUID, allocation: OfferedAllocation, at: datetime
) -> uuid.UUID | None:
    allotment_id = await repository.insert_allotment_if_absent(
        conn,
        {
            "sailing_id": sailing_id,
            "size_type": allocation.size_type,
            "units_total": allocation.units,
            "rate": allocation.rate.quantize(CENT),
            "currency": allocation.currency,
        },
    )
    if allotment_id is not None:
        await repository.record_offer(conn, allotment_id, allocation.units, at)
    return allotment_id


async def _open_pool(
    conn: AsyncConnection, sailing_id: uuid.UUID, allotment_id: uuid.UUID, allocation: OfferedAllocation
) -> None:
    rate = (allocation.rate / LCL_RATE_DIVISOR).quantize(CENT)
    await inventory.insert_pool(
        conn,
        {
            "sailing_id": sailing_id,
            "allotment_id": allotment_id,
            "size_type": allocation.size_type,
            "container_volume_dm3": to_milli(
                Decimal(trade_codes.POOL_USABLE_CBM[LCL_LENGTH_FT]), "usable_cbm"
            ),
            "container_weight_g": to_milli(Decimal(trade_codes.POOL_PAYLOAD_KG[LCL_LENGTH_FT]), "payload_kg"),
            "rate": rate,
            "minimum": rate,
            "currency": allocation.currency,
        },
    )


async def _follow_allocations(
    conn: AsyncConnection, carrier_id: uuid.UUID, sailing_id: uuid.UUID, offer: SailingOffer, at: datetime
) -> list[Change]:
    """Raise or record a cut per size-type; a size-type no longer offered is a cut to 0."""
    rows = {row.size_type: row for row in await repository.allotments_with_offers(conn, sailing_id)}
    offered = _by_size_type(offer)
    found: list[Change] = []
    for size_type in sorted(rows.keys() | offered.keys()):
        allocation = offered.get(size_type)
        units = allocation.units if allocation is not None else 0
        row = rows.get(size_type)
        if row is None:
            if (
                allocation is not None
                and units > 0
                and await _add_allotment(conn, sailing_id, allocation, at)
            ):
                found.append(
                    change(
                        carrier_id,
                        sailing_id,
                        "allotment.raised",
                        at,
                        size_type=size_type,
                        units_before=0,
                        units_offered=units,
                        units_total=units,
                    )
                )
            continue
        followed = await _follow_allotment(conn, row, _ceiling(row, allocation, units), at)
        if followed is not None:
            found.append(change(carrier_id, sailing_id, at=at, size_type=size_type, **followed))
    return found


def _ceiling(row: AnyRow, allocation: OfferedAllocation | None, units: int) -> int:
    """The carrier's figure, held at the last one recorded if it would lift an allotment that
    gave units back without an allocation dated after that release."""
    released: datetime | None = row.last_released_at
    before: int = row.units_offered if row.units_offered is not None else row.units_total
    if released is None or units <= before:
        return units
    dated = allocation.allocated_at if allocation is not None else None
    if dated is not None and dated > released:
        return units
    log.info("allotment.raise_withheld", allotment_id=str(row.id), units_reported=units,
             units_kept=before, released_at=released.isoformat(),
             allocated_at=dated.isoformat() if dated else None)  # fmt: skip
    return before


async def _follow_allotment(
    conn: AsyncConnection, row: AnyRow, units: int, at: datetime
) -> dict[str, Any] | None:
    before = row.units_offered
    if before is None:
        # Loaded by an operator before the carrier was synced: its total is the figure we had.
        before = row.units_total
        if not await repository.record_offer(conn, row.id, before, at):
            return None  # a concurrent sync recorded it; the next sync compares against that
    if units == before or not await repository.swap_offer(conn, row.id, before, units, at):
        return None
    if units > before:
        await repository.raise_total(conn, row.id, units)
        return {
            "kind": "allotment.raised",
            "units_before": before,
            "units_offered": units,
            "units_total": max(row.units_total, units),
        }
    return {
        "kind": "allotment.cut",
        "units_before": before,
        "units_offered": units,
        "units_total": row.units_total,
        "units_held": row.units_held,
        "units_booked": row.units_booked,
        "units_pooled": row.units_pooled,
    }


async def _follow_schedule(
    conn: AsyncConnection, carrier_id: uuid.UUID, sailing: AnyRow, offer: SailingOffer, at: datetime
) -> list[Change]:
    stored_cut_offs = {code: datetime.fromisoformat(moment) for code, moment in sailing.cut_offs.items()}
    if (sailing.etd, sailing.eta, stored_cut_offs) == (offer.etd, offer.eta, offer.cut_offs):
        return []
    cut_off = booking_cut_off(_sailing_request(offer))
    moved = await repository.move_schedule(
        conn,
        sailing,
        {
            "etd": offer.etd,
            "eta": offer.eta,
            "cut_off": cut_off,
            "cut_offs": {code: moment.isoformat() for code, moment in offer.cut_offs.items()},
        },
    )
    if not moved:
        return []
    return [
        change(
            carrier_id,
            sailing.id,
            "sailing.schedule_changed",
            at,
            etd_before=sailing.etd.isoformat(),
            etd=offer.etd.isoformat(),
            eta_before=sailing.eta.isoformat(),
            eta=offer.eta.isoformat(),
            cut_off_before=sailing.cut_off.isoformat(),
            cut_off=cut_off.isoformat(),
        )
    ]
