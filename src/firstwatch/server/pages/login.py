"""`/login` and `/logout`: signing a browser in where keys are required.

A browser cannot send a key header, so the sign-in form keeps a read or admin key in the
`firstwatch_key` cookie (HttpOnly, SameSite=Strict, Secure over https). The cookie counts as a
key only for GET and HEAD (api/deps.py), so it reads pages and `/api/v1`, and never writes.
"""

from __future__ import annotations

from typing import Annotated, Any, Final
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from firstwatch.server.api.deps import state_of
from firstwatch.server.auth import KEY_COOKIE, AuthError, authenticate
from firstwatch.server.pages.layout import e, page

router = APIRouter(include_in_schema=False)

MAX_FORM_BYTES: Final = 16 * 1024
"""Largest sign-in form read; a key is about 50 characters."""


def safe_next(target: str | None) -> str:
    """`target` when it is a path on this server, else `/`: never another site, whether
    written `//host`, `https://host` or with the backslashes and control characters browsers
    read as slashes or drop."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    if any(c == "\\" or ord(c) < 0x20 or ord(c) == 0x7F for c in target):
        return "/"
    parts = urlsplit(target)
    return "/" if parts.scheme or parts.netloc else target


def _cookie_flags(request: Request) -> dict[str, Any]:
    """How the key cookie is set and cleared: the whole site, no script, no other site, and
    only over https when the request came that way."""
    return {
        "path": "/",
        "httponly": True,
        "samesite": "strict",
        "secure": request.url.scheme == "https",
    }


def _cross_site(request: Request) -> bool:
    """Whether a browser says the form was posted from another site (login CSRF)."""
    return request.headers.get("sec-fetch-site", "").lower() == "cross-site"


def _form(target: str, refused: str | None = None) -> str:
    note = f"<p class='refused' role='alert'>{e(refused)}</p>" if refused else ""
    return (
        "<h1>firstwatch</h1>"
        "<div class='sub'>This server requires an API key. Sign in with a key of scope "
        "<code>read</code> or <code>admin</code>.</div>"
        + note
        + "<form class='signin' method='post' action='/login'>"
        f"<input type='hidden' name='next' value='{e(target)}'>"
        "<label>API key<br><input type='password' name='key' autocomplete='current-password' "
        "required autofocus></label>"
        "<button type='submit'>Sign in</button></form>"
        "<p class='note'>This browser keeps the key in a cookie until you sign out or close "
        "it.</p>"
    )


def _not_required() -> HTMLResponse:
    body = (
        "<h1>firstwatch</h1>"
        "<p>This server does not require keys: the dashboard is open to anyone who reaches "
        "it.</p><p><a href='/'>Go to the dashboard</a></p>"
    )
    return HTMLResponse(page("firstwatch: sign in", body, refresh=False))


def _refuse(target: str, message: str) -> HTMLResponse:
    return HTMLResponse(page("firstwatch: sign in", _form(target, message), refresh=False), 401)


async def _form_fields(request: Request) -> dict[str, list[str]] | None:
    """The posted form, or None when it is larger than MAX_FORM_BYTES."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_FORM_BYTES:
            return None
        chunks.append(chunk)
    return parse_qs(b"".join(chunks).decode("utf-8", "replace"), keep_blank_values=True)


@router.get("/login", response_class=HTMLResponse)
def sign_in_form(
    request: Request, then: Annotated[str | None, Query(alias="next")] = None
) -> HTMLResponse:
    """The sign-in form; where keys are not required, a note saying so."""
    if not state_of(request).settings.keys_required:
        return _not_required()
    return HTMLResponse(page("firstwatch: sign in", _form(safe_next(then)), refresh=False))


@router.post("/login", response_class=HTMLResponse)
async def sign_in(request: Request) -> Response:
    """Check the posted key may read, keep it in the cookie and go on to `next`; 401 and the
    form again when it may not."""
    state = state_of(request)
    if not state.settings.keys_required:
        return _not_required()
    if _cross_site(request):
        refused = "<p>Sign in from this server's own sign-in page.</p>"
        return HTMLResponse(page("firstwatch: 403", refused, refresh=False), 403)
    fields = await _form_fields(request)
    if fields is None:
        return HTMLResponse(
            page("firstwatch: 413", "<p>The form is too large.</p>", refresh=False), 413
        )
    target = safe_next((fields.get("next") or ["/"])[0])
    key = (fields.get("key") or [""])[0].strip()
    if not key:
        return _refuse(target, "Enter an API key.")
    try:
        await run_in_threadpool(authenticate, state.store, key, keys_required=True, need="read")
    except AuthError as exc:
        return _refuse(
            target,
            "That key may not read the dashboard: use a key of scope read or admin."
            if exc.status == 403
            else "That key is not valid on this server.",
        )
    going = RedirectResponse(target, 303)
    going.set_cookie(KEY_COOKIE, key, **_cookie_flags(request))
    return going


@router.post("/logout")
def sign_out(request: Request) -> Response:
    """Forget the cookie and go back to the sign-in form."""
    going = RedirectResponse("/login", 303)
    going.delete_cookie(KEY_COOKIE, **_cookie_flags(request))
    return going
