"""A marketplace checkout against Slotpool, end to end, in one file.

It starts a webhook receiver on loopback, registers it, searches sailings, holds two 40'
containers for one of its shippers at cart and confirms them at payment, then waits for the
signed events and verifies each with the ``standardwebhooks`` package.

    python examples/checkout.py --api http://127.0.0.1:8000 --key sp_...   # a marketplace key

The server must accept loopback endpoints (SLOTPOOL_WEBHOOK_ALLOW_LOOPBACK=true, development
only) and run its jobs (the default), which deliver the events.
"""

from __future__ import annotations

import argparse
import json
import queue
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
from standardwebhooks.webhooks import Webhook

EXPECTED = {"hold.created", "hold.confirmed", "booking.confirmed"}


def start_receiver() -> tuple[ThreadingHTTPServer, queue.Queue[tuple[bytes, dict[str, str]]]]:
    """An HTTP server on 127.0.0.1 that queues every request it gets (body and headers)."""
    received: queue.Queue[tuple[bytes, dict[str, str]]] = queue.Queue()

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            received.put((body, {name.lower(): value for name, value in self.headers.items()}))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, received


def checkout(api: str, key: str, timeout: float) -> int:
    server, received = start_receiver()
    hook_url = f"http://127.0.0.1:{server.server_address[1]}/slotpool"
    with httpx.Client(base_url=api, headers={"Authorization": f"Bearer {key}"}, timeout=15) as slotpool:

        def post(path: str, body: dict[str, object]) -> dict[str, object]:
            # A fresh Idempotency-Key per intended change; reuse it when retrying that change.
            answer = slotpool.post(path, json=body, headers={"Idempotency-Key": str(uuid.uuid4())})
            answer.raise_for_status()
            return dict(answer.json())

        endpoint = post("/v1/webhook-endpoints", {"url": hook_url, "event_types": sorted(EXPECTED)})
        secret = str(endpoint["secret"])  # shown once: a real checkout stores it
        shipper = post(
            "/v1/shippers", {"name": "Exporter Ltd", "external_id": f"cust-{uuid.uuid4().hex[:8]}"}
        )

        found = slotpool.get("/v1/sailings", params={"size_type": "42G1", "min_units": 2}).json()["items"]
        if not found:
            print("no sailing with two free 40' containers", file=sys.stderr)
            return 1
        sailing = found[0]
        hold = post(
            "/v1/holds",
            {"sailing_id": sailing["id"], "load": "FCL", "size_type": "42G1", "units": 2,
             "ttl_seconds": 600, "on_behalf_of": shipper["id"]},
        )  # fmt: skip
        print(f"held {hold['units']} x 42G1 on {sailing['vessel_name']} at {hold['price']}")
        booking = post(
            f"/v1/holds/{hold['id']}/confirm",
            {"cargo": {"description": "Wooden furniture", "hs_code": "940360", "packages": 40,
                       "gross_kg": "18500", "cbm": "52.4"},
             "parties": {"shipper": {"name": "Exporter Ltd"}, "consignee": {"name": "Importer Inc"}}},
        )  # fmt: skip
        print(f"booked {booking['reference']}")

        verified: set[str] = set()
        deadline = time.monotonic() + timeout
        while verified < EXPECTED and time.monotonic() < deadline:
            try:
                body, headers = received.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                break
            # Raises unless Slotpool signed exactly this body with our secret, recently.
            Webhook(secret).verify(body, headers)
            event = json.loads(body)
            verified.add(event["type"])
            print(f"verified {event['type']} (webhook-id {headers['webhook-id']})")
        server.shutdown()
    missing = EXPECTED - verified
    if missing:
        print(f"no signed event for {sorted(missing)} within {timeout} s", file=sys.stderr)
        return 1
    print("checkout complete: every event received and verified")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api", default="http://127.0.0.1:8000")
    parser.add_argument("--key", required=True, help="a marketplace's API key")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the events")
    arguments = parser.parse_args()
    return checkout(arguments.api, arguments.key, arguments.timeout)


if __name__ == "__main__":
    sys.exit(main())
