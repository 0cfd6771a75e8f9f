"""House bills of lading: what the owner of a packed LCL booking reads and prints."""

from __future__ import annotations

import msgspec

from app.accounts.actor import Actor
from app.consolidation import repository
from app.consolidation.schemas import (
    HouseBill,
    HouseBillContainer,
    HouseBillDangerousGoods,
    HouseBillReefer,
    HouseBillSailing,
)
from app.db import transaction
from app.domain.errors import NotFound
from app.domain.units import celsius
from app.reservations.repository import bookings, visible_to
from app.reservations.schemas import Cargo, Parties
from app.runtime import Runtime


async def get_house_bill(rt: Runtime, actor: Actor, reference: str) -> HouseBill:
    """The house bill of the actor's booking; NotFound for someone else's booking, an FCL one,
    or one whose pool has not closed yet (no container, no house bill number)."""
    async with transaction(rt.engine, read_only=True) as conn:
        found = await repository.house_bill(conn, reference, visible_to(bookings, actor))
    if found is None:
        raise NotFound("booking", reference)
    booking = found.booking
    if booking.house_bill_number is None or found.container_number is None or found.master_reference is None:
        raise NotFound("house bill of booking", reference)
    cargo = msgspec.convert(booking.cargo, Cargo)
    parties = msgspec.convert(booking.parties, Parties)
    return HouseBill(
        number=booking.house_bill_number,
        booking_reference=booking.reference,
        container=HouseBillContainer(
            number=found.container_number,
            master_reference=found.master_reference,
            size_type=booking.size_type,
        ),
        shipper=parties.shipper,
        consignee=parties.consignee,
        notify=parties.notify,
        cargo_description=cargo.description,
        hs_code=cargo.hs_code,
        packages=cargo.packages,
        gross_kg=cargo.gross_kg,
        cbm=cargo.cbm,
        dangerous_goods=[
            HouseBillDangerousGoods(
                un_number=line.un_number,
                imo_class=line.imo_class,
                proper_shipping_name=line.proper_shipping_name,
                packing_group=line.packing_group,
            )
            for line in cargo.dangerous_goods
        ],
        reefer=None
        if cargo.reefer is None
        else HouseBillReefer(set_point_c=celsius(cargo.reefer.set_point, cargo.reefer.unit)),
        sailing=HouseBillSailing(
            carrier_scac=found.carrier_scac,
            carrier_name=found.carrier_name,
            vessel_name=found.vessel_name,
            voyage_number=found.voyage_number,
            service_code=found.service_code,
            etd=found.etd,
            eta=found.eta,
        ),
        port_of_loading=found.port_of_loading,
        port_of_discharge=found.port_of_discharge,
        issued_at=found.pool_closed_at or booking.updated_at,
    )
