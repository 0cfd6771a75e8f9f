"""carrier sync: health, sync changes, carrier offers and states, carrier bookings and notifications

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 09:45:59.961926
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "carrier_accounts",
        sa.Column("carrier_id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["carrier_id"], ["carriers.id"], name=op.f("fk_carrier_accounts_carrier_id_carriers")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_carrier_accounts_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("carrier_id", name=op.f("pk_carrier_accounts")),
        sa.UniqueConstraint("organisation_id", name=op.f("uq_carrier_accounts_organisation_id")),
    )
    op.create_table(
        "carrier_bookings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("carrier_id", sa.Uuid(), nullable=False),
        sa.Column("carrier_reference", sa.String(length=100), nullable=False),
        sa.Column("booking_reference", sa.String(length=16), nullable=True),
        sa.Column("carrier_booking_number", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('requested', 'pending_amendment', 'accepted', 'rejected', 'declined', 'cancelled', 'completed')",
            name=op.f("ck_carrier_bookings_status"),
        ),
        sa.ForeignKeyConstraint(
            ["carrier_id"], ["carriers.id"], name=op.f("fk_carrier_bookings_carrier_id_carriers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carrier_bookings")),
        sa.UniqueConstraint(
            "carrier_id", "carrier_reference", name=op.f("uq_carrier_bookings_carrier_id_carrier_reference")
        ),
    )
    with op.batch_alter_table("carrier_bookings", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_carrier_bookings_booking_reference"), ["booking_reference"], unique=False
        )

    op.create_table(
        "carrier_notifications",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("carrier_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("carrier_reference", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["carrier_id"], ["carriers.id"], name=op.f("fk_carrier_notifications_carrier_id_carriers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carrier_notifications")),
        sa.UniqueConstraint(
            "carrier_id", "event_id", name=op.f("uq_carrier_notifications_carrier_id_event_id")
        ),
    )
    op.create_table(
        "carrier_sync_states",
        sa.Column("carrier_id", sa.Uuid(), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "consecutive_failures >= 0", name=op.f("ck_carrier_sync_states_consecutive_failures_non_negative")
        ),
        sa.ForeignKeyConstraint(
            ["carrier_id"], ["carriers.id"], name=op.f("fk_carrier_sync_states_carrier_id_carriers")
        ),
        sa.PrimaryKeyConstraint("carrier_id", name=op.f("pk_carrier_sync_states")),
    )
    op.create_table(
        "carrier_sync_changes",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("carrier_id", sa.Uuid(), nullable=False),
        sa.Column("sailing_id", sa.Uuid(), nullable=False),
        sa.Column("size_type", sa.String(length=4), nullable=True),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kind IN ('sailing.discovered', 'sailing.schedule_changed', 'sailing.cancelled_by_carrier', 'sailing.reinstated_by_carrier', 'allotment.raised', 'allotment.cut')",
            name=op.f("ck_carrier_sync_changes_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["carrier_id"], ["carriers.id"], name=op.f("fk_carrier_sync_changes_carrier_id_carriers")
        ),
        sa.ForeignKeyConstraint(
            ["sailing_id"], ["sailings.id"], name=op.f("fk_carrier_sync_changes_sailing_id_sailings")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carrier_sync_changes")),
    )
    with op.batch_alter_table("carrier_sync_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_carrier_sync_changes_carrier_id"), ["carrier_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_carrier_sync_changes_sailing_id"), ["sailing_id"], unique=False)
        batch_op.create_index("ix_carrier_sync_changes_unhandled", ["handled_at", "id"], unique=False)

    op.create_table(
        "sailing_carrier_states",
        sa.Column("sailing_id", sa.Uuid(), nullable=False),
        sa.Column("carrier_status", sa.String(length=16), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "carrier_status IN ('scheduled', 'cancelled')",
            name=op.f("ck_sailing_carrier_states_carrier_status"),
        ),
        sa.ForeignKeyConstraint(
            ["sailing_id"], ["sailings.id"], name=op.f("fk_sailing_carrier_states_sailing_id_sailings")
        ),
        sa.PrimaryKeyConstraint("sailing_id", name=op.f("pk_sailing_carrier_states")),
    )
    op.create_table(
        "allotment_offers",
        sa.Column("allotment_id", sa.Uuid(), nullable=False),
        sa.Column("units_offered", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("units_offered >= 0", name=op.f("ck_allotment_offers_units_offered_non_negative")),
        sa.ForeignKeyConstraint(
            ["allotment_id"], ["allotments.id"], name=op.f("fk_allotment_offers_allotment_id_allotments")
        ),
        sa.PrimaryKeyConstraint("allotment_id", name=op.f("pk_allotment_offers")),
    )


def downgrade() -> None:
    op.drop_table("allotment_offers")
    op.drop_table("sailing_carrier_states")
    with op.batch_alter_table("carrier_sync_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_carrier_sync_changes_unhandled")
        batch_op.drop_index(batch_op.f("ix_carrier_sync_changes_sailing_id"))
        batch_op.drop_index(batch_op.f("ix_carrier_sync_changes_carrier_id"))

    op.drop_table("carrier_sync_changes")
    op.drop_table("carrier_sync_states")
    op.drop_table("carrier_notifications")
    with op.batch_alter_table("carrier_bookings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_carrier_bookings_booking_reference"))

    op.drop_table("carrier_bookings")
    op.drop_table("carrier_accounts")
