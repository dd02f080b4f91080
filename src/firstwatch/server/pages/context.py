"""Who is looking at a page, and over which window: the same checks and parsing as the API."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlencode

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse

from firstwatch.server.api.deps import cookie_key, principal, state_of, window
from firstwatch.server.auth import Principal
from firstwatch.server.pages.layout import e, page
from firstwatch.server.timeparse import iso

DEFAULT_SINCE: Final = "24h"
"""The window a page shows when the address gives none."""
_BUCKETS: Final = (
    ("1m", 60),
    ("5m", 300),
    ("15m", 900),
    ("1h", 3600),
    ("3h", 3 * 3600),
    ("6h", 6 * 3600),
    ("12h", 12 * 3600),
    ("1d", 86400),
    ("7d", 7 * 86400),
)
MAX_POINTS: Final = 48
"""Most time buckets a chart shows."""


class PageError(Exception):
    """A request a page cannot answer: shown as a small page with its status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def response(self) -> HTMLResponse:
        """The page saying so."""
        body = (
            f"<nav><a href='/'>firstwatch</a></nav><h1>{self.status}</h1><p>{e(self.message)}</p>"
        )
        return HTMLResponse(page(f"firstwatch: {self.status}", body, refresh=False), self.status)


class SignInRequired(PageError):
    """Keys are required and the request has no usable one: off to the sign-in page, and back
    to `target` (this path and query) after."""

    def __init__(self, target: str) -> None:
        super().__init__(303, "sign in to see this page")
        self.location = "/login?" + urlencode({"next": target})

    def response(self) -> HTMLResponse:
        """A 303 to the sign-in page."""
        body = f"<p><a href='{e(self.location)}'>Sign in</a> to see this page.</p>"
        return HTMLResponse(
            page("firstwatch: sign in", body, refresh=False),
            303,
            headers={"Location": self.location},
        )


def viewer(request: Request) -> Principal:
    """The caller, who needs the read scope as for the REST API (deps.principal).

    Where keys are required, a request without a key, with an unknown one, or whose sign-in
    cookie no longer reads is sent to sign in (SignInRequired).
    """
    try:
        return principal(request, "read")
    except HTTPException as exc:
        if state_of(request).settings.keys_required and (
            exc.status_code == 401 or cookie_key(request) is not None
        ):
            raise SignInRequired(_here(request)) from None
        raise PageError(exc.status_code, str(exc.detail)) from None


def _here(request: Request) -> str:
    """This request's path and query as the browser sent them (still percent-encoded)."""
    raw = request.scope.get("raw_path")
    path = raw.decode("latin-1") if raw else request.url.path
    query = request.scope.get("query_string", b"").decode("latin-1")
    return path + ("?" + query if query else "")


def signed_in(request: Request) -> bool:
    """Whether the page was reached with the sign-in cookie (it then offers to sign out)."""
    return cookie_key(request) is not None


@dataclass(frozen=True)
class Window:
    """The window a page shows: as written (for links) and resolved once (for every query, so
    they all read the same runs)."""

    since: str
    until: str | None
    since_ns: int
    until_ns: int | None

    @classmethod
    def parse(cls, since: str | None, until: str | None) -> Window:
        """Read `since` (default 24h) and `until` as the API does; PageError 400 when
        unreadable."""
        written = since or DEFAULT_SINCE
        try:
            since_ns, until_ns = window(written, until)
        except HTTPException as exc:
            raise PageError(exc.status_code, str(exc.detail)) from None
        assert since_ns is not None
        return cls(written, until or None, since_ns, until_ns)

    @property
    def since_iso(self) -> str:
        """The start, as RFC 3339, for the API's functions."""
        return iso(self.since_ns) or ""

    @property
    def until_iso(self) -> str | None:
        """The end, if one was given."""
        return iso(self.until_ns)

    def end_ns(self) -> int:
        """The end: `until`, else now."""
        return self.until_ns if self.until_ns is not None else time.time_ns()

    def bucket(self) -> tuple[str, int]:
        """The narrowest time bucket that cuts the window into at most MAX_POINTS, written as
        the API reads it and in nanoseconds."""
        span_s = max(self.end_ns() - self.since_ns, 1) / 1e9
        for name, seconds in _BUCKETS:
            if span_s / seconds <= MAX_POINTS:
                return name, seconds * 1_000_000_000
        name, seconds = _BUCKETS[-1]
        return name, seconds * 1_000_000_000

    def bucket_starts(self, size_ns: int) -> list[int]:
        """The starts of the buckets of `size_ns` that cover the window (as the store rounds a
        start down to a multiple of the bucket)."""
        first = self.since_ns // size_ns * size_ns
        last = (self.end_ns() - 1) // size_ns * size_ns
        return list(range(first, last + 1, size_ns))

    def describe(self) -> str:
        """The window in words."""
        if self.until is None:
            return f"since {self.since}" if "-" in self.since else f"last {self.since}"
        return f"{self.since} to {self.until}"
