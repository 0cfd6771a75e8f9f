"""Operator commands, added to the Litestar CLI: ``slotpool create-api-key``, ``seed-demo``,
``check-invariants``, ``worker``."""

from __future__ import annotations

import asyncio
import math
import sys
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click
import uvicorn
from litestar.plugins import CLIPluginProtocol

from app.accounts import service as accounts
from app.accounts.actor import OrgKind
from app.accounts.schemas import ApiKeyCreate, ApiKeyRotation, ApiKeyView, OrganisationView
from app.config import settings_or_exit
from app.database_status import describe, is_unavailable
from app.db import create_engine
from app.demo import seed_demo
from app.domain.errors import DomainError
from app.jobs.worker import run_worker
from app.logging import configure_logging
from app.reservations.invariants import check_invariants
from app.runtime import Runtime

T = TypeVar("T")


def _run(work: Callable[[Runtime], Awaitable[T]]) -> T:
    settings = settings_or_exit()

    async def main() -> T:
        rt = Runtime(settings=settings, engine=create_engine(settings))
        try:
            return await work(rt)
        finally:
            await rt.engine.dispose()

    try:
        return asyncio.run(main())
    except Exception as error:
        if not is_unavailable(error):
            raise
        # Which database, and how to create it: one line and exit status 1, no traceback.
        click.echo(f"slotpool: {describe(settings.database_url, error)}", err=True)
        sys.exit(1)


@click.command("create-api-key")
@click.option("--organisation", "org_name", default="Operations", show_default=True)
@click.option("--organisation-id", "org_id", type=click.UUID, default=None, help="An existing organisation.")
@click.option(
    "--kind", type=click.Choice([k.value for k in OrgKind]), default=None, help="[default: operator]"
)
@click.option("--name", default="bootstrap", show_default=True, help="A label for the key.")
def create_api_key_command(org_name: str, org_id: uuid.UUID | None, kind: str | None, name: str) -> None:
    """Add an API key to the organisation named (or given by id), creating it if there is none;
    the key is printed once, never stored."""

    async def work(rt: Runtime) -> tuple[str, OrganisationView, bool]:
        org, created = await accounts.organisation_for_key(
            rt, org_id=org_id, name=org_name, kind=OrgKind(kind) if kind else None
        )
        issued = await accounts.create_api_key(rt, org.id, ApiKeyCreate(name=name))
        assert issued.key is not None
        return issued.key, org, created

    try:
        key, org, created = _run(work)
    except DomainError as error:
        raise click.ClickException(error.detail) from None
    what = "created" if created else "found"
    click.echo(f"{org.kind} organisation '{org.name}' ({org.id}) {what}. API key (shown once):\n{key}")


@click.group("api-keys")
def api_keys_group() -> None:
    """List, revoke and rotate API keys (any organisation's)."""


@api_keys_group.command("list")
@click.option(
    "--organisation-id", "org_id", type=click.UUID, default=None, help="One organisation's keys only."
)
def list_keys_command(org_id: uuid.UUID | None) -> None:
    """Every key, newest first: id, organisation, name, prefix, scopes, revoked."""

    async def work(rt: Runtime) -> list[ApiKeyView]:
        keys: list[ApiKeyView] = []
        cursor = None
        while True:
            page = await accounts.list_api_keys(rt, org_id, cursor=cursor, limit=200)
            keys.extend(page.items)
            if page.next_cursor is None:
                return keys
            cursor = page.next_cursor

    for key in _run(work):
        revoked = key.revoked_at.isoformat() if key.revoked_at else "-"
        scopes = ",".join(key.scopes)
        click.echo(
            f"{key.id}  {key.organisation_id}  {key.prefix}...  {scopes}  revoked:{revoked}  {key.name}"
        )


@api_keys_group.command("revoke")
@click.argument("key_id", type=click.UUID)
def revoke_key_command(key_id: uuid.UUID) -> None:
    """Refuse the key from now on."""
    try:
        key = _run(lambda rt: accounts.revoke_api_key(rt, None, key_id))
    except DomainError as error:
        raise click.ClickException(error.detail) from None
    assert key.revoked_at is not None
    click.echo(f"API key {key.id} ({key.prefix}...) refused since {key.revoked_at.isoformat()}.")


@api_keys_group.command("rotate")
@click.argument("key_id", type=click.UUID)
@click.option("--overlap-seconds", type=click.IntRange(0, 7 * 86400), default=0, show_default=True)
def rotate_key_command(key_id: uuid.UUID, overlap_seconds: int) -> None:
    """A new key with the same name and scopes; the old one stops after the overlap."""
    rotation = ApiKeyRotation(overlap_seconds=overlap_seconds)
    try:
        rotated = _run(lambda rt: accounts.rotate_api_key(rt, None, key_id, rotation))
    except DomainError as error:
        raise click.ClickException(error.detail) from None
    click.echo(
        f"API key {key_id} refused from {rotated.previous_key_revoked_at.isoformat()}. "
        f"New key {rotated.id} (shown once):\n{rotated.key}"
    )


@click.command("seed-demo")
def seed_demo_command() -> None:
    """Load demo carriers, sailings and keys if the database is empty."""
    keys = _run(seed_demo)
    if keys is None:
        click.echo("Demo data already loaded (keys are shown only when created; see create-api-key).")
        return
    click.echo("Demo data loaded. API keys (shown once, keep them):")
    for kind, key in keys.items():
        click.echo(f"  {kind:<9} {key}")
    for note in keys.notes:
        click.echo(note)


@click.command("check-invariants")
def check_invariants_command() -> None:
    """Verify DESIGN invariants 1-5; print each violation; exit 1 if there is any."""
    violations = _run(check_invariants)
    for violation in violations:
        click.echo(f"invariant {violation.invariant}: {violation.subject}: {violation.detail}")
    if violations:
        sys.exit(1)
    click.echo("All invariants hold.")


@click.command("worker")
def worker_command() -> None:
    """Run only the scheduled jobs (expiring holds, purging), no HTTP, until SIGTERM or SIGINT."""
    asyncio.run(run_worker(settings_or_exit()))


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True)
def serve_command(host: str, port: int, workers: int) -> None:
    """Serve the API as in production: JSON logs from the first line (the supervisor's too),
    X-Forwarded-For/-Proto trusted from SLOTPOOL_FORWARDED_ALLOW_IPS only, and on SIGTERM
    requests in flight given SLOTPOOL_SHUTDOWN_GRACE_SECONDS (then the jobs get as long)."""
    settings = settings_or_exit()
    configure_logging(settings.log_level, settings.log_json)
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        # Our logging, not uvicorn's plain text; our request line replaces its access line.
        log_config=None,
        access_log=False,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_ips,
        timeout_graceful_shutdown=max(1, math.ceil(settings.shutdown_grace_seconds)),
        server_header=False,
    )


class SlotpoolCLIPlugin(CLIPluginProtocol):
    def on_cli_init(self, cli: click.Group) -> None:
        commands = (
            create_api_key_command,
            api_keys_group,
            seed_demo_command,
            check_invariants_command,
            worker_command,
            serve_command,
        )
        for command in commands:
            cli.add_command(command)
