"""A small fake DCSA carrier (Litestar) that checks what it receives and what it answers.

Every request body and query is validated against the DCSA YAML specs, booking bodies and
shipping instructions also against the spec's stated conditions (dcsa_conditions), the
`API-Version` header must carry a major version only, and every answer the fake builds is
validated too, unless a fault is switched on on purpose. Violations are collected in
`FakeDcsaState.violations`; the tests assert it stays empty.

Like real carriers, it pages its routes (`limit`, `cursor`, `Next-Page-Cursor`), may leave the
vessel out, answers errors as DCSA `ErrorResponse` bodies, may ask for a bearer token, and can
fail on a given page.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
from datetime import datetime
from typing import Any, Literal
from urllib.parse import unquote_plus

import dcsa_conditions
import dcsa_spec as spec
from litestar import Litestar, Request, Response, get, patch, post, put

from carriers.base import SailingOffer

Fault = Literal["500", "429", "503", "malformed_json", "schema_invalid", "hang"]
VesselMode = Literal["full", "none", "name_only", "imo_only"]


def _iso(value: datetime) -> str:
    return value.isoformat()


def _place(unlocode: str, at: datetime) -> dict[str, Any]:
    return {"facilityTypeCode": "POTE", "location": {"UNLocationCode": unlocode}, "dateTime": _iso(at)}


def route(offer: SailingOffer, vessel: VesselMode = "full") -> dict[str, Any]:
    """A direct point-to-point route for one sailing; ``vessel`` leaves the vessel object (or
    some of its fields) out, as carriers do before a vessel is nominated."""
    cut_offs = [
        {"cutOffDateTimeCode": code, "cutOffDateTime": _iso(at)} for code, at in offer.cut_offs.items()
    ]
    transport: dict[str, Any] = {
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
    }
    if vessel == "none":
        del transport["vessel"]
    elif vessel == "name_only":
        del transport["vessel"]["vesselIMONumber"]
    elif vessel == "imo_only":
        del transport["vessel"]["name"]
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
                "transport": transport,
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
        # Carrier behaviour a test switches on.
        self.vessel: VesselMode = "full"
        self.page_size: int | None = None  # the carrier's own page size, whatever limit we ask
        self.fail_on_page: int | None = None  # this page answers `page_fault`
        self.page_fault: Fault = "500"
        self.broken_routes: set[int] = set()  # routes (1-based, per answer) that break the schema
        self.naive_routes: set[int] = set()  # routes whose times lack a UTC offset
        self.retry_after: str | None = None  # Retry-After sent with 429/503
        self.token: str | None = None  # bearer token required, if any
        self.refuse_bookings: list[dict[str, str]] | None = None  # errors of a 400 ErrorResponse
        self.pages_served = 0
        self.api_versions: list[str] = []
        # OAuth 2.0 client credentials: the one client known, the tokens it was given.
        self.oauth_client: tuple[str, str] | None = None
        self.token_lifetime = 3600
        self.tokens: list[str] = []
        self.valid_tokens: set[str] = set()

    def confirm(self, reference: str, booking_number: str = "BN0000001") -> None:
        self.bookings[reference]["bookingStatus"] = "CONFIRMED"
        self.bookings[reference]["carrierBookingReference"] = booking_number

    def check(self, what: str, problems: list[str]) -> None:
        self.violations += [f"{what}: {p}" for p in problems]


def _json(payload: Any, status: int = 200) -> Response[bytes]:
    return Response(json.dumps(payload).encode(), status_code=status, media_type="application/json")


def _error(
    request: Request[Any, Any, Any],
    status: int,
    text: str,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[bytes]:
    body = {
        "httpMethod": request.method,
        "requestUri": str(request.url.path),
        "statusCode": status,
        "statusCodeText": text,
        "statusCodeMessage": f"The carrier answered {status}",
        "errorDateTime": "2025-03-03T08:00:00Z",
        "errors": errors or [{"errorCodeText": text, "errorCodeMessage": text}],
    }
    problems = spec.errors(spec.CS, "ErrorResponse", body)
    assert not problems, problems
    response = _json(body, status)
    response.headers.update(headers or {})
    return response


def create_fake_dcsa(state: FakeDcsaState) -> Litestar:
    async def fail(request: Request[Any, Any, Any], fault: Fault | None) -> Response[bytes] | None:
        if fault == "hang":
            await asyncio.Event().wait()
        if fault in ("500", "429", "503"):
            assert fault is not None
            headers = {"Retry-After": state.retry_after} if state.retry_after else {}
            text = {"500": "Internal Server Error", "429": "Too Many Requests", "503": "Service Unavailable"}
            return _error(request, int(fault), text[fault], headers=headers)
        if fault == "malformed_json":
            return Response(b'[{"placeOfReceipt": ', media_type="application/json")
        return None

    async def faulty(request: Request[Any, Any, Any]) -> Response[bytes] | None:
        state.calls += 1
        version = request.headers.get("API-Version")
        if version is not None:
            state.api_versions.append(version)
            if not re.fullmatch(r"\d+", version):
                state.violations.append(f"API-Version {version!r} is not a major version alone")
        given = request.headers.get("Authorization", "")
        if state.token is not None and given != f"Bearer {state.token}":
            return _error(request, 401, "Unauthorized")
        if state.oauth_client is not None and given.removeprefix("Bearer ") not in state.valid_tokens:
            return _error(request, 401, "Unauthorized")
        return await fail(request, state.fault)

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
        cursor = params.pop("cursor", None)
        start = int(cursor.removeprefix("after-")) if cursor else 0
        page = start // max(1, state.page_size or int(params.get("limit", 100))) + 1
        state.pages_served += 1
        if page == state.fail_on_page and (fault := await fail(request, state.page_fault)):
            return fault
        chosen = [
            route(o, state.vessel)
            for o in sorted(state.sailings, key=lambda o: (o.etd, o.voyage_number))
            if o.port_of_loading == params.get("placeOfReceipt")
            and o.port_of_discharge == params.get("placeOfDelivery")
            and params.get("departureStartDate", "0000") <= o.etd.date().isoformat()
            and o.etd.date().isoformat() <= params.get("departureEndDate", "9999")
        ]
        for item in chosen:
            state.check("answer PointToPoint", spec.errors(spec.CS, "PointToPoint", item))
        size = state.page_size or int(params.get("limit", 100))
        shown = chosen[start : start + size]
        for number in range(1, len(shown) + 1):
            if number in state.broken_routes:
                shown[number - 1] = {**shown[number - 1], "legs": "no legs"}
            if number in state.naive_routes:
                leg = shown[number - 1]["legs"][0]
                leg["departure"] = {**leg["departure"], "dateTime": leg["departure"]["dateTime"][:19]}
        if state.fault == "schema_invalid":
            return _json([{"legs": "none", "placeOfReceipt": 42}])
        response = _json(shown)
        if start + size < len(chosen):
            response.headers["Next-Page-Cursor"] = f"after-{start + size}"
        return response

    @post("/v2/bookings")
    async def create_booking(request: Request[Any, Any, Any]) -> Response[bytes]:
        payload = await body(request, spec.BKG, "CreateBooking")
        state.check("request CreateBooking conditions", dcsa_conditions.booking_condition_errors(payload))
        if fault := await faulty(request):
            return fault
        if state.refuse_bookings is not None:
            return _error(request, 400, "Bad Request", state.refuse_bookings)
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
        state.check("request UpdateBooking conditions", dcsa_conditions.booking_condition_errors(payload))
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
        state.check(
            "request CreateShippingInstructions conditions",
            dcsa_conditions.shipping_instructions_condition_errors(payload),
        )
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

    @post("/oauth/token", status_code=200)
    async def token(request: Request[Any, Any, Any]) -> Response[bytes]:
        form = dict(await request.form())
        client: tuple[str, str] | None = None
        basic = request.headers.get("Authorization", "")
        if basic.startswith("Basic "):
            client_id, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
            client = (unquote_plus(client_id), unquote_plus(secret))
        elif "client_id" in form:
            client = (str(form["client_id"]), str(form.get("client_secret", "")))
        if form.get("grant_type") != "client_credentials" or client != state.oauth_client:
            return _json({"error": "invalid_client"}, 401)
        issued = f"tok-{len(state.tokens) + 1}"
        state.tokens.append(issued)
        state.valid_tokens.add(issued)
        return _json({"access_token": issued, "token_type": "Bearer", "expires_in": state.token_lifetime})

    return Litestar(
        [routes, create_booking, get_booking, update_booking, cancel_booking, shipping_instructions, token],
        debug=False,
    )
