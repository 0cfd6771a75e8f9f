"""Settings, read once from ``SLOTPOOL_*`` environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping

import msgspec

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./var/slotpool.db"


class Settings(msgspec.Struct, kw_only=True, frozen=True):
    """Runtime configuration; every field maps to ``SLOTPOOL_<FIELD>`` in upper case."""

    database_url: str = DEFAULT_DATABASE_URL
    # A small fixed pool. Overflow connections are opened for a burst and closed after it, and
    # each new one costs a PostgreSQL backend and the driver's setup queries: more than waiting
    # for a pooled one (bench/README.md, "Holds").
    db_pool_size: int = 8
    db_max_overflow: int = 0
    sqlite_busy_timeout_ms: int = 10_000
    hold_ttl_default_seconds: int = 600
    hold_ttl_max_seconds: int = 1800
    # Extensions keep a hold at most this long after it was placed (and never past cut-off).
    hold_max_lifetime_seconds: int = 7200
    idempotency_retention_hours: int = 48
    # A request that died mid-flight frees its key after this lease.
    idempotency_lease_seconds: int = 60
    # Off in API replicas when `slotpool worker` processes run the jobs instead.
    scheduler_enabled: bool = True
    # A run that falls this far behind its schedule still runs (once: runs coalesce).
    job_misfire_grace_seconds: int = 30
    expire_interval_seconds: float = 1.0
    # Holds released per transaction, to begin with: short locks, little lost to a cancellation.
    # While batches come back full (a backlog) they double, up to eight times this.
    expire_batch_size: int = 1000
    # One run takes no more batches after this long; the next run carries on.
    expire_time_budget_seconds: float = 5.0
    purge_interval_seconds: int = 86_400
    purge_batch_size: int = 5_000
    # Events stay in the feed (GET /v1/events) at least this long, and longer while an endpoint
    # is still owed one (at least 7 days).
    outbox_retention_days: int = 7
    # Webhook delivery (app/webhooks): how often events are sequenced, fanned out to endpoints
    # and due deliveries claimed; the timeout of one attempt (the whole request, connect to last
    # byte); attempts in flight per endpoint at once; how long a claim lasts before another
    # replica may retake it (a replica that died mid-send).
    webhook_interval_seconds: float = 0.5
    webhook_timeout_seconds: float = 10.0
    webhook_endpoint_concurrency: int = 8
    webhook_lease_seconds: float = 60.0
    # Failed deliveries are retried with exponential backoff and jitter for this long (>= 24 h),
    # then given up; an endpoint whose every attempt failed for this long is disabled.
    webhook_retry_window_hours: float = 24.0
    webhook_disable_after_hours: float = 120.0
    # Development only: accept http:// and https:// endpoints on loopback addresses.
    webhook_allow_loopback: bool = False
    # How long a live schedule query waits for any one carrier before answering without it.
    live_query_timeout_seconds: float = 3.0
    # Pull schedules and allocations from every carrier, then reconcile (single leader).
    sync_interval_seconds: float = 300.0
    # A carrier that drops cancelled sailings from its schedules (DCSA) cancels one only when
    # this many consecutive complete answers left it out, and it has been missing this long.
    sync_absent_syncs_to_cancel: int = 3
    sync_absent_hours_to_cancel: float = 6.0
    # Apply recorded carrier changes (any replica; changes are locked row by row).
    reconcile_interval_seconds: float = 60.0
    # Give unsold units back to carriers at their release deadline (single leader).
    release_interval_seconds: float = 3600.0
    # Rebuild each closed sailing's consolidated manifest, store a new version when it changed
    # and send what is due (any replica; each manifest is claimed under a lease).
    manifest_interval_seconds: float = 60.0
    # A worker's claim on a manifest while it sends a version; taken over after it.
    manifest_lease_seconds: float = 300.0
    # A version that failed this many times in a row is given up (a new version starts again).
    manifest_max_attempts: int = 12
    # The platform as the shipper of the master bill in the DCSA rendition of manifests for
    # carriers that are not DCSA carriers (a DCSA carrier's own `booking_agent` and `contact`
    # are used for it).
    nvocc_name: str = "Slotpool NVOCC"
    nvocc_email: str = "operations@slotpool.example"
    # Its street, city and country (ISO 3166 alpha-2): shipping instructions require them; left
    # empty, manifests of those carriers have no DCSA rendition (the reason is kept with them).
    nvocc_address: str = ""
    nvocc_city: str = ""
    nvocc_country_code: str = ""
    # Fernet keys (comma-separated, newest first) that seal stored secrets such as carrier
    # credentials and webhook signing secrets. Empty: one key kept in `secret_key_file`, made on
    # first start; replicas sharing a database must share the keys.
    secret_keys: str = ""
    secret_key_file: str = "./var/secret.key"  # noqa: S105 (a path, not a secret)
    log_level: str = "INFO"
    log_json: bool = True

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from the environment; unknown ``SLOTPOOL_*`` names are an error."""
        env = os.environ if environ is None else environ
        fields = {f.name: f for f in msgspec.structs.fields(cls)}
        raw: dict[str, str] = {}
        for name, value in env.items():
            if not name.startswith("SLOTPOOL_"):
                continue
            field = name.removeprefix("SLOTPOOL_").lower()
            if field in fields:
                raw[field] = value
            elif field not in _FOREIGN_NAMES:
                raise ValueError(f"unknown setting {name}")
        settings = msgspec.convert(raw, cls, strict=False)
        settings.validate()
        return settings

    def validate(self) -> None:
        if self.hold_ttl_default_seconds <= 0 or self.hold_ttl_max_seconds <= 0:
            raise ValueError("hold TTLs must be positive")
        if self.hold_ttl_default_seconds > self.hold_ttl_max_seconds:
            raise ValueError("SLOTPOOL_HOLD_TTL_DEFAULT_SECONDS exceeds the maximum")
        if self.hold_max_lifetime_seconds < self.hold_ttl_max_seconds:
            raise ValueError("SLOTPOOL_HOLD_MAX_LIFETIME_SECONDS is below SLOTPOOL_HOLD_TTL_MAX_SECONDS")
        if self.idempotency_retention_hours < 24:
            raise ValueError("idempotency keys are kept at least 24 hours")
        if min(self.expire_interval_seconds, self.expire_time_budget_seconds) <= 0:
            raise ValueError("expire interval and time budget must be positive")
        if min(self.expire_batch_size, self.purge_batch_size, self.purge_interval_seconds) <= 0:
            raise ValueError("batch sizes and the purge interval must be positive")
        intervals = (
            self.sync_interval_seconds,
            self.reconcile_interval_seconds,
            self.release_interval_seconds,
        )
        if min(intervals) <= 0:
            raise ValueError("sync, reconcile and release intervals must be positive")
        if self.sync_absent_syncs_to_cancel < 1 or self.sync_absent_hours_to_cancel < 0:
            raise ValueError("a cancellation by absence needs >= 1 sync and a margin >= 0 hours")
        if self.outbox_retention_days < 7 or self.job_misfire_grace_seconds <= 0:
            raise ValueError("events are kept at least 7 days and the misfire grace is positive")
        self._validate_webhooks()
        if self.manifest_interval_seconds <= 0 or self.manifest_max_attempts < 1:
            raise ValueError("the manifest interval must be positive and at least one attempt made")
        if self.manifest_lease_seconds < 60:
            raise ValueError(
                "SLOTPOOL_MANIFEST_LEASE_SECONDS must be at least 60 (a carrier call and its record)"
            )

    def _validate_webhooks(self) -> None:
        if min(self.webhook_interval_seconds, self.webhook_timeout_seconds) <= 0:
            raise ValueError("webhook interval and timeout must be positive")
        if self.webhook_endpoint_concurrency < 1:
            raise ValueError("SLOTPOOL_WEBHOOK_ENDPOINT_CONCURRENCY must be at least 1")
        # A worker claims up to four rounds of attempts at once for an endpoint: all of them,
        # and recording them, must end before the claim lapses.
        if self.webhook_lease_seconds < 5 * self.webhook_timeout_seconds:
            raise ValueError("a webhook claim's lease must last at least 5 times the attempt timeout")
        if self.webhook_retry_window_hours < 24:
            raise ValueError("webhook retries span at least 24 hours")
        if self.webhook_disable_after_hours <= 0:
            raise ValueError("SLOTPOOL_WEBHOOK_DISABLE_AFTER_HOURS must be positive")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


# Variables that share the prefix but belong to tooling (tests, benchmarks), not to the service.
_FOREIGN_NAMES = frozenset({"test_postgres_url", "bench_postgres_url", "shared_dir"})
