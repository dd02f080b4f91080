"""API keys: per project, scoped, stored hashed (design.md §5 "Ingest and keys")."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

from firstwatch.store.base import ApiKey, Store

SCOPES = ("ingest", "read", "admin")
KEY_PREFIX = "fw_"
KEY_COOKIE = "firstwatch_key"
"""The cookie the dashboard's sign-in keeps a key in (pages/login.py)."""
COOKIE_METHODS = frozenset({"GET", "HEAD"})
"""Methods for which the cookie stands in for a key header: reads only, so another site cannot
make a signed-in browser write."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: a project and what the key may do."""

    project: str
    scope: str
    key_id: str | None

    def may(self, scope: str) -> bool:
        """Admin may do everything; ingest and read only their own thing."""
        return self.scope == "admin" or self.scope == scope


KEY_CHECK_RETRY_S = 5
"""Seconds a caller is asked to wait when its key could not be checked (the store did not
answer): 503 with Retry-After, which exporters retry, rather than a 500 they drop."""


class AuthError(Exception):
    """A missing, unknown or insufficient key (`status` 401 or 403), or one that could not be
    checked (503: retry after `KEY_CHECK_RETRY_S`)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def hash_key(key: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_key(store: Store, project: str, scope: str) -> str:
    """Create a key, store its hash, and return the key (shown once)."""
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}, not {scope!r}")
    if not project or len(project) > 128:
        raise ValueError("project must be a non-empty name of at most 128 characters")
    secret = secrets.token_urlsafe(32)
    key = f"{KEY_PREFIX}{secret}"
    key_id = secret[:8]
    store.add_key(
        ApiKey(
            key_id=key_id, project=project, scope=scope, prefix=key[:11], created_ns=time.time_ns()
        ),
        hash_key(key),
    )
    return key


def key_from_headers(authorization: str | None, x_api_key: str | None) -> str | None:
    """The key a request carries: `Authorization: Bearer …` or `X-API-Key`."""
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        return authorization.strip()
    if x_api_key:
        return x_api_key.strip()
    return None


def authenticate(store: Store, key: str | None, *, keys_required: bool, need: str) -> Principal:
    """Resolve a request's principal and check it may do `need`.

    Without a key, and only when keys are not required (loopback), the caller acts on the
    `default` project with every right.
    """
    if key is None:
        if keys_required:
            raise AuthError(401, "an API key is required: send 'Authorization: Bearer <key>'")
        return Principal(project="default", scope="admin", key_id=None)
    try:
        found = store.key_by_hash(hash_key(key))
    except Exception as exc:
        raise AuthError(
            503, f"the API key could not be checked now ({type(exc).__name__}); retry later"
        ) from exc
    if found is None:
        raise AuthError(401, "unknown API key")
    principal = Principal(project=found.project, scope=found.scope, key_id=found.key_id)
    if not principal.may(need):
        raise AuthError(403, f"this key has scope '{found.scope}'; this needs '{need}'")
    return principal
