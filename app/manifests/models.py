"""A sailing's consolidated manifest for its carrier, and its immutable versions.

A version is written once with its content (the neutral manifest), the three documents rendered
from it and the sha256 of the content; only its delivery columns change afterwards. The manifest
row is what a worker claims (``lease_token``/``lease_until``) while it sends the latest version,
so one version per manifest is in flight at a time, and in order.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from app.dbtypes import UtcDateTime

DELIVERY_STATES = ("pending", "submitted", "failed", "superseded")
DECISIONS = ("accepted", "rejected")


class Manifest(Base):
    __tablename__ = "manifests"
    __table_args__ = (UniqueConstraint("sailing_id", "carrier_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    sailing_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sailings.id"))
    carrier_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("carriers.id"), index=True)
    latest_version: Mapped[int] = mapped_column(default=0)
    lease_token: Mapped[uuid.UUID | None]
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class ManifestVersion(Base):
    __tablename__ = "manifest_versions"
    __table_args__ = (
        UniqueConstraint("manifest_id", "number"),
        CheckConstraint("number >= 1", name="number_positive"),
        CheckConstraint("attempts >= 0", name="attempts_non_negative"),
        CheckConstraint(
            "delivery_state IN ('pending', 'submitted', 'failed', 'superseded')", name="delivery_state"
        ),
        CheckConstraint("decision IS NULL OR decision IN ('accepted', 'rejected')", name="decision"),
        Index("ix_manifest_versions_due", "delivery_state", "next_attempt_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    manifest_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("manifests.id"))
    number: Mapped[int]
    # sha256 (hex) of ``content``, the canonical JSON of the neutral manifest.
    checksum: Mapped[str] = mapped_column(String(64))
    content: Mapped[str] = mapped_column(Text)
    document_dcsa: Mapped[str | None] = mapped_column(Text)
    document_edifact: Mapped[bytes | None] = mapped_column(LargeBinary)
    document_csv: Mapped[str | None] = mapped_column(Text)
    # Why a format could not be rendered (its rules broken), by format.
    render_errors: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    containers: Mapped[int]
    house_bills: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    delivery_state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_error: Mapped[str | None] = mapped_column(String(1000))
    submitted_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    receipt_reference: Mapped[str | None] = mapped_column(String(200))
    decision: Mapped[str | None] = mapped_column(String(16))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    decision_reason: Mapped[str | None] = mapped_column(String(1000))
