"""Use cases of organisations and API keys."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection

from app.accounts import keys, repository
from app.accounts.actor import DEFAULT_SCOPES, Actor, OrgKind, Scope
from app.accounts.repository import AnyRow
from app.accounts.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyPage,
    ApiKeyRotated,
    ApiKeyRotation,
    ApiKeyView,
    OrganisationCreate,
    OrganisationView,
    ShipperCreate,
    ShipperPage,
)
from app.db import autocommit, transaction
from app.domain.errors import Conflict, InvalidRequest, InvalidTransition, NotFound
from app.events.idempotency import Finish
from app.pagination import decode_cursor, page_of
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


async def organisation_for_key(
    rt: Runtime, *, org_id: uuid.UUID | None, name: str, kind: OrgKind | None
) -> tuple[OrganisationView, bool]:
    """The organisation a new key goes to, and whether it was created: the one with ``org_id``,
    else the only one called ``name`` (of ``kind``, if given), else a new one (an operator
    unless ``kind`` says otherwise). Two of that name, or one of another kind, is refused."""
    async with transaction(rt.engine, read_only=True) as conn:
        if org_id is not None:
            row = await repository.get_organisation(conn, org_id)
            if row is None:
                raise NotFound("organisation", org_id)
            found = [row]
        else:
            found = await repository.organisations_named(conn, name)
    if len(found) > 1:
        raise Conflict(f"{len(found)} organisations are called {name!r}: name one with --organisation-id")
    if found:
        view = organisation_view(found[0])
        if kind is not None and view.kind is not kind:
            raise InvalidRequest("kind", f"{view.name!r} is a {view.kind} organisation, not a {kind}")
        return view, False
    created = await create_organisation(rt, OrganisationCreate(name=name, kind=kind or OrgKind.OPERATOR))
    return created, True


def organisation_view(row: AnyRow) -> OrganisationView:
    return OrganisationView(
        id=row.id,
        name=row.name,
        kind=OrgKind(row.kind),
        marketplace_id=row.marketplace_id,
        created_at=row.created_at,
        external_id=row.external_id,
    )


async def list_organisations(rt: Runtime) -> list[OrganisationView]:
    async with transaction(rt.engine, read_only=True) as conn:
        rows = await repository.list_organisations(conn)
    return [organisation_view(row) for row in rows]


async def create_shipper(
    rt: Runtime, marketplace: Actor, request: ShipperCreate, finish: Finish | None = None
) -> OrganisationView:
    """Register a shipper of the calling marketplace; its ``external_id`` names one shipper only."""
    now = rt.clock.app_now()
    async with transaction(rt.engine) as conn:
        if request.external_id is not None:
            taken = await repository.shipper_by_external_id(
                conn, marketplace.organisation_id, request.external_id
            )
            if taken is not None:
                raise Conflict(
                    f"external_id {request.external_id!r} names shipper {taken.id} already",
                    shipper_id=str(taken.id),
                )
        org_id = await repository.insert_organisation(
            conn,
            name=request.name,
            kind=OrgKind.SHIPPER,
            marketplace_id=marketplace.organisation_id,
            external_id=request.external_id,
            at=now,
        )
        view = OrganisationView(
            id=org_id,
            name=request.name,
            kind=OrgKind.SHIPPER,
            marketplace_id=marketplace.organisation_id,
            created_at=now,
            external_id=request.external_id,
        )
        if finish is not None:
            await finish(conn, view)
    return view


async def list_shippers(
    rt: Runtime, marketplace: Actor, *, external_id: str | None, cursor: str | None, limit: int
) -> ShipperPage:
    """The calling marketplace's shippers, newest first; ``external_id`` finds one by its id."""
    before = decode_cursor(cursor)
    async with transaction(rt.engine, read_only=True) as conn:
        rows = await repository.list_shippers(
            conn, marketplace.organisation_id, external_id=external_id, before=before, limit=limit + 1
        )
    page, next_cursor = page_of(rows, limit, lambda row: (row.created_at, row.id))
    return ShipperPage(items=[organisation_view(row) for row in page], next_cursor=next_cursor)


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
        view = await _issue(rt, conn, org_id, request.name, scopes)
        if finish is not None:
            # The stored replay must not hold the secret: it keeps the key's identity only.
            await finish(conn, msgspec.structs.replace(view, key=None))
    return view


async def _issue(
    rt: Runtime, conn: AsyncConnection, org_id: uuid.UUID, name: str, scopes: Sequence[str]
) -> ApiKeyCreated:
    """A new key in the caller's transaction; only its digest is stored."""
    key = keys.new_key()
    key_id = await repository.insert_api_key(
        conn,
        organisation_id=org_id,
        name=name,
        prefix=keys.visible_prefix(key),
        key_hash=keys.digest(key),
        scopes=" ".join(scopes),
        at=rt.clock.app_now(),
    )
    return ApiKeyCreated(
        id=key_id,
        organisation_id=org_id,
        name=name,
        prefix=keys.visible_prefix(key),
        scopes=[Scope(s) for s in scopes],
        key=key,
    )


def api_key_view(row: AnyRow) -> ApiKeyView:
    return ApiKeyView(
        id=row.id,
        organisation_id=row.organisation_id,
        name=row.name,
        prefix=row.prefix,
        scopes=[Scope(s) for s in row.scopes.split()],
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


async def list_api_keys(
    rt: Runtime, owner: uuid.UUID | None, *, cursor: str | None, limit: int
) -> ApiKeyPage:
    """Keys of organisation ``owner`` (None: every organisation's), newest first."""
    before = decode_cursor(cursor)
    async with transaction(rt.engine, read_only=True) as conn:
        rows = await repository.list_api_keys(conn, owner, before=before, limit=limit + 1)
    page, next_cursor = page_of(rows, limit, lambda row: (row.created_at, row.id))
    return ApiKeyPage(items=[api_key_view(row) for row in page], next_cursor=next_cursor)


async def revoke_api_key(rt: Runtime, owner: uuid.UUID | None, key_id: uuid.UUID) -> ApiKeyView:
    """Refuse the key from now on (revoking it again changes nothing). ``owner``: the key must
    be that organisation's (None: any key, for operators); another's is not found."""
    async with transaction(rt.engine) as conn:
        now = rt.clock.now_sql(rt.dialect)
        if await repository.lock_api_key(conn, key_id, owner, now) is None:
            raise NotFound("api key", key_id)
        row = await repository.revoke_api_key(conn, key_id, now)
    return api_key_view(row)


async def rotate_api_key(
    rt: Runtime,
    owner: uuid.UUID | None,
    key_id: uuid.UUID,
    rotation: ApiKeyRotation,
    finish: Finish | None = None,
) -> ApiKeyRotated:
    """A new key with the old one's name and scopes; the old one is refused after
    ``overlap_seconds`` (or earlier, if it was to be already). The new key is in the answer
    only. A key refused already cannot be rotated."""
    async with transaction(rt.engine) as conn:
        old = await repository.lock_api_key(conn, key_id, owner, rt.clock.now_sql(rt.dialect))
        if old is None:
            raise NotFound("api key", key_id)
        if old.revoked_at is not None and old.revoked_at <= old.now:
            raise InvalidTransition("api key", key_id, "revoked", "rotate")
        revoked = await repository.revoke_api_key(
            conn, key_id, rt.clock.now_sql(rt.dialect, rotation.overlap_seconds)
        )
        assert revoked.revoked_at is not None
        created = await _issue(rt, conn, old.organisation_id, old.name, old.scopes.split())
        view = ApiKeyRotated(
            **msgspec.structs.asdict(created), replaces=key_id, previous_key_revoked_at=revoked.revoked_at
        )
        if finish is not None:
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

    def clear(self) -> None:
        """Forget every resolved key (after a revocation: the next request looks it up)."""
        self._entries.clear()

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
        row = await repository.find_active_key(conn, key_hash, rt.clock.now_sql(rt.dialect))
    if row is None:
        return None
    return Actor(
        organisation_id=row.organisation_id,
        kind=OrgKind(row.kind),
        api_key_id=row.id,
        scopes=frozenset(Scope(s) for s in row.scopes.split()),
    )
