"""checkout flows: a booking's offered hold, marketplace shippers' external ids

``bookings.offered_hold_id`` is the one link from a booking that lost its space (rolled, or
declined by its carrier) to the hold placed for its owner on another sailing; the links kept
so far in ``rolled_bookings.offered_hold_id`` move there. ``organisations.external_id`` is a
marketplace's own id for one of its shippers, unique per marketplace.

Revision ID: 0009
Revises: 0006
Create Date: 2026-11-25 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("offered_hold_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_bookings_offered_hold_id_holds"), "holds", ["offered_hold_id"], ["id"]
        )
    op.execute(
        "UPDATE bookings SET offered_hold_id = (SELECT r.offered_hold_id FROM rolled_bookings r"
        " WHERE r.booking_id = bookings.id) WHERE id IN (SELECT booking_id FROM rolled_bookings)"
    )
    with op.batch_alter_table("rolled_bookings", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_rolled_bookings_offered_hold_id_holds"), type_="foreignkey")
        batch_op.drop_column("offered_hold_id")
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("external_id", sa.String(length=100), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_organisations_marketplace_id_external_id"), ["marketplace_id", "external_id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_organisations_marketplace_id_external_id"), type_="unique")
        batch_op.drop_column("external_id")
    with op.batch_alter_table("rolled_bookings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("offered_hold_id", sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_rolled_bookings_offered_hold_id_holds"), "holds", ["offered_hold_id"], ["id"]
        )
    op.execute(
        "UPDATE rolled_bookings SET offered_hold_id = (SELECT b.offered_hold_id FROM bookings b"
        " WHERE b.id = rolled_bookings.booking_id)"
    )
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_bookings_offered_hold_id_holds"), type_="foreignkey")
        batch_op.drop_column("offered_hold_id")
