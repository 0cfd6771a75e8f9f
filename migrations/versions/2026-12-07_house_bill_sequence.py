"""house bill sequence: the numbers closes give out to house bills of lading; pool_closed as
the cause of a rolled booking

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    sequence = op.create_table(
        "house_bill_sequence",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_value", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_house_bill_sequence_single_row")),
        sa.CheckConstraint("last_value >= 0", name=op.f("ck_house_bill_sequence_last_value_non_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_house_bill_sequence")),
    )
    op.bulk_insert(sequence, [{"id": 1, "last_value": 0}])
    _rolled_causes("cause IN ('carrier_cut', 'sailing_cancelled', 'pool_closed')")


def _rolled_causes(condition: str) -> None:
    with op.batch_alter_table("rolled_bookings", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_rolled_bookings_cause"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_rolled_bookings_cause"), condition)


def downgrade() -> None:
    op.execute("DELETE FROM rolled_bookings WHERE cause = 'pool_closed'")
    _rolled_causes("cause IN ('carrier_cut', 'sailing_cancelled')")
    op.drop_table("house_bill_sequence")
