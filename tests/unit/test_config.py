"""Settings come from SLOTPOOL_* variables; mistakes stop the service from starting."""

from __future__ import annotations

import pytest

from app.config import DEFAULT_DATABASE_URL, ConfigError, Settings


def test_no_variables_give_the_embedded_defaults() -> None:
    settings = Settings.from_env({})

    assert settings.database_url == DEFAULT_DATABASE_URL
    assert settings.is_sqlite
    assert settings.hold_ttl_default_seconds <= settings.hold_ttl_max_seconds
    assert settings.idempotency_retention_hours >= 24
    # The capacity guard cannot be switched off: its race control lives in tests/ alone.
    with pytest.raises(ValueError, match="SLOTPOOL_UNSAFE_DISABLE_CAPACITY_GUARD"):
        Settings.from_env({"SLOTPOOL_UNSAFE_DISABLE_CAPACITY_GUARD": "true"})


def test_variables_are_read_and_converted_from_text() -> None:
    settings = Settings.from_env(
        {
            "SLOTPOOL_DATABASE_URL": "postgresql+asyncpg://db/slotpool",
            "SLOTPOOL_HOLD_TTL_DEFAULT_SECONDS": "300",
            "SLOTPOOL_SCHEDULER_ENABLED": "false",
            "SLOTPOOL_EXPIRE_INTERVAL_SECONDS": "0.5",
        }
    )

    assert settings.database_url == "postgresql+asyncpg://db/slotpool"
    assert not settings.is_sqlite
    assert settings.hold_ttl_default_seconds == 300
    assert settings.scheduler_enabled is False
    assert settings.expire_interval_seconds == 0.5


def test_unknown_slotpool_variable_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="SLOTPOOL_HOLD_TTL_SECS"):
        Settings.from_env({"SLOTPOOL_HOLD_TTL_SECS": "60"})


def test_other_prefixes_and_tooling_variables_are_ignored() -> None:
    settings = Settings.from_env(
        {"PATH": "/bin", "SLOTPOOLX": "1", "SLOTPOOL_TEST_POSTGRES_URL": "postgresql://x/y"}
    )
    assert settings == Settings()


def test_default_ttl_above_the_maximum_is_refused() -> None:
    with pytest.raises(ValueError, match="HOLD_TTL_DEFAULT"):
        Settings.from_env(
            {"SLOTPOOL_HOLD_TTL_DEFAULT_SECONDS": "1801", "SLOTPOOL_HOLD_TTL_MAX_SECONDS": "1800"}
        )


def test_default_ttl_equal_to_the_maximum_is_accepted() -> None:
    settings = Settings.from_env(
        {"SLOTPOOL_HOLD_TTL_DEFAULT_SECONDS": "900", "SLOTPOOL_HOLD_TTL_MAX_SECONDS": "900"}
    )
    assert settings.hold_ttl_default_seconds == settings.hold_ttl_max_seconds == 900


@pytest.mark.parametrize("ttl", ["0", "-5"])
def test_non_positive_ttl_is_refused(ttl: str) -> None:
    with pytest.raises(ValueError, match="positive"):
        Settings.from_env({"SLOTPOOL_HOLD_TTL_DEFAULT_SECONDS": ttl})


def test_idempotency_retention_below_24_hours_is_refused() -> None:
    with pytest.raises(ValueError, match="24 hours"):
        Settings.from_env({"SLOTPOOL_IDEMPOTENCY_RETENTION_HOURS": "23"})
    assert Settings.from_env({"SLOTPOOL_IDEMPOTENCY_RETENTION_HOURS": "24"}).idempotency_retention_hours == 24


def test_a_value_of_the_wrong_type_is_refused() -> None:
    with pytest.raises(ValueError, match=r"SLOTPOOL_DB_POOL_SIZE: expected a whole number, got .four."):
        Settings.from_env({"SLOTPOOL_DB_POOL_SIZE": "four"})


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgres://app:pw@db:5432/slotpool", "postgresql+asyncpg://app:pw@db:5432/slotpool"),
        ("postgresql://app@db/slotpool", "postgresql+asyncpg://app@db/slotpool"),
        ("postgresql+asyncpg://app@db/slotpool", "postgresql+asyncpg://app@db/slotpool"),
        ("sqlite:///./var/x.db", "sqlite+aiosqlite:///./var/x.db"),
    ],
)
def test_plain_database_urls_get_the_async_drivers(given: str, used: str) -> None:
    assert Settings.from_env({"SLOTPOOL_DATABASE_URL": given}).database_url == used


def test_a_malformed_value_names_the_variable_what_it_expects_and_the_default() -> None:
    with pytest.raises(ConfigError) as refused:
        Settings.from_env({"SLOTPOOL_SCHEDULER_ENABLED": "sometimes"})
    expected = "SLOTPOOL_SCHEDULER_ENABLED: expected true or false, got 'sometimes' (default True)"
    assert str(refused.value) == expected


def test_cors_origins_and_forwarded_addresses_are_comma_separated() -> None:
    settings = Settings.from_env(
        {
            "SLOTPOOL_CORS_ALLOW_ORIGINS": "https://shop.example, https://checkout.example",
            "SLOTPOOL_FORWARDED_ALLOW_IPS": "10.0.0.1,10.0.0.2",
        }
    )
    assert settings.cors_origins == ["https://shop.example", "https://checkout.example"]
    assert settings.forwarded_ips == ["10.0.0.1", "10.0.0.2"]
    assert Settings.from_env({}).cors_origins == []
    with pytest.raises(ConfigError, match="SLOTPOOL_CORS_ALLOW_ORIGINS: expected comma-separated origins"):
        Settings.from_env({"SLOTPOOL_CORS_ALLOW_ORIGINS": "shop.example"})


def test_a_negative_shutdown_grace_and_an_unknown_log_level_are_refused() -> None:
    with pytest.raises(ConfigError, match="SLOTPOOL_SHUTDOWN_GRACE_SECONDS"):
        Settings.from_env({"SLOTPOOL_SHUTDOWN_GRACE_SECONDS": "-1"})
    with pytest.raises(ConfigError, match="SLOTPOOL_LOG_LEVEL: expected one of DEBUG"):
        Settings.from_env({"SLOTPOOL_LOG_LEVEL": "LOUD"})
