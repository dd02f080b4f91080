"""Request helpers shared by the REST routers: the caller and the time window."""

from __future__ import annotations

from typing import Annotated

from fastapi import HTTPException, Query, Request

from firstwatch.server.auth import AuthError, Principal, authenticate, key_from_headers
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


def principal(request: Request, need: str = "read") -> Principal:
    """Authenticate the caller for `need`, or answer 401/403."""
    state = state_of(request)
    try:
        return authenticate(
            state.store,
            key_from_headers(
                request.headers.get("authorization"), request.headers.get("x-api-key")
            ),
            keys_required=state.settings.keys_required,
            need=need,
        )
    except AuthError as exc:
        raise HTTPException(exc.status, exc.message) from None


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
