"""carrier requests: the outbox of booking requests to carriers; bookings may be declined

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_STATES = "state IN ('confirmed', 'amended', 'cancelled', 'rolled', 'closed', 'completed')"
NEW_STATES = "state IN ('confirmed', 'amended', 'cancelled', 'rolled', 'declined', 'closed', 'completed')"


def upgrade() -> None:
    op.create_table(
        "carrier_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subject_kind", sa.String(length=8), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("subject_reference", sa.String(length=35), nullable=False),
        sa.Column("carrier_id", sa.Uuid(), nullable=False),
        sa.Column("operation", sa.String(length=8), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("maybe_sent", sa.Boolean(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_token", sa.Uuid(), nullable=True),
        sa.Column("leased_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("carrier_reference", sa.String(length=100), nullable=True),
        sa.Column("carrier_status", sa.String(length=24), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_carrier_requests_attempts_non_negative")),
        sa.CheckConstraint(
            "operation IN ('request', 'amend', 'cancel')", name=op.f("ck_carrier_requests_operation")
        ),
        sa.CheckConstraint("sequence >= 1", name=op.f("ck_carrier_requests_sequence_positive")),
        sa.CheckConstraint(
            "state IN ('pending', 'sending', 'acknowledged', 'unknown', 'failed')",
            name=op.f("ck_carrier_requests_state"),
        ),
        sa.CheckConstraint(
            "subject_kind IN ('booking', 'master')", name=op.f("ck_carrier_requests_subject_kind")
        ),
        sa.ForeignKeyConstraint(
            ["carrier_id"], ["carriers.id"], name=op.f("fk_carrier_requests_carrier_id_carriers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carrier_requests")),
        sa.UniqueConstraint("subject_id", "sequence", name=op.f("uq_carrier_requests_subject_id_sequence")),
    )
    op.create_index("ix_carrier_requests_due", "carrier_requests", ["state", "next_attempt_at"], unique=False)
    op.create_index(
        op.f("ix_carrier_requests_subject_reference"), "carrier_requests", ["subject_reference"], unique=False
    )
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_bookings_state"), type_="check")
        batch_op.create_check_constraint("state", NEW_STATES)


def downgrade() -> None:
    # The state did not exist before: a declined booking was cancelled by the carrier.
    op.execute("UPDATE bookings SET state = 'cancelled' WHERE state = 'declined'")
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_bookings_state"), type_="check")
        batch_op.create_check_constraint("state", OLD_STATES)
    op.drop_index(op.f("ix_carrier_requests_subject_reference"), table_name="carrier_requests")
    op.drop_index("ix_carrier_requests_due", table_name="carrier_requests")
    op.drop_table("carrier_requests")
