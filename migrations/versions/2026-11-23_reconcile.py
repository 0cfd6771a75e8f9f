"""reconcile: allotment releases sent to carriers, rolled bookings with their offered hold

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 14:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "allotment_releases",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("release_id", sa.String(length=100), nullable=False),
        sa.Column("allotment_id", sa.Uuid(), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("units_released", sa.Integer(), nullable=True),
        sa.Column("units_withdrawn", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("state IN ('pending', 'released')", name=op.f("ck_allotment_releases_state")),
        sa.CheckConstraint("units > 0", name=op.f("ck_allotment_releases_units_positive")),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_allotment_releases_attempts_non_negative")),
        sa.ForeignKeyConstraint(
            ["allotment_id"], ["allotments.id"], name=op.f("fk_allotment_releases_allotment_id_allotments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_allotment_releases")),
        sa.UniqueConstraint("release_id", name=op.f("uq_allotment_releases_release_id")),
    )
    with op.batch_alter_table("allotment_releases", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_allotment_releases_allotment_id"), ["allotment_id"], unique=False
        )

    op.create_table(
        "rolled_bookings",
        sa.Column("booking_id", sa.Uuid(), nullable=False),
        sa.Column("cause", sa.String(length=32), nullable=False),
        sa.Column("offered_hold_id", sa.Uuid(), nullable=True),
        sa.Column("rolled_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "cause IN ('carrier_cut', 'sailing_cancelled')", name=op.f("ck_rolled_bookings_cause")
        ),
        sa.ForeignKeyConstraint(
            ["booking_id"], ["bookings.id"], name=op.f("fk_rolled_bookings_booking_id_bookings")
        ),
        sa.ForeignKeyConstraint(
            ["offered_hold_id"], ["holds.id"], name=op.f("fk_rolled_bookings_offered_hold_id_holds")
        ),
        sa.PrimaryKeyConstraint("booking_id", name=op.f("pk_rolled_bookings")),
    )


def downgrade() -> None:
    op.drop_table("rolled_bookings")
    with op.batch_alter_table("allotment_releases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_allotment_releases_allotment_id"))
    op.drop_table("allotment_releases")
