"""manifests: a sailing's consolidated manifest per carrier, its immutable versions and their
delivery; a consolidated container's number and seal

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "manifests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("sailing_id", sa.Uuid(), nullable=False),
        sa.Column("carrier_id", sa.Uuid(), nullable=False),
        sa.Column("latest_version", sa.Integer(), nullable=False),
        sa.Column("lease_token", sa.Uuid(), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["carrier_id"], ["carriers.id"], name=op.f("fk_manifests_carrier_id_carriers")
        ),
        sa.ForeignKeyConstraint(
            ["sailing_id"], ["sailings.id"], name=op.f("fk_manifests_sailing_id_sailings")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_manifests")),
        sa.UniqueConstraint("sailing_id", "carrier_id", name=op.f("uq_manifests_sailing_id_carrier_id")),
    )
    op.create_index(op.f("ix_manifests_carrier_id"), "manifests", ["carrier_id"], unique=False)
    op.create_table(
        "manifest_versions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("manifest_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("checksum", sa.String(length=64), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("document_dcsa", sa.Text(), nullable=True),
        sa.Column("document_edifact", sa.LargeBinary(), nullable=True),
        sa.Column("document_csv", sa.Text(), nullable=True),
        sa.Column("render_errors", sa.JSON(), nullable=False),
        sa.Column("containers", sa.Integer(), nullable=False),
        sa.Column("house_bills", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivery_state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(length=1000), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("receipt_reference", sa.String(length=200), nullable=True),
        sa.Column("decision", sa.String(length=16), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_reason", sa.String(length=1000), nullable=True),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_manifest_versions_attempts_non_negative")),
        sa.CheckConstraint(
            "decision IS NULL OR decision IN ('accepted', 'rejected')",
            name=op.f("ck_manifest_versions_decision"),
        ),
        sa.CheckConstraint(
            "delivery_state IN ('pending', 'submitted', 'failed', 'superseded')",
            name=op.f("ck_manifest_versions_delivery_state"),
        ),
        sa.CheckConstraint("number >= 1", name=op.f("ck_manifest_versions_number_positive")),
        sa.ForeignKeyConstraint(
            ["manifest_id"], ["manifests.id"], name=op.f("fk_manifest_versions_manifest_id_manifests")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_manifest_versions")),
        sa.UniqueConstraint("manifest_id", "number", name=op.f("uq_manifest_versions_manifest_id_number")),
    )
    op.create_index(
        "ix_manifest_versions_due", "manifest_versions", ["delivery_state", "next_attempt_at"], unique=False
    )
    with op.batch_alter_table("consolidation_containers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("equipment_reference", sa.String(length=11), nullable=True))
        batch_op.add_column(sa.Column("seal_number", sa.String(length=15), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("consolidation_containers", schema=None) as batch_op:
        batch_op.drop_column("seal_number")
        batch_op.drop_column("equipment_reference")
    op.drop_index("ix_manifest_versions_due", table_name="manifest_versions")
    op.drop_table("manifest_versions")
    op.drop_index(op.f("ix_manifests_carrier_id"), table_name="manifests")
    op.drop_table("manifests")
