"""carrier integrations: the carriers' side of releases, counters and documents kept for
adapters, absences of sailings, ordered carrier booking reports, signed notifications

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 09:47:28.179524
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


OLD_KINDS = (
    "sailing.discovered",
    "sailing.schedule_changed",
    "sailing.cancelled_by_carrier",
    "sailing.reinstated_by_carrier",
    "allotment.raised",
    "allotment.cut",
)
NEW_KINDS = (*OLD_KINDS[:2], "sailing.absent", *OLD_KINDS[2:])


def _kinds(kinds: tuple[str, ...]) -> str:
    return f"kind IN ({', '.join(repr(k) for k in kinds)})"


def upgrade() -> None:
    op.create_table(
        "carrier_counters",
        sa.Column("carrier_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("value >= 0", name=op.f("ck_carrier_counters_value_non_negative")),
        sa.ForeignKeyConstraint(
            ["carrier_id"], ["carriers.id"], name=op.f("fk_carrier_counters_carrier_id_carriers")
        ),
        sa.PrimaryKeyConstraint("carrier_id", "name", name=op.f("pk_carrier_counters")),
    )
    op.create_table(
        "carrier_documents",
        sa.Column("carrier_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["carrier_id"], ["carriers.id"], name=op.f("fk_carrier_documents_carrier_id_carriers")
        ),
        sa.PrimaryKeyConstraint("carrier_id", "key", name=op.f("pk_carrier_documents")),
    )
    op.create_table(
        "carrier_releases",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("carrier_id", sa.Uuid(), nullable=False),
        sa.Column("release_id", sa.String(length=100), nullable=False),
        sa.Column("voyage_number", sa.String(length=50), nullable=False),
        sa.Column("port_of_loading", sa.String(length=5), nullable=False),
        sa.Column("port_of_discharge", sa.String(length=5), nullable=False),
        sa.Column("size_type", sa.String(length=4), nullable=False),
        sa.Column("units_released", sa.Integer(), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "units_released >= 0", name=op.f("ck_carrier_releases_units_released_non_negative")
        ),
        sa.ForeignKeyConstraint(
            ["carrier_id"], ["carriers.id"], name=op.f("fk_carrier_releases_carrier_id_carriers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carrier_releases")),
        sa.UniqueConstraint(
            "carrier_id", "release_id", name=op.f("uq_carrier_releases_carrier_id_release_id")
        ),
    )
    with op.batch_alter_table("carrier_accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("signature_secret_sealed", sa.String(length=1000), nullable=True))
        batch_op.add_column(sa.Column("signature_header", sa.String(length=100), nullable=True))

    with op.batch_alter_table("carrier_bookings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("sailing_carrier_states", schema=None) as batch_op:
        batch_op.add_column(sa.Column("absent_syncs", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("absent_since", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_check_constraint("absent_syncs_non_negative", "absent_syncs >= 0")

    with op.batch_alter_table("carrier_sync_changes", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_carrier_sync_changes_kind"), type_="check")
        batch_op.create_check_constraint("kind", _kinds(NEW_KINDS))


def downgrade() -> None:
    op.execute("DELETE FROM carrier_sync_changes WHERE kind = 'sailing.absent'")
    with op.batch_alter_table("carrier_sync_changes", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_carrier_sync_changes_kind"), type_="check")
        batch_op.create_check_constraint("kind", _kinds(OLD_KINDS))

    with op.batch_alter_table("sailing_carrier_states", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_sailing_carrier_states_absent_syncs_non_negative"), type_="check")
        batch_op.drop_column("absent_since")
        batch_op.drop_column("absent_syncs")

    with op.batch_alter_table("carrier_bookings", schema=None) as batch_op:
        batch_op.drop_column("reported_at")

    with op.batch_alter_table("carrier_accounts", schema=None) as batch_op:
        batch_op.drop_column("signature_header")
        batch_op.drop_column("signature_secret_sealed")

    op.drop_table("carrier_releases")
    op.drop_table("carrier_documents")
    op.drop_table("carrier_counters")
