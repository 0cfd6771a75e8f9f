"""webhooks: the events feed's positions, webhook endpoints, deliveries and attempts

The outbox gets nullable (or defaulted) columns only, so that every existing writer's insert
stays valid: ``position`` and ``marketplace_id`` set by the sequencer, ``version`` defaulted to 1.
``delivered_at`` goes: delivery is recorded per endpoint now (``webhook_deliveries``).

Revision ID: 0006
Revises: 0004
Create Date: 2026-11-24 09:49:26.405032
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEQUENCE_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
SEQUENCED = {
    "postgresql_where": sa.text("position IS NOT NULL"),
    "sqlite_where": sa.text("position IS NOT NULL"),
}
PLACED = {
    "postgresql_where": sa.text("position IS NOT NULL AND marketplace_id IS NOT NULL"),
    "sqlite_where": sa.text("position IS NOT NULL AND marketplace_id IS NOT NULL"),
}
UNSEQUENCED = {"postgresql_where": sa.text("position IS NULL"), "sqlite_where": sa.text("position IS NULL")}
PENDING = {"postgresql_where": sa.text("state = 'pending'"), "sqlite_where": sa.text("state = 'pending'")}
UNDELIVERED = {
    "postgresql_where": sa.text("delivered_at IS NULL"),
    "sqlite_where": sa.text("delivered_at IS NULL"),
}


def upgrade() -> None:
    feed_cursors = op.create_table(
        "feed_cursors",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_feed_cursors")),
    )
    op.bulk_insert(feed_cursors, [{"name": "sequencer", "position": 0}, {"name": "webhooks", "position": 0}])
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("version", sa.SmallInteger(), server_default=sa.text("1"), nullable=False)
        )
        batch_op.add_column(sa.Column("position", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("marketplace_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_outbox_events_marketplace_id_organisations"),
            "organisations",
            ["marketplace_id"],
            ["id"],
        )
        batch_op.drop_index("ix_outbox_events_undelivered", **UNDELIVERED)
        batch_op.drop_column("delivered_at")
        batch_op.create_index("ix_outbox_events_unsequenced", ["id"], unique=False, **UNSEQUENCED)
        batch_op.create_index("ix_outbox_events_position", ["position"], unique=True, **SEQUENCED)
        batch_op.create_index(
            "ix_outbox_events_organisation_position",
            ["organisation_id", "position"],
            unique=False,
            **SEQUENCED,
        )
        batch_op.create_index(
            "ix_outbox_events_marketplace_position", ["marketplace_id", "position"], unique=False, **PLACED
        )

    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("event_types", sa.JSON(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("disabled_reason", sa.String(length=200), nullable=True),
        sa.Column("secret_sealed", sa.String(length=500), nullable=False),
        sa.Column("previous_secret_sealed", sa.String(length=500), nullable=True),
        sa.Column("previous_secret_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failing_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_token", sa.Uuid(), nullable=True),
        sa.Column("leased_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("version >= 1", name=op.f("ck_webhook_endpoints_version_positive")),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_webhook_endpoints_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoints")),
    )
    op.create_index(
        "ix_webhook_endpoints_organisation_created", "webhook_endpoints", ["organisation_id", "created_at"]
    )

    op.create_table(
        "webhook_deliveries",
        sa.Column("id", SEQUENCE_ID, autoincrement=True, nullable=False),
        sa.Column("endpoint_id", sa.Uuid(), nullable=False),
        sa.Column("event_row", SEQUENCE_ID, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_token", sa.Uuid(), nullable=True),
        sa.Column("owed_since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state IN ('pending', 'delivered', 'given_up')", name=op.f("ck_webhook_deliveries_state")
        ),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_webhook_deliveries_attempts_non_negative")),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["webhook_endpoints.id"],
            name=op.f("fk_webhook_deliveries_endpoint_id_webhook_endpoints"),
        ),
        sa.ForeignKeyConstraint(
            ["event_row"], ["outbox_events.id"], name=op.f("fk_webhook_deliveries_event_row_outbox_events")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint(
            "event_row", "endpoint_id", name=op.f("uq_webhook_deliveries_event_row_endpoint_id")
        ),
    )
    op.create_index(
        "ix_webhook_deliveries_endpoint_due",
        "webhook_deliveries",
        ["endpoint_id", "next_attempt_at"],
        **PENDING,
    )

    op.create_table(
        "webhook_attempts",
        sa.Column("id", SEQUENCE_ID, autoincrement=True, nullable=False),
        sa.Column("delivery_id", SEQUENCE_ID, nullable=False),
        sa.Column("endpoint_id", sa.Uuid(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["webhook_deliveries.id"],
            name=op.f("fk_webhook_attempts_delivery_id_webhook_deliveries"),
        ),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["webhook_endpoints.id"],
            name=op.f("fk_webhook_attempts_endpoint_id_webhook_endpoints"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_attempts")),
    )
    op.create_index("ix_webhook_attempts_delivery_id", "webhook_attempts", ["delivery_id"])
    op.create_index("ix_webhook_attempts_endpoint_id", "webhook_attempts", ["endpoint_id", "id"])


def downgrade() -> None:
    op.drop_table("webhook_attempts")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_endpoints")
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_events_marketplace_position", **PLACED)
        batch_op.drop_index("ix_outbox_events_organisation_position", **SEQUENCED)
        batch_op.drop_index("ix_outbox_events_position", **SEQUENCED)
        batch_op.drop_index("ix_outbox_events_unsequenced", **UNSEQUENCED)
        batch_op.add_column(sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_outbox_events_undelivered", ["id"], unique=False, **UNDELIVERED)
        batch_op.drop_constraint(
            batch_op.f("fk_outbox_events_marketplace_id_organisations"), type_="foreignkey"
        )
        batch_op.drop_column("marketplace_id")
        batch_op.drop_column("position")
        batch_op.drop_column("version")
    op.drop_table("feed_cursors")
