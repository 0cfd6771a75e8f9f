"""consolidation: containers of closed pools (each a master booking), house bills, pool close

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "consolidation_containers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("pool_id", sa.Uuid(), nullable=False),
        sa.Column("sailing_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("size_type", sa.String(length=4), nullable=False),
        sa.Column("volume_dm3", sa.Integer(), nullable=False),
        sa.Column("weight_g", sa.Integer(), nullable=False),
        sa.Column("dangerous_goods_classes", sa.JSON(), nullable=False),
        sa.Column("set_point_c", sa.Numeric(precision=5, scale=1), nullable=True),
        sa.Column("non_operating_reefer", sa.Boolean(), nullable=False),
        sa.Column("master_reference", sa.String(length=35), nullable=False),
        sa.Column("master_status", sa.String(length=16), nullable=False),
        sa.Column("master_carrier_reference", sa.String(length=100), nullable=True),
        sa.Column("master_carrier_booking_number", sa.String(length=100), nullable=True),
        sa.Column("master_detail", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "master_status IN ('to_request', 'requested', 'confirmed', 'rejected', 'declined', 'cancelled')",
            name=op.f("ck_consolidation_containers_master_status"),
        ),
        sa.CheckConstraint("number >= 1", name=op.f("ck_consolidation_containers_number_positive")),
        sa.CheckConstraint("volume_dm3 >= 0", name=op.f("ck_consolidation_containers_volume_non_negative")),
        sa.CheckConstraint("weight_g >= 0", name=op.f("ck_consolidation_containers_weight_non_negative")),
        sa.ForeignKeyConstraint(
            ["pool_id"], ["pools.id"], name=op.f("fk_consolidation_containers_pool_id_pools")
        ),
        sa.ForeignKeyConstraint(
            ["sailing_id"], ["sailings.id"], name=op.f("fk_consolidation_containers_sailing_id_sailings")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consolidation_containers")),
        sa.UniqueConstraint("master_reference", name=op.f("uq_consolidation_containers_master_reference")),
        sa.UniqueConstraint("pool_id", "number", name=op.f("uq_consolidation_containers_pool_id_number")),
    )
    op.create_index(
        op.f("ix_consolidation_containers_pool_id"), "consolidation_containers", ["pool_id"], unique=False
    )
    op.create_index(
        op.f("ix_consolidation_containers_sailing_id"),
        "consolidation_containers",
        ["sailing_id"],
        unique=False,
    )
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("container_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("house_bill_number", sa.String(length=20), nullable=True))
        batch_op.create_index(batch_op.f("ix_bookings_container_id"), ["container_id"], unique=False)
        batch_op.create_unique_constraint(batch_op.f("uq_bookings_house_bill_number"), ["house_bill_number"])
        batch_op.create_foreign_key(
            batch_op.f("fk_bookings_container_id_consolidation_containers"),
            "consolidation_containers",
            ["container_id"],
            ["id"],
        )
    with op.batch_alter_table("pools", schema=None) as batch_op:
        batch_op.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pools", schema=None) as batch_op:
        batch_op.drop_column("closed_at")
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_bookings_container_id_consolidation_containers"), type_="foreignkey"
        )
        batch_op.drop_constraint(batch_op.f("uq_bookings_house_bill_number"), type_="unique")
        batch_op.drop_index(batch_op.f("ix_bookings_container_id"))
        batch_op.drop_column("house_bill_number")
        batch_op.drop_column("container_id")
    op.drop_index(op.f("ix_consolidation_containers_sailing_id"), table_name="consolidation_containers")
    op.drop_index(op.f("ix_consolidation_containers_pool_id"), table_name="consolidation_containers")
    op.drop_table("consolidation_containers")
