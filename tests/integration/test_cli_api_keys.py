"""The operator's CLI: create-api-key adds a key to an existing organisation instead of making a
second one; api-keys lists, revokes and rotates keys, stored hashed and shown once."""

from __future__ import annotations

import asyncio
import re

from click.testing import CliRunner, Result
from sqlalchemy import func, select

from app.accounts import service as accounts
from app.accounts.repository import api_keys, organisations
from app.accounts.service import KeyCache
from app.cli import api_keys_group, create_api_key_command
from app.db import transaction
from app.runtime import Runtime

KEY = re.compile(r"sp_[A-Za-z0-9_-]{20,}")


async def invoke(database_url: str, command: object, *args: str) -> Result:
    environment = {"SLOTPOOL_DATABASE_URL": database_url, "SLOTPOOL_LOG_LEVEL": "WARNING"}
    return await asyncio.to_thread(CliRunner().invoke, command, list(args), env=environment)  # type: ignore[arg-type]


async def count(runtime: Runtime, table: object) -> int:
    async with transaction(runtime.engine, read_only=True) as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())  # type: ignore[arg-type]


async def test_create_api_key_adds_a_key_to_an_existing_organisation(
    database_url: str, runtime: Runtime
) -> None:
    first = await invoke(
        database_url, create_api_key_command, "--organisation", "Cart Co", "--kind", "marketplace"
    )
    second = await invoke(database_url, create_api_key_command, "--organisation", "Cart Co")
    wrong_kind = await invoke(
        database_url, create_api_key_command, "--organisation", "Cart Co", "--kind", "shipper"
    )

    assert first.exit_code == 0, first.output
    assert "created" in first.output
    assert second.exit_code == 0, second.output
    assert "found" in second.output
    assert wrong_kind.exit_code != 0
    assert await count(runtime, organisations) == 1
    assert await count(runtime, api_keys) == 2
    keys = [KEY.search(result.output) for result in (first, second)]
    actors = [await accounts.authenticate(runtime, match.group(0), KeyCache()) for match in keys if match]
    assert len({actor.organisation_id for actor in actors if actor}) == 1
    async with transaction(runtime.engine, read_only=True) as conn:
        stored = set((await conn.execute(select(api_keys.c.key_hash))).scalars())
    assert not any(match.group(0) in stored for match in keys if match)  # hashed, never the key


async def test_api_keys_are_listed_revoked_and_rotated_from_the_cli(
    database_url: str, runtime: Runtime
) -> None:
    created = await invoke(database_url, create_api_key_command, "--organisation", "Ops")
    old_key = KEY.search(created.output)
    assert old_key is not None
    listed = await invoke(database_url, api_keys_group, "list")
    key_id = listed.output.split()[0]

    rotated = await invoke(database_url, api_keys_group, "rotate", key_id)
    new_key = KEY.search(rotated.output)
    assert new_key is not None
    new_id = rotated.output.split("New key ")[1].split()[0]
    revoked = await invoke(database_url, api_keys_group, "revoke", new_id)

    assert listed.exit_code == rotated.exit_code == revoked.exit_code == 0, listed.output + rotated.output
    assert await accounts.authenticate(runtime, old_key.group(0), KeyCache()) is None
    assert await accounts.authenticate(runtime, new_key.group(0), KeyCache()) is None
    unknown = await invoke(database_url, api_keys_group, "revoke", "00000000-0000-0000-0000-000000000000")
    assert unknown.exit_code != 0
