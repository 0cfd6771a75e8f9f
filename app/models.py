"""Every table, imported in one place for Alembic and the tests."""

from app.accounts.models import ApiKey, Organisation
from app.carrier_adapters.models import CarrierCounter, CarrierDocument, CarrierRelease
from app.carrier_requests.models import CarrierRequest
from app.consolidation.models import HouseBillSequence
from app.db import Base
from app.events.models import FeedCursor, IdempotencyRecord, OutboxEvent
from app.inventory.models import Allotment, Carrier, ConsolidationContainer, Pool, Sailing
from app.jobs.models import JobLease, JobRun, JobStats
from app.manifests.models import Manifest, ManifestVersion
from app.reconcile.models import RolledBooking
from app.reservations.models import Booking, Hold
from app.sync.models import (
    AllotmentOffer,
    AllotmentRelease,
    CarrierAccount,
    CarrierBooking,
    CarrierNotification,
    CarrierSyncState,
    SailingCarrierState,
    SyncChange,
)
from app.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

metadata = Base.metadata

__all__ = [
    "Allotment",
    "AllotmentOffer",
    "AllotmentRelease",
    "ApiKey",
    "Booking",
    "Carrier",
    "CarrierAccount",
    "CarrierBooking",
    "CarrierCounter",
    "CarrierDocument",
    "CarrierNotification",
    "CarrierRelease",
    "CarrierRequest",
    "CarrierSyncState",
    "ConsolidationContainer",
    "FeedCursor",
    "Hold",
    "HouseBillSequence",
    "IdempotencyRecord",
    "JobLease",
    "JobRun",
    "JobStats",
    "Manifest",
    "ManifestVersion",
    "Organisation",
    "OutboxEvent",
    "Pool",
    "RolledBooking",
    "Sailing",
    "SailingCarrierState",
    "SyncChange",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "metadata",
]
