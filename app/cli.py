"""Operator commands, added to the Litestar CLI: ``slotpool create-api-key``, ``seed-demo``,
``check-invariants``, ``worker``."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click
from litestar.plugins import CLIPluginProtocol

from app.accounts import service as accounts
from app.accounts.actor import OrgKind
from app.accounts.schemas import ApiKeyCreate, OrganisationCreate
from app.config import Settings
from app.db import create_engine
from app.demo import seed_demo
from app.jobs.worker import run_worker
from app.reservations.invariants import check_invariants
from app.runtime import Runtime

T = TypeVar("T")


def _run(work: Callable[[Runtime], Awaitable[T]]) -> T:
    async def main() -> T:
        settings = Settings.from_env()
        rt = Runtime(settings=settings, engine=create_engine(settings))
        try:
            return await work(rt)
        finally:
            await rt.engine.dispose()

    return asyncio.run(main())


@click.command("create-api-key")
@click.option("--organisation", "org_name", default="Operations", show_default=True)
@click.option("--kind", type=click.Choice([k.value for k in OrgKind]), default="operator", show_default=True)
@click.option("--name", default="bootstrap", show_default=True, help="A label for the key.")
def create_api_key_command(org_name: str, kind: str, name: str) -> None:
    """Create an organisation and an API key for it; the key is printed once, never stored."""

    async def work(rt: Runtime) -> str:
        org = await accounts.create_organisation(rt, OrganisationCreate(name=org_name, kind=OrgKind(kind)))
        created = await accounts.create_api_key(rt, org.id, ApiKeyCreate(name=name))
        assert created.key is not None
        return created.key

    key = _run(work)
    click.echo(f"{kind} organisation '{org_name}' created. API key (shown once):\n{key}")


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


@click.command("check-invariants")
def check_invariants_command() -> None:
    """Verify DESIGN invariants 1-4; print each violation; exit 1 if there is any."""
    violations = _run(check_invariants)
    for violation in violations:
        click.echo(f"invariant {violation.invariant}: {violation.subject}: {violation.detail}")
    if violations:
        sys.exit(1)
    click.echo("All invariants hold.")


@click.command("worker")
def worker_command() -> None:
    """Run only the scheduled jobs (expiring holds, purging), no HTTP, until SIGTERM or SIGINT."""
    asyncio.run(run_worker(Settings.from_env()))


class SlotpoolCLIPlugin(CLIPluginProtocol):
    def on_cli_init(self, cli: click.Group) -> None:
        for command in (create_api_key_command, seed_demo_command, check_invariants_command, worker_command):
            cli.add_command(command)
