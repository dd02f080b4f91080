"""Signing a browser in to the dashboard where keys are required: `/login`, its cookie, `/logout`.

One server with `--require-keys` for the module: its admin key from the start banner, a read
and an ingest key for project `acme`, and one run of `acme-agent` sent with the ingest key.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx
import pytest

from serverproc import ServerProcess, start_server, wait_for

pytestmark = pytest.mark.integration

AGENT = "acme-agent"
TRACE = "5a" * 16
COOKIE = "firstwatch_key"


def _attr(key: str, value: str) -> dict[str, object]:
    return {"key": key, "value": {"stringValue": value}}


def _run(agent: str, trace_id: str, start_ns: int) -> dict[str, object]:
    """OTLP/JSON: one run span of `agent`, 250 ms long, ok."""
    span = {
        "traceId": trace_id,
        "spanId": secrets.token_hex(8),
        "name": "handle",
        "kind": 1,
        "startTimeUnixNano": str(start_ns),
        "endTimeUnixNano": str(start_ns + 250_000_000),
        "attributes": [_attr("firstwatch.kind", "run"), _attr("firstwatch.agent", agent)],
        "status": {"code": 1},
    }
    resource = {"attributes": [_attr("deployment.environment.name", "production")]}
    return {"resourceSpans": [{"resource": resource, "scopeSpans": [{"spans": [span]}]}]}


@dataclass(frozen=True)
class Keyed:
    """A server that requires keys, and its keys."""

    server: ServerProcess
    admin: str
    read: str
    ingest: str

    def browser(self, key: str | None = None) -> httpx.Client:
        """A client that sends no key header, only the sign-in cookie when given one."""
        cookies = {COOKIE: key} if key else None
        return httpx.Client(base_url=self.server.url, cookies=cookies, timeout=30)


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Keyed]:
    server = start_server(tmp_path_factory.mktemp("signin"), extra_args=("--require-keys",))
    try:
        admin_key = server.admin_key()
        keys = server.new_keys(admin_key, "acme", ("read", "ingest"))
        with server.client(keys["ingest"]) as ingest:
            sent = ingest.post("/v1/traces", json=_run(AGENT, TRACE, time.time_ns() - 10**9))
            assert sent.status_code == 200, sent.text
        with server.client(keys["read"]) as reader:
            wait_for(lambda: reader.get("/api/v1/agents").json()["agents"], what="acme's run")
        yield Keyed(server, admin_key, keys["read"], keys["ingest"])
    finally:
        server.stop()


def _sign_in(k: Keyed, key: str, then: str = "/") -> httpx.Response:
    with k.browser() as anonymous:
        return anonymous.post(
            "/login",
            content=urlencode({"key": key, "next": then}),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )


@pytest.mark.parametrize("path", ["/", f"/agents/{AGENT}?since=1h", f"/runs/{TRACE}"])
def test_a_page_without_a_key_sends_the_browser_to_sign_in(keyed: Keyed, path: str) -> None:
    with keyed.browser() as anonymous:
        sent = anonymous.get(path)
    assert sent.status_code == 303
    assert sent.headers["location"] == "/login?" + urlencode({"next": path})
    assert "<table" not in sent.text and "project <b>" not in sent.text
    with keyed.browser() as anonymous:
        form = anonymous.get(sent.headers["location"])
    assert form.status_code == 200
    assert "type='password'" in form.text and "name='key'" in form.text
    assert f"name='next' value='{path}'" in form.text


def test_a_cookie_whose_key_is_unknown_is_sent_to_sign_in_again(keyed: Keyed) -> None:
    with keyed.browser("fw_" + secrets.token_urlsafe(32)) as stale:
        sent = stale.get(f"/agents/{AGENT}")
        assert sent.status_code == 303
        assert sent.headers["location"] == "/login?" + urlencode({"next": f"/agents/{AGENT}"})
        assert stale.get("/api/v1/agents").status_code == 401


def test_signing_in_with_a_read_key_sets_a_strict_http_only_cookie(keyed: Keyed) -> None:
    signed = _sign_in(keyed, keyed.read, f"/agents/{AGENT}?since=1h")
    assert signed.status_code == 303
    assert signed.headers["location"] == f"/agents/{AGENT}?since=1h"
    (cookie,) = signed.headers.get_list("set-cookie")
    name_value, *flags = [part.strip() for part in cookie.split(";")]
    assert name_value == f"{COOKIE}={keyed.read}"
    lowered = {flag.lower() for flag in flags}
    assert {"httponly", "path=/", "samesite=strict"} <= lowered
    assert "secure" not in lowered  # plain http here; https would add it
    assert not any(flag.startswith(("max-age", "expires")) for flag in lowered)


def test_the_cookie_reads_pages_and_the_api_of_its_project(keyed: Keyed) -> None:
    with keyed.browser(keyed.read) as signed:
        overview = signed.get("/")
        assert overview.status_code == 200
        assert AGENT in overview.text and "project <b>acme</b>" in overview.text
        assert "action='/logout'" in overview.text
        assert keyed.read not in overview.text
        for path in (f"/agents/{AGENT}", f"/runs/{TRACE}"):
            shown = signed.get(path)
            assert shown.status_code == 200 and "action='/logout'" in shown.text, path
        agents = signed.get("/api/v1/agents")
        assert agents.status_code == 200
        assert [a["agent"] for a in agents.json()["agents"]] == [AGENT]


def test_a_page_read_with_a_key_header_offers_no_sign_out(keyed: Keyed) -> None:
    with keyed.server.client(keyed.read) as header:
        shown = header.get("/")
    assert shown.status_code == 200 and AGENT in shown.text
    assert "/logout" not in shown.text


def test_the_cookie_never_writes(keyed: Keyed) -> None:
    with keyed.browser(keyed.admin) as signed:
        assert signed.get("/api/v1/agents").status_code == 200  # reads project default
        made = signed.post("/api/v1/keys", json={"project": "evil", "scope": "admin"})
        assert made.status_code == 401
        sent = signed.post("/v1/traces", json=_run("cookie-agent", "7b" * 16, time.time_ns()))
        assert sent.status_code == 401
    with keyed.browser(keyed.read) as signed:
        sent = signed.post("/v1/traces", json=_run("cookie-agent", "7c" * 16, time.time_ns()))
        assert sent.status_code == 401
    with keyed.server.client(keyed.admin) as admin:
        assert "cookie-agent" not in admin.get("/api/v1/agents").text


def test_next_on_this_server_is_kept_with_its_query(keyed: Keyed) -> None:
    then = f"/runs/{TRACE}?since=7d&until=1h"
    signed = _sign_in(keyed, keyed.read, then)
    assert signed.status_code == 303 and signed.headers["location"] == then


@pytest.mark.parametrize(
    "then",
    [
        "//evil.example",
        "https://evil.example",
        "https://evil.example/",
        "/\\evil.example",
        "/\t/evil.example",
        "javascript:alert(1)",
        "evil.example",
        "",
    ],
)
def test_next_elsewhere_than_this_server_goes_to_the_overview(keyed: Keyed, then: str) -> None:
    signed = _sign_in(keyed, keyed.read, then)
    assert signed.status_code == 303
    assert signed.headers["location"] == "/"
    with keyed.browser() as anonymous:
        form = anonymous.get("/login", params={"next": then})
    assert "evil" not in form.text and "javascript" not in form.text


@pytest.mark.parametrize("which", ["ingest", "unknown", "empty"])
def test_a_key_that_may_not_read_is_refused_at_sign_in(keyed: Keyed, which: str) -> None:
    key = {"ingest": keyed.ingest, "unknown": "fw_" + secrets.token_urlsafe(32), "empty": ""}[which]
    refused = _sign_in(keyed, key, "/")
    assert refused.status_code == 401
    assert "set-cookie" not in refused.headers
    assert "type='password'" in refused.text and "role='alert'" in refused.text
    if key:
        assert key not in refused.text
    message = {
        "ingest": "may not read the dashboard",
        "unknown": "not valid on this server",
        "empty": "Enter an API key",
    }[which]
    assert message in refused.text


def test_a_sign_in_posted_from_another_site_is_refused(keyed: Keyed) -> None:
    with keyed.browser() as anonymous:
        refused = anonymous.post(
            "/login",
            content=urlencode({"key": keyed.read, "next": "/"}),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Sec-Fetch-Site": "cross-site",
            },
        )
    assert refused.status_code == 403 and "set-cookie" not in refused.headers


def test_signing_out_clears_the_cookie(keyed: Keyed) -> None:
    with keyed.browser() as browser:
        signed = browser.post(
            "/login",
            content=urlencode({"key": keyed.read, "next": "/"}),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert signed.status_code == 303
        assert browser.get("/").status_code == 200
        out = browser.post("/logout")
        assert out.status_code == 303 and out.headers["location"] == "/login"
        (cookie,) = out.headers.get_list("set-cookie")
        assert cookie.startswith(f'{COOKIE}="";') and "max-age=0" in cookie.lower()
        assert keyed.read not in cookie
        assert not browser.cookies
        assert browser.get("/").status_code == 303


def test_keys_signed_in_with_are_not_logged(keyed: Keyed) -> None:
    assert _sign_in(keyed, keyed.read).status_code == 303
    assert _sign_in(keyed, keyed.ingest).status_code == 401
    with keyed.browser(keyed.read) as signed:
        assert signed.get("/").status_code == 200
    logged = keyed.server.output()
    assert keyed.read not in logged and keyed.ingest not in logged


def test_without_required_keys_pages_need_no_sign_in(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as anonymous:
        sent = anonymous.post("/v1/traces", json=_run(AGENT, TRACE, time.time_ns() - 10**9))
        assert sent.status_code == 200
        wait_for(lambda: anonymous.get("/api/v1/agents").json()["agents"], what="the run")
        for path in ("/", f"/agents/{AGENT}", f"/runs/{TRACE}"):
            shown = anonymous.get(path)
            assert shown.status_code == 200 and AGENT in shown.text, path
            assert "/logout" not in shown.text
        form = anonymous.get("/login", params={"next": "/"})
        assert form.status_code == 200 and "does not require keys" in form.text
        assert "type='password'" not in form.text and "href='/'" in form.text
        posted = anonymous.post(
            "/login",
            content=urlencode({"key": "fw_anything", "next": "/"}),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert posted.status_code == 200 and "set-cookie" not in posted.headers
    with httpx.Client(base_url=server.url, cookies={COOKIE: "fw_stale"}, timeout=30) as stale:
        # A cookie left from a server that required keys changes nothing here.
        assert stale.get("/").status_code == 200
