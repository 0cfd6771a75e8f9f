"""house bill sequence: the numbers closes give out to house bills of lading

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-07 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0010"
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


def downgrade() -> None:
    op.drop_table("house_bill_sequence")
