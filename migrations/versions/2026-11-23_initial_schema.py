"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23 09:25:36.632851
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Indexes over active holds only (see app.reservations.models).
ACTIVE_ONLY = {"postgresql_where": sa.text("state = 'active'"), "sqlite_where": sa.text("state = 'active'")}


def upgrade() -> None:
    op.create_table(
        "carriers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("scac", sa.String(length=4), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("adapter_kind", sa.String(length=32), nullable=False),
        sa.Column("adapter_settings", sa.JSON(), nullable=False),
        sa.Column("release_deadline_days", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carriers")),
        sa.UniqueConstraint("scac", name=op.f("uq_carriers_scac")),
    )
    op.create_table(
        "organisations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("marketplace_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('shipper', 'marketplace', 'carrier', 'operator')",
            name=op.f("ck_organisations_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["marketplace_id"],
            ["organisations.id"],
            name=op.f("fk_organisations_marketplace_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisations")),
    )
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_organisations_marketplace_id"), ["marketplace_id"], unique=False)

    op.create_table(
        "api_keys",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_api_keys_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_keys_organisation_id"), ["organisation_id"], unique=False)

    op.create_table(
        "outbox_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_outbox_events_organisation_id_organisations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_outbox_events_event_id")),
    )
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_events_subject_id"), ["subject_id"], unique=False)
        batch_op.create_index(
            "ix_outbox_events_undelivered",
            ["id"],
            unique=False,
            postgresql_where=sa.text("delivered_at IS NULL"),
            sqlite_where=sa.text("delivered_at IS NULL"),
        )

    op.create_table(
        "sailings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("carrier_id", sa.Uuid(), nullable=False),
        sa.Column("service_code", sa.String(length=16), nullable=False),
        sa.Column("vessel_name", sa.String(length=100), nullable=False),
        sa.Column("vessel_imo", sa.String(length=7), nullable=True),
        sa.Column("voyage_number", sa.String(length=32), nullable=False),
        sa.Column("port_of_loading", sa.String(length=5), nullable=False),
        sa.Column("port_of_discharge", sa.String(length=5), nullable=False),
        sa.Column("etd", sa.DateTime(timezone=True), nullable=False),
        sa.Column("eta", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cut_off", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cut_offs", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('open', 'closed', 'departed', 'cancelled')", name=op.f("ck_sailings_status")
        ),
        sa.CheckConstraint("cut_off <= etd", name=op.f("ck_sailings_cut_off_before_etd")),
        sa.CheckConstraint("eta > etd", name=op.f("ck_sailings_eta_after_etd")),
        sa.ForeignKeyConstraint(
            ["carrier_id"], ["carriers.id"], name=op.f("fk_sailings_carrier_id_carriers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sailings")),
        sa.UniqueConstraint(
            "carrier_id",
            "voyage_number",
            "port_of_loading",
            "port_of_discharge",
            name=op.f("uq_sailings_carrier_id_voyage_number_port_of_loading_port_of_discharge"),
        ),
    )
    with op.batch_alter_table("sailings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sailings_carrier_id"), ["carrier_id"], unique=False)
        batch_op.create_index("ix_sailings_etd_id", ["etd", "id"], unique=False)
        batch_op.create_index(
            "ix_sailings_lane_etd", ["port_of_loading", "port_of_discharge", "etd"], unique=False
        )

    op.create_table(
        "allotments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("sailing_id", sa.Uuid(), nullable=False),
        sa.Column("size_type", sa.String(length=4), nullable=False),
        sa.Column("units_total", sa.Integer(), nullable=False),
        sa.Column("units_held", sa.Integer(), nullable=False),
        sa.Column("units_booked", sa.Integer(), nullable=False),
        sa.Column("units_pooled", sa.Integer(), nullable=False),
        sa.Column("rate", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.CheckConstraint("units_booked >= 0", name=op.f("ck_allotments_units_booked_non_negative")),
        sa.CheckConstraint(
            "units_held + units_booked + units_pooled <= units_total",
            name=op.f("ck_allotments_units_within_total"),
        ),
        sa.CheckConstraint("units_held >= 0", name=op.f("ck_allotments_units_held_non_negative")),
        sa.CheckConstraint("units_pooled >= 0", name=op.f("ck_allotments_units_pooled_non_negative")),
        sa.ForeignKeyConstraint(
            ["sailing_id"], ["sailings.id"], name=op.f("fk_allotments_sailing_id_sailings")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_allotments")),
        sa.UniqueConstraint("sailing_id", "size_type", name=op.f("uq_allotments_sailing_id_size_type")),
    )
    op.create_table(
        "idempotency_records",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("api_key_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.LargeBinary(), nullable=True),
        sa.Column("response_headers", sa.JSON(), nullable=True),
        sa.Column("lease_token", sa.Uuid(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("state IN ('in_flight', 'done')", name=op.f("ck_idempotency_records_state")),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["api_keys.id"], name=op.f("fk_idempotency_records_api_key_id_api_keys")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_records")),
        sa.UniqueConstraint("api_key_id", "key", name=op.f("uq_idempotency_records_api_key_id_key")),
    )
    with op.batch_alter_table("idempotency_records", schema=None) as batch_op:
        batch_op.create_index("ix_idempotency_records_created_at", ["created_at"], unique=False)

    op.create_table(
        "pools",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("sailing_id", sa.Uuid(), nullable=False),
        sa.Column("allotment_id", sa.Uuid(), nullable=False),
        sa.Column("size_type", sa.String(length=4), nullable=False),
        sa.Column("container_volume_dm3", sa.Integer(), nullable=False),
        sa.Column("container_weight_g", sa.Integer(), nullable=False),
        sa.Column("containers", sa.Integer(), nullable=False),
        sa.Column("volume_total_dm3", sa.Integer(), nullable=False),
        sa.Column("volume_held_dm3", sa.Integer(), nullable=False),
        sa.Column("volume_booked_dm3", sa.Integer(), nullable=False),
        sa.Column("weight_total_g", sa.Integer(), nullable=False),
        sa.Column("weight_held_g", sa.Integer(), nullable=False),
        sa.Column("weight_booked_g", sa.Integer(), nullable=False),
        sa.Column("rate", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("minimum", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.CheckConstraint("volume_booked_dm3 >= 0", name=op.f("ck_pools_volume_booked_non_negative")),
        sa.CheckConstraint(
            "volume_held_dm3 + volume_booked_dm3 <= volume_total_dm3",
            name=op.f("ck_pools_volume_within_total"),
        ),
        sa.CheckConstraint("volume_held_dm3 >= 0", name=op.f("ck_pools_volume_held_non_negative")),
        sa.CheckConstraint("weight_booked_g >= 0", name=op.f("ck_pools_weight_booked_non_negative")),
        sa.CheckConstraint(
            "weight_held_g + weight_booked_g <= weight_total_g",
            name=op.f("ck_pools_weight_within_total"),
        ),
        sa.CheckConstraint("weight_held_g >= 0", name=op.f("ck_pools_weight_held_non_negative")),
        sa.ForeignKeyConstraint(
            ["allotment_id"], ["allotments.id"], name=op.f("fk_pools_allotment_id_allotments")
        ),
        sa.ForeignKeyConstraint(["sailing_id"], ["sailings.id"], name=op.f("fk_pools_sailing_id_sailings")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pools")),
        sa.UniqueConstraint("sailing_id", "size_type", name=op.f("uq_pools_sailing_id_size_type")),
    )
    with op.batch_alter_table("pools", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pools_allotment_id"), ["allotment_id"], unique=False)

    op.create_table(
        "holds",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("placed_by_id", sa.Uuid(), nullable=True),
        sa.Column("sailing_id", sa.Uuid(), nullable=False),
        sa.Column("allotment_id", sa.Uuid(), nullable=True),
        sa.Column("pool_id", sa.Uuid(), nullable=True),
        sa.Column("load", sa.String(length=3), nullable=False),
        sa.Column("size_type", sa.String(length=4), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("volume_dm3", sa.Integer(), nullable=False),
        sa.Column("weight_g", sa.Integer(), nullable=False),
        sa.Column("rate", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("minimum", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("price", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(load = 'FCL' AND allotment_id IS NOT NULL AND units > 0) OR (load = 'LCL' AND pool_id IS NOT NULL AND volume_dm3 > 0 AND weight_g > 0)",
            name=op.f("ck_holds_quantity_matches_load"),
        ),
        sa.CheckConstraint("load IN ('FCL', 'LCL')", name=op.f("ck_holds_load")),
        sa.CheckConstraint(
            "state IN ('active', 'confirmed', 'released', 'expired')", name=op.f("ck_holds_state")
        ),
        sa.ForeignKeyConstraint(
            ["allotment_id"], ["allotments.id"], name=op.f("fk_holds_allotment_id_allotments")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_holds_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["placed_by_id"], ["organisations.id"], name=op.f("fk_holds_placed_by_id_organisations")
        ),
        sa.ForeignKeyConstraint(["pool_id"], ["pools.id"], name=op.f("fk_holds_pool_id_pools")),
        sa.ForeignKeyConstraint(["sailing_id"], ["sailings.id"], name=op.f("fk_holds_sailing_id_sailings")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_holds")),
    )
    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.create_index(
            "ix_holds_allotment_active", ["allotment_id", "expires_at"], unique=False, **ACTIVE_ONLY
        )
        batch_op.create_index(batch_op.f("ix_holds_organisation_id"), ["organisation_id"], unique=False)
        batch_op.create_index("ix_holds_pool_active", ["pool_id", "expires_at"], unique=False, **ACTIVE_ONLY)
        batch_op.create_index(batch_op.f("ix_holds_sailing_id"), ["sailing_id"], unique=False)
        batch_op.create_index("ix_holds_active_expires_at", ["expires_at"], unique=False, **ACTIVE_ONLY)

    op.create_table(
        "bookings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("reference", sa.String(length=16), nullable=False),
        sa.Column("hold_id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("placed_by_id", sa.Uuid(), nullable=True),
        sa.Column("sailing_id", sa.Uuid(), nullable=False),
        sa.Column("allotment_id", sa.Uuid(), nullable=True),
        sa.Column("pool_id", sa.Uuid(), nullable=True),
        sa.Column("load", sa.String(length=3), nullable=False),
        sa.Column("size_type", sa.String(length=4), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.Column("volume_dm3", sa.Integer(), nullable=False),
        sa.Column("weight_g", sa.Integer(), nullable=False),
        sa.Column("price", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("cargo", sa.JSON(), nullable=False),
        sa.Column("parties", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN ('confirmed', 'amended', 'cancelled', 'rolled', 'closed', 'completed')",
            name=op.f("ck_bookings_state"),
        ),
        sa.CheckConstraint("version >= 1", name=op.f("ck_bookings_version_positive")),
        sa.ForeignKeyConstraint(
            ["allotment_id"], ["allotments.id"], name=op.f("fk_bookings_allotment_id_allotments")
        ),
        sa.ForeignKeyConstraint(["hold_id"], ["holds.id"], name=op.f("fk_bookings_hold_id_holds")),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_bookings_organisation_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["placed_by_id"],
            ["organisations.id"],
            name=op.f("fk_bookings_placed_by_id_organisations"),
        ),
        sa.ForeignKeyConstraint(["pool_id"], ["pools.id"], name=op.f("fk_bookings_pool_id_pools")),
        sa.ForeignKeyConstraint(
            ["sailing_id"], ["sailings.id"], name=op.f("fk_bookings_sailing_id_sailings")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bookings")),
        sa.UniqueConstraint("hold_id", name=op.f("uq_bookings_hold_id")),
        sa.UniqueConstraint("reference", name=op.f("uq_bookings_reference")),
    )
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.create_index(
            "ix_bookings_organisation_created", ["organisation_id", "created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_bookings_sailing_id"), ["sailing_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bookings_sailing_id"))
        batch_op.drop_index("ix_bookings_organisation_created")

    op.drop_table("bookings")
    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.drop_index("ix_holds_active_expires_at")
        batch_op.drop_index(batch_op.f("ix_holds_sailing_id"))
        batch_op.drop_index("ix_holds_pool_active")
        batch_op.drop_index(batch_op.f("ix_holds_organisation_id"))
        batch_op.drop_index("ix_holds_allotment_active")

    op.drop_table("holds")
    with op.batch_alter_table("pools", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pools_allotment_id"))

    op.drop_table("pools")
    with op.batch_alter_table("idempotency_records", schema=None) as batch_op:
        batch_op.drop_index("ix_idempotency_records_created_at")

    op.drop_table("idempotency_records")
    op.drop_table("allotments")
    with op.batch_alter_table("sailings", schema=None) as batch_op:
        batch_op.drop_index("ix_sailings_lane_etd")
        batch_op.drop_index("ix_sailings_etd_id")
        batch_op.drop_index(batch_op.f("ix_sailings_carrier_id"))

    op.drop_table("sailings")
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_events_undelivered")
        batch_op.drop_index(batch_op.f("ix_outbox_events_subject_id"))

    op.drop_table("outbox_events")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_keys_organisation_id"))

    op.drop_table("api_keys")
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_organisations_marketplace_id"))

    op.drop_table("organisations")
    op.drop_table("carriers")
