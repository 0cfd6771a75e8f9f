"""Settings, read once from ``SLOTPOOL_*`` environment variables."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any, NoReturn

import msgspec
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./var/slotpool.db"
# Exit status of a process refused at start for its settings (as for a command-line usage error).
CONFIG_EXIT_CODE = 2


class ConfigError(ValueError):
    """A setting is unknown or malformed; the message names the variable and what it expects."""


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
    # A single-leader job's run holds its lease this long, renewed every third of it while the
    # run lasts; a replica that died mid-run is taken over once it lapses.
    job_lease_seconds: float = 60.0
    # A job that has not succeeded for this many intervals (and at least a minute) is overdue:
    # GET /v1/admin/jobs marks it and GET /health/jobs answers 503.
    job_overdue_intervals: float = 3.0
    # Prometheus metrics at /metrics (and the HTTP metrics middleware).
    metrics_enabled: bool = True
    # Where `slotpool worker` serves /health, /ready, /health/jobs and /metrics.
    worker_host: str = "127.0.0.1"
    worker_port: int = 8001
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
    # Close LCL pools whose LCL cut-off passed and pack them (any replica; each pool is locked).
    close_pools_interval_seconds: float = 60.0
    # Send recorded carrier requests (FCL bookings, amendments, cancellations, master bookings
    # of consolidated containers): how often; how long a dispatcher holds a request it is
    # sending before another replica may retake it (longer than a carrier call may take); how
    # many attempts a request that keeps failing gets before it is given up.
    dispatch_interval_seconds: float = 1.0
    dispatch_lease_seconds: float = 60.0
    dispatch_max_attempts: int = 12
    # Rebuild each closed sailing's consolidated manifest, store a new version when it changed
    # and send what is due (any replica; each manifest is claimed under a lease).
    manifest_interval_seconds: float = 60.0
    # A worker's claim on a manifest while it sends a version; taken over after it.
    manifest_lease_seconds: float = 300.0
    # A version that failed this many times in a row is given up (a new version starts again).
    manifest_max_attempts: int = 12
    # The platform as NVOCC: booking party of its master bookings (consolidated LCL containers)
    # and shipper of the master bill in the DCSA rendition of manifests for carriers that are
    # not DCSA carriers (a DCSA carrier's own `booking_agent` and `contact` are used there).
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
    # On SIGTERM, runs in flight finish their current batch within this long; then the process
    # cancels what is left (each transaction rolls back whole) and exits.
    shutdown_grace_seconds: float = 10.0
    # Browser origins allowed to call the API (comma-separated, e.g. https://shop.example);
    # empty: no CORS headers at all.
    cors_allow_origins: str = ""
    # Addresses of the load balancers whose X-Forwarded-For/-Proto are trusted (comma-separated,
    # or * behind a private network); used by `slotpool serve`.
    forwarded_allow_ips: str = "127.0.0.1"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from the environment; unknown ``SLOTPOOL_*`` names are an error."""
        env = os.environ if environ is None else environ
        fields = {f.name: f for f in msgspec.structs.fields(cls)}
        values: dict[str, Any] = {}
        for name, value in env.items():
            if not name.startswith("SLOTPOOL_"):
                continue
            field = name.removeprefix("SLOTPOOL_").lower()
            if field in fields:
                values[field] = _convert(name, value, fields[field])
            elif field not in _FOREIGN_NAMES:
                raise ConfigError(f"{name}: unknown setting (the README's settings table lists them)")
        if "database_url" in values:
            values["database_url"] = normalise_database_url(values["database_url"])
        settings = cls(**values)
        settings.validate()
        return settings

    def validate(self) -> None:
        for name in ("hold_ttl_default_seconds", "hold_ttl_max_seconds"):
            _require(getattr(self, name) > 0, name, "a positive number of seconds")
        _require(
            self.hold_ttl_default_seconds <= self.hold_ttl_max_seconds,
            "hold_ttl_default_seconds",
            f"at most SLOTPOOL_HOLD_TTL_MAX_SECONDS ({self.hold_ttl_max_seconds}): it exceeds the maximum",
        )
        _require(
            self.hold_max_lifetime_seconds >= self.hold_ttl_max_seconds,
            "hold_max_lifetime_seconds",
            f"at least SLOTPOOL_HOLD_TTL_MAX_SECONDS ({self.hold_ttl_max_seconds})",
        )
        _require(
            self.idempotency_retention_hours >= 24,
            "idempotency_retention_hours",
            "at least 24 (idempotency keys are kept at least 24 hours)",
        )
        for name in ("expire_interval_seconds", "expire_time_budget_seconds", "job_misfire_grace_seconds"):
            _require(getattr(self, name) > 0, name, "a positive number of seconds")
        for name in ("expire_batch_size", "purge_batch_size", "purge_interval_seconds", "db_pool_size"):
            _require(getattr(self, name) > 0, name, "a positive whole number")
        for name in (
            "sync_interval_seconds",
            "reconcile_interval_seconds",
            "release_interval_seconds",
            "close_pools_interval_seconds",
        ):
            _require(getattr(self, name) > 0, name, "a positive number of seconds")
        _require(
            self.sync_absent_syncs_to_cancel >= 1,
            "sync_absent_syncs_to_cancel",
            "at least 1 (a cancellation by absence needs one sync)",
        )
        _require(self.sync_absent_hours_to_cancel >= 0, "sync_absent_hours_to_cancel", "0 or more hours")
        _require(self.outbox_retention_days >= 7, "outbox_retention_days", "at least 7 (days kept)")
        _require(self.shutdown_grace_seconds >= 0, "shutdown_grace_seconds", "0 or more seconds")
        _require(self.log_level.upper() in _LOG_LEVELS, "log_level", "one of " + ", ".join(_LOG_LEVELS))
        for origin in self.cors_origins:
            _require(
                origin == "*" or origin.startswith(("http://", "https://")),
                "cors_allow_origins",
                f"comma-separated origins such as https://shop.example, or *; got {origin!r}",
            )
        for name in ("dispatch_interval_seconds", "dispatch_lease_seconds"):
            _require(getattr(self, name) > 0, name, "a positive number of seconds")
        _require(self.dispatch_max_attempts >= 1, "dispatch_max_attempts", "at least 1")
        _require(
            0 < len(self.nvocc_name) <= 70,
            "nvocc_name",
            "1 to 70 characters (a DCSA party name)",
        )
        _require(self.job_lease_seconds >= 3, "job_lease_seconds", "at least 3 seconds")
        _require(self.job_overdue_intervals >= 1, "job_overdue_intervals", "at least 1 interval")
        _require(0 <= self.worker_port <= 65535, "worker_port", "a TCP port (0 for any free one)")
        _require(
            self.manifest_interval_seconds > 0, "manifest_interval_seconds", "a positive number of seconds"
        )
        _require(self.manifest_max_attempts >= 1, "manifest_max_attempts", "at least 1")
        _require(
            self.manifest_lease_seconds >= 60,
            "manifest_lease_seconds",
            "at least 60 seconds (a carrier call and its record)",
        )
        self._validate_webhooks()

    def _validate_webhooks(self) -> None:
        for name in ("webhook_interval_seconds", "webhook_timeout_seconds", "webhook_disable_after_hours"):
            _require(getattr(self, name) > 0, name, "a positive number")
        _require(self.webhook_endpoint_concurrency >= 1, "webhook_endpoint_concurrency", "at least 1")
        # A worker claims up to four rounds of attempts at once for an endpoint: all of them,
        # and recording them, must end before the claim lapses.
        _require(
            self.webhook_lease_seconds >= 5 * self.webhook_timeout_seconds,
            "webhook_lease_seconds",
            "at least 5 times SLOTPOOL_WEBHOOK_TIMEOUT_SECONDS (a webhook claim's lease)",
        )
        _require(
            self.webhook_retry_window_hours >= 24,
            "webhook_retry_window_hours",
            "at least 24 (webhook retries span at least 24 hours)",
        )

    @property
    def cors_origins(self) -> list[str]:
        """The allowed browser origins; empty when CORS is off."""
        return [origin.strip() for origin in self.cors_allow_origins.split(",") if origin.strip()]

    @property
    def forwarded_ips(self) -> list[str]:
        return [ip.strip() for ip in self.forwarded_allow_ips.split(",") if ip.strip()]

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_EXPECTED = {int: "a whole number", float: "a number", bool: "true or false", str: "text"}


