"""Bearer API keys: the middleware resolves the caller, guards check what its key may do."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from app.accounts.actor import Actor, OrgKind, Scope
from app.accounts.service import KeyCache, authenticate
from app.runtime import Runtime


class ApiKeyMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        header = connection.headers.get("authorization", "")
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer" or not key:
            raise NotAuthorizedException(
                "send an API key as 'Authorization: Bearer <key>'",
                headers={"WWW-Authenticate": "Bearer"},
            )
        rt: Runtime = connection.app.state.runtime
        cache: KeyCache = connection.app.state.key_cache
        actor = await authenticate(rt, key.strip(), cache)
        if actor is None:
            raise NotAuthorizedException("unknown or revoked API key", headers={"WWW-Authenticate": "Bearer"})
        return AuthenticationResult(user=actor, auth=actor)


def current_actor(connection: ASGIConnection[Any, Any, Any, Any]) -> Actor:
    actor = connection.scope.get("user")
    if not isinstance(actor, Actor):
        raise NotAuthorizedException("authentication required")
    return actor


def requires(scope: Scope, *kinds: OrgKind) -> Any:
    """A guard: the key needs ``scope``, and its organisation one of ``kinds`` when given.

    A coroutine, because Litestar runs a plain function guard in a worker thread: a thread hop
    on every request for a check of two attributes."""

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        actor = current_actor(connection)
        if scope not in actor.scopes:
            raise PermissionDeniedException(f"this API key lacks the '{scope}' scope")
        if kinds and actor.kind not in kinds:
            allowed = ", ".join(sorted(kinds))
            raise PermissionDeniedException(f"only {allowed} organisations may do this")

    return guard


async def provide_actor(request: Any, rt: Runtime) -> Actor:
    # ``rt`` only orders the two providers: Litestar resolves independent dependencies of a
    # request concurrently, in a task group of their own, which costs more than they do.
    del rt
    return current_actor(request)


async def provide_runtime(request: Any) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime
