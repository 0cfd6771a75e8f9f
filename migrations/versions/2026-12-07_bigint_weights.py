"""bigint weights: pool counters, holds, bookings and consolidated containers count grams in
64 bits on PostgreSQL (a 32-bit column stopped a pool at 2,147 t, some 82 forty-foot boxes)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite's INTEGER already holds 64 bits; the models declare these columns INTEGER there.
WEIGHT_COLUMNS = {
    "pools": ("container_weight_g", "weight_total_g", "weight_held_g", "weight_booked_g"),
    "holds": ("weight_g",),
    "bookings": ("weight_g",),
    "consolidation_containers": ("weight_g",),
}


def upgrade() -> None:
    _retype(sa.Integer(), sa.BigInteger())


def downgrade() -> None:
    # Fails (numeric value out of range) if a stored weight no longer fits 32 bits.
    _retype(sa.BigInteger(), sa.Integer())


def _retype(old: sa.types.TypeEngine[int], new: sa.types.TypeEngine[int]) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, columns in WEIGHT_COLUMNS.items():
        for column in columns:
            op.alter_column(table, column, existing_type=old, type_=new, existing_nullable=False)