def _env_name(field: str) -> str:
    return f"SLOTPOOL_{field.upper()}"


def _require(condition: bool, field: str, expected: str) -> None:
    if not condition:
        raise ConfigError(f"{_env_name(field)}: expected {expected}")


def _convert(name: str, value: str, field: msgspec.structs.FieldInfo) -> Any:
    """One variable's text as its field's type, or a ConfigError naming the variable."""
    try:
        return msgspec.convert(value, field.type, strict=False)
    except msgspec.ValidationError:
        expected = _EXPECTED.get(field.type, str(field.type))
        raise ConfigError(f"{name}: expected {expected}, got {value!r} (default {field.default!r})") from None


def normalise_database_url(url: str) -> str:
    """The SQLAlchemy URL of ``url``: plain ``postgres://`` and ``postgresql://`` URLs (as hosting
    platforms hand them out) get the asyncpg driver, ``sqlite://`` gets aiosqlite."""
    name = "SLOTPOOL_DATABASE_URL"
    expected = "postgresql://user:password@host:5432/name or sqlite+aiosqlite:///./var/slotpool.db"
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(f"{name}: expected a database URL such as {expected}") from None
    driver = {
        "postgres": "postgresql+asyncpg",
        "postgresql": "postgresql+asyncpg",
        "sqlite": "sqlite+aiosqlite",
    }.get(parsed.drivername, parsed.drivername)
    if driver not in ("postgresql+asyncpg", "sqlite+aiosqlite"):
        raise ConfigError(f"{name}: expected a PostgreSQL or SQLite URL such as {expected}, got {driver}://")
    if driver.startswith("postgresql") and not parsed.database:
        raise ConfigError(f"{name}: expected a database name at the end of the URL, as in {expected}")
    return parsed.set(drivername=driver).render_as_string(hide_password=False)


def settings_or_exit(environ: Mapping[str, str] | None = None) -> Settings:
    """Settings for a command's start: a ConfigError is one line on stderr and exit status 2,
    not a traceback."""
    try:
        return Settings.from_env(environ)
    except ConfigError as error:
        refuse(error)


def refuse(error: ConfigError) -> NoReturn:
    print(f"slotpool: configuration error: {error}", file=sys.stderr)
    raise SystemExit(CONFIG_EXIT_CODE)


# Variables that share the prefix but belong to tooling (tests, benchmarks), not to the service.
_FOREIGN_NAMES = frozenset({"test_postgres_url", "bench_postgres_url", "shared_dir"})
