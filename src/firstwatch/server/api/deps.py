"""Request helpers shared by the REST routers: the caller and the time window."""

from __future__ import annotations

from typing import Annotated

from fastapi import HTTPException, Query, Request

from firstwatch.server.auth import (
    COOKIE_METHODS,
    KEY_CHECK_RETRY_S,
    KEY_COOKIE,
    AuthError,
    Principal,
    authenticate,
    key_from_headers,
)
from firstwatch.server.state import AppState
from firstwatch.server.timeparse import parse_time

SinceParam = Annotated[
    str | None, Query(description="RFC 3339 or relative (24h); default: all time.")
]
UntilParam = Annotated[str | None, Query(description="RFC 3339 or relative (1h).")]


def state_of(request: Request) -> AppState:
    """The server state."""
    state: AppState = request.app.state.firstwatch
    return state


def cookie_key(request: Request) -> str | None:
    """The key of the dashboard's sign-in cookie, when it stands in for a key header: keys are
    required, the request sends no key header, and its method only reads (GET, HEAD)."""
    if request.method not in COOKIE_METHODS or not state_of(request).settings.keys_required:
        return None
    if request.headers.get("authorization") or request.headers.get("x-api-key"):
        return None
    return request.cookies.get(KEY_COOKIE) or None


def request_key(request: Request) -> str | None:
    """The key a request carries: its header, else the sign-in cookie (`cookie_key`)."""
    sent = key_from_headers(request.headers.get("authorization"), request.headers.get("x-api-key"))
    return sent if sent is not None else cookie_key(request)


def principal(request: Request, need: str = "read") -> Principal:
    """Authenticate the caller for `need`, or answer 401/403."""
    state = state_of(request)
    try:
        return authenticate(
            state.store,
            request_key(request),
            keys_required=state.settings.keys_required,
            need=need,
        )
    except AuthError as exc:
        retry = {"Retry-After": str(KEY_CHECK_RETRY_S)} if exc.status == 503 else None
        raise HTTPException(exc.status, exc.message, headers=retry) from None


def reader(request: Request) -> Principal:
    """Dependency: a caller allowed to read."""
    return principal(request, "read")


def admin(request: Request) -> Principal:
    """Dependency: a caller allowed to administer."""
    return principal(request, "admin")


def window(since: str | None, until: str | None) -> tuple[int | None, int | None]:
    """Parse `since`/`until`, answering 400 with the accepted forms when unreadable."""
    try:
        return parse_time(since), parse_time(until)
    except ValueError as exc:
        raise HTTPException(400, str(exc)) from None
