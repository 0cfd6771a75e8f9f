"""A small fake DCSA carrier (Litestar) that checks what it receives and what it answers.

Every request body and query is validated against the DCSA YAML specs, and so is every answer
the fake builds, unless a fault is switched on on purpose. Violations are collected in
`FakeDcsaState.violations`; the tests assert it stays empty.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any, Literal

import dcsa_spec as spec
from litestar import Litestar, Request, Response, get, patch, post, put

from carriers.base import SailingOffer

Fault = Literal["500", "429", "malformed_json", "schema_invalid", "hang"]


def _iso(value: datetime) -> str:
    return value.isoformat()


def _place(unlocode: str, at: datetime) -> dict[str, Any]:
    return {"facilityTypeCode": "POTE", "location": {"UNLocationCode": unlocode}, "dateTime": _iso(at)}


def route(offer: SailingOffer) -> dict[str, Any]:
    """A direct point-to-point route for one sailing."""
    cut_offs = [
        {"cutOffDateTimeCode": code, "cutOffDateTime": _iso(at)} for code, at in offer.cut_offs.items()
    ]
    return {
        "placeOfReceipt": _place(offer.port_of_loading, offer.etd),
        "placeOfDelivery": _place(offer.port_of_discharge, offer.eta),
        "receiptTypeAtOrigin": "CY",
        "deliveryTypeAtDestination": "CY",
        "cutOffTimes": cut_offs,
        "solutionNumber": 1,
        "transitTime": (offer.eta - offer.etd).days,
        "legs": [
            {
                "sequenceNumber": 1,
                "transport": {
                    "modeOfTransport": "VESSEL",
                    "vessel": {"vesselIMONumber": offer.vessel_imo, "name": offer.vessel_name},
                    "servicePartners": [
                        {
                            "carrierCode": offer.carrier_scac,
                            "carrierCodeListProvider": "NMFTA",
                            "carrierServiceCode": offer.service_code,
                            "carrierExportVoyageNumber": offer.voyage_number,
                        }
                    ],
                },
                "departure": _place(offer.port_of_loading, offer.etd),
                "arrival": _place(offer.port_of_discharge, offer.eta),
            }
        ],
    }


class FakeDcsaState:
    def __init__(self, sailings: list[SailingOffer]) -> None:
        self.sailings = sailings
        self.bookings: dict[str, dict[str, Any]] = {}
        self.shipping_instructions: dict[str, dict[str, Any]] = {}
        self.violations: list[str] = []
        self.fault: Fault | None = None
        self.calls = 0

    def confirm(self, reference: str, booking_number: str = "BN0000001") -> None:
        self.bookings[reference]["bookingStatus"] = "CONFIRMED"
        self.bookings[reference]["carrierBookingReference"] = booking_number

    def check(self, what: str, problems: list[str]) -> None:
        self.violations += [f"{what}: {p}" for p in problems]


def _json(payload: Any, status: int = 200) -> Response[bytes]:
    return Response(json.dumps(payload).encode(), status_code=status, media_type="application/json")


def _error(request: Request[Any, Any, Any], status: int, text: str) -> Response[bytes]:
    return _json(
        {
            "httpMethod": request.method,
            "requestUri": str(request.url.path),
            "statusCode": status,
            "statusCodeText": text,
            "errorDateTime": "2025-03-03T08:00:00Z",
            "errors": [{"errorCodeText": text, "errorCodeMessage": text}],
        },
        status,
    )


def create_fake_dcsa(state: FakeDcsaState) -> Litestar:
    async def faulty(request: Request[Any, Any, Any]) -> Response[bytes] | None:
        state.calls += 1
        if state.fault == "hang":
            await asyncio.Event().wait()
        if state.fault in ("500", "429"):
            return _error(request, int(state.fault), "Internal Server Error")
        if state.fault == "malformed_json":
            return Response(b'[{"placeOfReceipt": ', media_type="application/json")
        return None

    def answer(schema_file: str, schema: str, payload: Any, status: int = 200) -> Response[bytes]:
        if state.fault == "schema_invalid":
            return _json([{"legs": "none", "placeOfReceipt": 42}], status)
        state.check(f"answer {schema}", spec.errors(schema_file, schema, payload))
        return _json(payload, status)

    async def body(request: Request[Any, Any, Any], schema_file: str, schema: str) -> Any:
        payload = json.loads(await request.body())
        state.check(f"request {schema}", spec.errors(schema_file, schema, payload))
        return payload

    @get("/v1/point-to-point-routes")
    async def routes(request: Request[Any, Any, Any]) -> Response[bytes]:
        params = dict(request.query_params)
        state.check("query", spec.query_errors(spec.CS, "/v1/point-to-point-routes", params))
        if fault := await faulty(request):
            return fault
        chosen = [
            route(o)
            for o in state.sailings
            if o.port_of_loading == params.get("placeOfReceipt")
            and o.port_of_discharge == params.get("placeOfDelivery")
            and params.get("departureStartDate", "0000") <= o.etd.date().isoformat()
            and o.etd.date().isoformat() <= params.get("departureEndDate", "9999")
        ]
        for item in chosen:
            state.check("answer PointToPoint", spec.errors(spec.CS, "PointToPoint", item))
        if state.fault == "schema_invalid":
            return _json([{"legs": "none", "placeOfReceipt": 42}])
        return _json(chosen)

    @post("/v2/bookings")
    async def create_booking(request: Request[Any, Any, Any]) -> Response[bytes]:
        payload = await body(request, spec.BKG, "CreateBooking")
        if fault := await faulty(request):
            return fault
        reference = f"cbrr-{len(state.bookings) + 1:04d}"
        state.bookings[reference] = {
            **payload,
            "carrierBookingRequestReference": reference,
            "bookingStatus": "RECEIVED",
        }
        return answer(spec.BKG, "CreateBookingResponse", {"carrierBookingRequestReference": reference}, 202)

    @get("/v2/bookings/{reference:str}")
    async def get_booking(request: Request[Any, Any, Any], reference: str) -> Response[bytes]:
        if fault := await faulty(request):
            return fault
        if reference not in state.bookings:
            return _error(request, 404, "Not Found")
        return answer(spec.BKG, "Booking", state.bookings[reference])

    @put("/v2/bookings/{reference:str}", status_code=202)
    async def update_booking(request: Request[Any, Any, Any], reference: str) -> Response[bytes]:
        payload = await body(request, spec.BKG, "UpdateBooking")
        if fault := await faulty(request):
            return fault
        booking = state.bookings.get(reference)
        if booking is None:
            return _error(request, 404, "Not Found")
        confirmed = booking["bookingStatus"] == "CONFIRMED"
        booking.update(payload)
        if confirmed:
            booking["amendedBookingStatus"] = "AMENDMENT_RECEIVED"
        else:
            booking["bookingStatus"] = "UPDATE_RECEIVED"
        return Response(b"", status_code=202)

    @patch("/v2/bookings/{reference:str}", status_code=202)
    async def cancel_booking(request: Request[Any, Any, Any], reference: str) -> Response[bytes]:
        payload = await body(request, spec.BKG, "CancelBookingRequest")
        if fault := await faulty(request):
            return fault
        booking = state.bookings.get(reference)
        if booking is None:
            return _error(request, 404, "Not Found")
        booking.update({k: v for k, v in payload.items() if k != "reason"})
        return Response(b"", status_code=202)

    @post("/v3/shipping-instructions")
    async def shipping_instructions(request: Request[Any, Any, Any]) -> Response[bytes]:
        payload = await body(request, spec.EBL, "CreateShippingInstructions")
        if fault := await faulty(request):
            return fault
        reference = f"SI{len(state.shipping_instructions) + 1:06d}"
        state.shipping_instructions[reference] = payload
        return answer(
            spec.EBL,
            "CreateShippingInstructionsResponse",
            {"shippingInstructionsReference": reference},
            202,
        )

    return Litestar(
        [routes, create_booking, get_booking, update_booking, cancel_booking, shipping_instructions],
        debug=False,
    )
