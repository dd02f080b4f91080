"""Signing in to the dashboard in real headless Chromium, on a server that requires keys.

The server is started with `--require-keys`; its admin key (from the start banner) makes an
ingest and a read key for project `fleet`, and a few runs of one agent arrive through the
OpenTelemetry SDK's OTLP/HTTP exporter with the ingest key.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from playwright.sync_api import Browser, Page, expect

from serverproc import ServerProcess, start_server, wait_for

pytestmark = pytest.mark.browser

AGENT = "ledger-agent"
RUNS = 4
S = 1_000_000_000


def emit(url: str, key: str, now_ns: int) -> None:
    """RUNS runs of AGENT over the last minute, exported with `key`."""
    provider = TracerProvider(
        resource=Resource.create(
            {"service.name": "signin-fleet", "deployment.environment.name": "production"}
        )
    )
    exporter = OTLPSpanExporter(
        endpoint=f"{url}/v1/traces", headers={"Authorization": f"Bearer {key}"}
    )
    provider.add_span_processor(BatchSpanProcessor(exporter))
    tracer = provider.get_tracer("test_sign_in")
    for i in range(RUNS):
        at = now_ns - (RUNS - i) * 10 * S
        run = tracer.start_span(
            "handle",
            start_time=at,
            attributes={"firstwatch.kind": "run", "firstwatch.agent": AGENT},
        )
        run.end(end_time=at + 400_000_000)
    provider.shutdown()


@dataclass(frozen=True)
class Keyed:
    """A server that requires keys, and the project's read key."""

    server: ServerProcess
    url: str
    read: str


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Keyed]:
    server = start_server(tmp_path_factory.mktemp("signin"), extra_args=("--require-keys",))
    try:
        keys = server.new_keys(server.admin_key(), "fleet", ("ingest", "read"))
        emit(server.url, keys["ingest"], time.time_ns())
        with server.client(keys["read"]) as reader:
            wait_for(
                lambda: (
                    sum(a["runs"] for a in reader.get("/api/v1/agents").json()["agents"]) == RUNS
                ),
                timeout=60,
                what=f"{RUNS} runs",
            )
        yield Keyed(server, server.url, keys["read"])
    finally:
        server.stop()


@pytest.fixture
def view(browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    try:
        yield context.new_page()
    finally:
        context.close()


def sign_in_url(keyed: Keyed, then: str) -> re.Pattern[str]:
    return re.compile(re.escape(f"{keyed.url}/login?next={quote(then, safe='')}") + "$")


def test_sign_in_then_browse_then_sign_out(keyed: Keyed, view: Page) -> None:
    view.goto(keyed.url + "/")
    expect(view).to_have_url(sign_in_url(keyed, "/"))
    key_field = view.locator("input[name='key']")
    expect(key_field).to_have_attribute("type", "password")

    key_field.fill("fw_" + "x" * 43)
    view.get_by_role("button", name="Sign in").click()
    expect(view.get_by_role("alert")).to_have_text("That key is not valid on this server.")
    expect(view.locator("input[name='key']")).to_have_value("")
    assert view.context.cookies() == []

    view.locator("input[name='key']").fill(keyed.read)
    view.get_by_role("button", name="Sign in").click()
    expect(view).to_have_url(keyed.url + "/")
    expect(view.get_by_role("heading", level=1)).to_have_text("firstwatch")
    expect(view.locator(".sub")).to_contain_text("project fleet")
    agent = view.locator("td.agent").get_by_role("link", name=AGENT, exact=True)
    expect(agent).to_be_visible()
    assert keyed.read not in view.content()
    (cookie,) = view.context.cookies()
    assert (cookie["name"], cookie["value"]) == ("firstwatch_key", keyed.read)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    assert view.evaluate("() => document.cookie") == ""

    agent.click()
    expect(view.get_by_role("heading", level=1)).to_have_text(AGENT)
    expect(view.locator("#runs ~ table tbody tr")).to_have_count(RUNS)

    view.get_by_role("button", name="sign out").click()
    expect(view).to_have_url(keyed.url + "/login")
    expect(view.locator("input[name='key']")).to_be_visible()
    assert view.context.cookies() == []
    view.goto(keyed.url + "/")
    expect(view).to_have_url(sign_in_url(keyed, "/"))


def test_signing_in_returns_to_the_page_asked_for(keyed: Keyed, view: Page) -> None:
    asked = f"/agents/{AGENT}?since=1h"
    view.goto(keyed.url + asked)
    expect(view).to_have_url(sign_in_url(keyed, asked))
    view.locator("input[name='key']").fill(keyed.read)
    view.get_by_role("button", name="Sign in").click()
    expect(view).to_have_url(keyed.url + asked)
    expect(view.get_by_role("heading", level=1)).to_have_text(AGENT)
    expect(view.get_by_role("button", name="sign out")).to_be_visible()
