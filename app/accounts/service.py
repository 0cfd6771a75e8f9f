"""Use cases of organisations and API keys."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable

import msgspec

from app.accounts import keys, repository
from app.accounts.actor import DEFAULT_SCOPES, Actor, OrgKind, Scope
from app.accounts.schemas import ApiKeyCreate, ApiKeyCreated, OrganisationCreate, OrganisationView
from app.db import autocommit, transaction
from app.domain.errors import InvalidRequest, NotFound
from app.events.idempotency import Finish
from app.runtime import Runtime


async def create_organisation(
    rt: Runtime, request: OrganisationCreate, finish: Finish | None = None
) -> OrganisationView:
    if request.marketplace_id is not None and request.kind is not OrgKind.SHIPPER:
        raise InvalidRequest("marketplace_id", "only a shipper belongs to a marketplace")
    now = rt.clock.app_now()
    async with transaction(rt.engine) as conn:
        if request.marketplace_id is not None:
            market = await repository.get_organisation(conn, request.marketplace_id)
            if market is None or market.kind != OrgKind.MARKETPLACE:
                raise InvalidRequest("marketplace_id", "no marketplace with this id")
        org_id = await repository.insert_organisation(
            conn,
            name=request.name,
            kind=request.kind,
            marketplace_id=request.marketplace_id,
            at=now,
        )
        view = OrganisationView(
            id=org_id,
            name=request.name,
            kind=request.kind,
            marketplace_id=request.marketplace_id,
            created_at=now,
        )
        if finish is not None:
            await finish(conn, view)
    return view


async def list_organisations(rt: Runtime) -> list[OrganisationView]:
    async with transaction(rt.engine, read_only=True) as conn:
        rows = await repository.list_organisations(conn)
    return [
        OrganisationView(
            id=row.id,
            name=row.name,
            kind=OrgKind(row.kind),
            marketplace_id=row.marketplace_id,
            created_at=row.created_at,
        )
        for row in rows
    ]


async def create_api_key(
    rt: Runtime, org_id: uuid.UUID, request: ApiKeyCreate, finish: Finish | None = None
) -> ApiKeyCreated:
    """Issue a key for an organisation; the clear key is in the answer and nowhere else."""
    async with transaction(rt.engine) as conn:
        org = await repository.get_organisation(conn, org_id)
        if org is None:
            raise NotFound("organisation", org_id)
        allowed = DEFAULT_SCOPES[OrgKind(org.kind)]
        scopes = sorted(set(request.scopes) if request.scopes is not None else allowed)
        if not set(scopes) <= allowed:
            raise InvalidRequest("scopes", f"a {org.kind} key may have only {sorted(allowed)}")
        key = keys.new_key()
        key_id = await repository.insert_api_key(
            conn,
            organisation_id=org_id,
            name=request.name,
            prefix=keys.visible_prefix(key),
            key_hash=keys.digest(key),
            scopes=" ".join(scopes),
            at=rt.clock.app_now(),
        )
        view = ApiKeyCreated(
            id=key_id,
            organisation_id=org_id,
            name=request.name,
            prefix=keys.visible_prefix(key),
            scopes=[Scope(s) for s in scopes],
            key=key,
        )
        if finish is not None:
            # The stored replay must not hold the secret: it keeps the key's identity only.
            await finish(conn, msgspec.structs.replace(view, key=None))
    return view


class KeyCache:
    """Resolved keys for a few seconds: a revoked key stops working within ``ttl`` seconds.

    One lookup per key at a time: requests arriving while a key is being looked up wait for
    that lookup instead of each querying the database (no stampede when an entry lapses).
    """

    def __init__(self, ttl: float = 5.0, size: int = 10_000) -> None:
        self.ttl = ttl
        self.size = size
        self._entries: dict[str, tuple[float, Actor | None]] = {}
        self._lookups: dict[str, asyncio.Future[Actor | None]] = {}

    def get(self, key_hash: str) -> tuple[bool, Actor | None]:
        entry = self._entries.get(key_hash)
        if entry is None or entry[0] < time.monotonic():
            return False, None
        return True, entry[1]

    def put(self, key_hash: str, actor: Actor | None) -> None:
        if len(self._entries) >= self.size:
            self._entries.clear()
        self._entries[key_hash] = (time.monotonic() + self.ttl, actor)

    async def resolve(self, key_hash: str, lookup: Callable[[], Awaitable[Actor | None]]) -> Actor | None:
        hit, actor = self.get(key_hash)
        if hit:
            return actor
        pending = self._lookups.get(key_hash)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Actor | None] = asyncio.get_running_loop().create_future()
        self._lookups[key_hash] = future
        try:
            actor = await lookup()
        except Exception as error:
            future.set_exception(error)
            future.exception()  # waiters see it; nobody else need retrieve it
            raise
        except BaseException:
            future.cancel()
            raise
        finally:
            del self._lookups[key_hash]
        self.put(key_hash, actor)
        future.set_result(actor)
        return actor


async def authenticate(rt: Runtime, key: str, cache: KeyCache) -> Actor | None:
    """The actor behind a bearer key, or None for an unknown or revoked key."""
    key_hash = keys.digest(key)
    return await cache.resolve(key_hash, lambda: _lookup(rt, key_hash))


async def _lookup(rt: Runtime, key_hash: str) -> Actor | None:
    async with autocommit(rt.engine, read_only=True) as conn:
        row = await repository.find_active_key(conn, key_hash)
    if row is None:
        return None
    return Actor(
        organisation_id=row.organisation_id,
        kind=OrgKind(row.kind),
        api_key_id=row.id,
        scopes=frozenset(Scope(s) for s in row.scopes.split()),
    )
