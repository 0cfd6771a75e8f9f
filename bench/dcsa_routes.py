"""A DCSA carrier for benchmarks: `GET /v1/point-to-point-routes` answering ``BENCH_ROUTES``
direct routes CNSHA -> USLAX (ETDs spread over the coming weeks), in pages of the ``limit``
asked, with `Next-Page-Cursor`. Lean on purpose (no spec validation): it runs in a process of its
own so that the sync measured is the app's work alone.

Run by bench/sync.py: ``python -m uvicorn dcsa_routes:app --app-dir bench``.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from litestar import Litestar, Request, Response, get


def _place(unlocode: str, at: datetime) -> dict[str, Any]:
    return {"facilityTypeCode": "POTE", "location": {"UNLocationCode": unlocode}, "dateTime": at.isoformat()}


def routes(count: int) -> list[dict[str, Any]]:
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=5)
    spread = timedelta(days=50) / max(count, 1)
    made = []
    for n in range(count):
        etd = start + n * spread
        eta = etd + timedelta(days=15)
        made.append(
            {
                "placeOfReceipt": _place("CNSHA", etd),
                "placeOfDelivery": _place("USLAX", eta),
                "cutOffTimes": [
                    {"cutOffDateTimeCode": "DCO", "cutOffDateTime": (etd - timedelta(days=3)).isoformat()},
                    {"cutOffDateTimeCode": "FCO", "cutOffDateTime": (etd - timedelta(days=2)).isoformat()},
                ],
                "solutionNumber": 1,
                "legs": [
                    {
                        "sequenceNumber": 1,
                        "transport": {
                            "modeOfTransport": "VESSEL",
                            "vessel": {"vesselIMONumber": "9321483", "name": f"BENCH VESSEL {n % 40}"},
                            "servicePartners": [
                                {
                                    "carrierCode": "DCSB",
                                    "carrierCodeListProvider": "NMFTA",
                                    "carrierServiceCode": f"S{n % 9}",
                                    "carrierExportVoyageNumber": f"{n:05d}E",
                                }
                            ],
                        },
                        "departure": _place("CNSHA", etd),
                        "arrival": _place("USLAX", eta),
                    }
                ],
            }
        )
    return made


ROUTES = routes(int(os.environ.get("BENCH_ROUTES", "2000")))


@get("/v1/point-to-point-routes")
async def point_to_point(request: Request[Any, Any, Any]) -> Response[bytes]:
    params = request.query_params
    limit = int(params.get("limit", 100))
    start = int(params.get("cursor") or 0)
    page = ROUTES[start : start + limit]
    headers = {"Next-Page-Cursor": str(start + limit)} if start + limit < len(ROUTES) else {}
    return Response(msgspec.json.encode(page), media_type="application/json", headers=headers)


app = Litestar([point_to_point], debug=False)
