"""An operator settles a carrier request whose outcome is unknown.

A booking request to a carrier that cannot deduplicate it (DCSA Booking 2.0.4) becomes
``unknown`` when its answer was lost: resending could book twice, so it waits and blocks the
booking's later requests (app/dispatch/service.py). The operator asks the carrier and says what
it answered: it has the booking (the request is acknowledged with the carrier's reference and
status, with the consequences an answer has), or it has none (the request is due again, as if
never sent).
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec

from app.carrier_requests import repository as carrier_requests
from app.carrier_requests.models import RequestState
from app.carrier_requests.repository import RequestRow
from app.db import transaction
from app.dispatch import repository
from app.dispatch.schemas import CarrierRequestPage, CarrierRequestView, RequestSettlement
from app.dispatch.service import apply_answer
from app.domain.errors import InvalidRequest, InvalidTransition, NotFound
from app.events.idempotency import Finish
from app.pagination import decode_cursor, page_of
from app.runtime import Runtime
from carriers.base import BookingAck
from carriers.dcsa.states import BOOKING_STATUS


async def list_requests(
    rt: Runtime, state: RequestState | None, cursor: str | None, limit: int
) -> CarrierRequestPage:
    async with transaction(rt.engine, read_only=True) as conn:
        rows = await carrier_requests.listed(
            conn, None if state is None else state.value, decode_cursor(cursor), limit + 1
        )
    page, next_cursor = page_of(rows, limit, lambda row: (row.created_at, row.id))
    return CarrierRequestPage(items=[request_view(row) for row in page], next_cursor=next_cursor)


async def get_request(rt: Runtime, request_id: uuid.UUID) -> CarrierRequestView:
    async with transaction(rt.engine, read_only=True) as conn:
        row = await carrier_requests.get(conn, request_id)
    if row is None:
        raise NotFound("carrier request", request_id)
    return request_view(row)


async def settle(
    rt: Runtime, request_id: uuid.UUID, settlement: RequestSettlement, finish: Finish | None = None
) -> CarrierRequestView:
    """Settle an ``unknown`` request once; 409 for any other state (a request the carrier
    answered, or one settled already)."""
    received = settlement.outcome == "received"
    if received and settlement.carrier_reference is None:
        raise InvalidRequest("carrier_reference", "give the carrier's reference of the booking it received")
    if not received and settlement.carrier_reference is not None:
        raise InvalidRequest("carrier_reference", "the carrier received nothing: give no reference")
    async with transaction(rt.engine) as conn:
        now = rt.clock.app_now()
        values: dict[str, Any] = {"last_error": None, "updated_at": now}
        if received:
            ack = BookingAck(
                carrier_reference=str(settlement.carrier_reference),
                status=BOOKING_STATUS[settlement.status],
            )
            values.update(
                state=RequestState.ACKNOWLEDGED,
                carrier_reference=ack.carrier_reference,
                carrier_status=ack.status.value,
            )
        else:
            values.update(state=RequestState.PENDING, maybe_sent=False, next_attempt_at=now)
        row = await carrier_requests.settle_unknown(conn, request_id, values)
        if row is None:
            current = await carrier_requests.get(conn, request_id)
            if current is None:
                raise NotFound("carrier request", request_id)
            raise InvalidTransition("carrier request", request_id, current.state, "settle")
        if received:
            await apply_answer(rt, conn, row, ack, now)
        elif row.subject_kind == "master":
            # The container shows the request's state: no longer the unknown outcome.
            await repository.record_master_error(
                conn, row.subject_id, {"request_state": RequestState.PENDING, "last_error": None}
            )
        view = request_view(row)
        if finish is not None:
            await finish(conn, view)
    return view


def request_view(row: RequestRow) -> CarrierRequestView:
    return msgspec.convert(row, CarrierRequestView, from_attributes=True)
