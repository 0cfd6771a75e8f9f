"""Standard Webhooks signatures, made by the ``standardwebhooks`` package.

Headers: ``webhook-id`` (the event id: the same for every attempt, so a receiver deduplicates
on it), ``webhook-timestamp`` (Unix seconds when this attempt was signed) and
``webhook-signature``: one ``v1,<base64 HMAC-SHA256>`` per secret in use, space-separated, so
that during a rotation's overlap a receiver holding either secret verifies the request.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

SECRET_PREFIX = "whsec_"  # noqa: S105 (the prefix, not a secret)
USER_AGENT = "Slotpool-Webhooks/1.0"


def new_secret() -> str:
    """A fresh 256-bit signing secret, ``whsec_`` then base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


class Signer:
    """Signs bodies with an endpoint's secrets in use, newest first."""

    def __init__(self, secrets_in_use: Sequence[str]) -> None:
        if not secrets_in_use:
            raise ValueError("an endpoint signs with at least one secret")
        self._webhooks = [Webhook(secret) for secret in secrets_in_use]

    def headers(self, message_id: str, body: bytes, at: datetime | None = None) -> dict[str, str]:
        """The request headers for ``body``, signed at ``at`` (now, wall-clock, by default:
        receivers compare it with their own clock)."""
        signed_at = at or datetime.now(UTC)
        text = body.decode()
        signature = " ".join(webhook.sign(message_id, signed_at, text) for webhook in self._webhooks)
        return {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": message_id,
            "webhook-timestamp": str(int(signed_at.timestamp())),
            "webhook-signature": signature,
        }
