"""The master booking of a consolidated container, told to its carrier through the request
outbox (app/carrier_requests; the dispatcher sends it): requested once the pool closed, amended
when a re-plan changes what it carries, cancelled when a re-plan leaves it empty."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from app.carrier_requests import payload
from app.carrier_requests import repository as carrier_requests
from app.config import Settings
from app.consolidation import repository
from carriers.base import Party

# A master whose request was recorded and that the carrier has not ended: a change of the
# container must reach it as an amendment or a cancellation.
ASKED = ("requested", "confirmed")


class Master(Protocol):
    @property
    def id(self) -> uuid.UUID: ...
    @property
    def sailing_id(self) -> uuid.UUID: ...
    @property
    def size_type(self) -> str: ...
    @property
    def master_reference(self) -> str: ...
    @property
    def set_point_c(self) -> Decimal | None: ...
    @property
    def non_operating_reefer(self) -> bool: ...


def platform_party(settings: Settings) -> Party:
    """The platform as booking party (SLOTPOOL_NVOCC_*): it issues the house bills."""
    return Party(name=settings.nvocc_name, email=settings.nvocc_email or None)


async def record(
    conn: AsyncConnection, settings: Settings, container: Master, operation: str, now: datetime
) -> None:
    """Record the ``operation`` (request, amend, cancel) of a container's master booking, with
    the cargo of the live bookings aboard it now."""
    sailing = await carrier_requests.sailing_of(conn, container.sailing_id)
    request = payload.master_request(
        container.master_reference,
        sailing.facts,
        container.size_type,
        platform_party(settings),
        await repository.cargo_aboard(conn, container.id),
        container.set_point_c,
        container.non_operating_reefer,
    )
    await carrier_requests.record(
        conn,
        subject_kind="master",
        subject_id=container.id,
        subject_reference=container.master_reference,
        carrier_id=sailing.carrier_id,
        operation=operation,
        payload=payload.encode(request),
        now=now,
    )
