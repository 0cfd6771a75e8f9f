"""Every table, imported in one place for Alembic and the tests."""

from app.accounts.models import ApiKey, Organisation
from app.db import Base
from app.events.models import IdempotencyRecord, OutboxEvent
from app.inventory.models import Allotment, Carrier, Pool, Sailing
from app.reservations.models import Booking, Hold

metadata = Base.metadata

__all__ = [
    "Allotment",
    "ApiKey",
    "Booking",
    "Carrier",
    "Hold",
    "IdempotencyRecord",
    "Organisation",
    "OutboxEvent",
    "Pool",
    "Sailing",
    "metadata",
]
