"""The dashboard in real headless Chromium: what a user sees and clicks.

One server per module, fed through the OpenTelemetry SDK and its OTLP/HTTP exporter: an agent
failing on rate limits at its model call, a healthy one, and one whose name and error message
are markup that would run if a page injected them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Status, StatusCode
from playwright.sync_api import Browser, Dialog, Locator, Page, expect

from serverproc import ServerProcess, start_server, wait_for

pytestmark = pytest.mark.browser

S = 1_000_000_000
FAILING, HEALTHY = "billing-agent", "notes-agent"
HOSTILE = "<script>window.__pwned = 1; alert('agent')</script>"
HOSTILE_MESSAGE = "<img src=x onerror=\"window.__pwned = 2; alert('message')\">"
RUNS = 8
RATE_LIMIT = "Rate limit reached for gpt-4o-mini: Limit 500, Used 500, Requested 1."


def _fail(span: trace.Span, error_type: str, message: str) -> None:
    span.add_event("exception", {"exception.type": error_type, "exception.message": message})
    span.set_status(Status(StatusCode.ERROR, message))


def emit(url: str, now_ns: int) -> int:
    """Runs of the three agents over the last few minutes; returns how many were sent."""
    provider = TracerProvider(
        resource=Resource.create(
            {"service.name": "browser-fleet", "deployment.environment.name": "production"}
        )
    )
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{url}/v1/traces")))
    tracer = provider.get_tracer("test_dashboard")
    sent = 0
    for i in range(RUNS):
        for n, agent in enumerate((FAILING, HEALTHY, HOSTILE)):
            at = now_ns - (RUNS - i) * 20 * S + n * S
            root = tracer.start_span(
                "handle",
                start_time=at,
                attributes={"firstwatch.kind": "run", "firstwatch.agent": agent},
            )
            inside = trace.set_span_in_context(root)
            model = tracer.start_span(
                "call_model",
                context=inside,
                start_time=at + 10_000_000,
                attributes={"firstwatch.kind": "step"},
            )
            call = tracer.start_span(
                "chat gpt-4o-mini",
                context=trace.set_span_in_context(model),
                start_time=at + 20_000_000,
                attributes={
                    "firstwatch.kind": "llm",
                    "gen_ai.provider.name": "openai",
                    "gen_ai.request.model": "gpt-4o-mini",
                },
            )
            limited = agent == FAILING and i % 4 != 0
            if limited or (agent == HOSTILE and i == 0):
                error_type = "openai.RateLimitError" if limited else "ValueError"
                message = RATE_LIMIT if limited else HOSTILE_MESSAGE
                call.set_attribute("http.response.status_code", 429 if limited else 200)
                for span, end in ((call, 300), (model, 310), (root, 320)):
                    _fail(span, error_type, message)
                    span.end(end_time=at + end * 1_000_000)
            else:
                call.set_attribute("http.response.status_code", 200)
                for span, end in ((call, 700), (model, 710), (root, 800)):
                    span.end(end_time=at + end * 1_000_000)
            sent += 1
    provider.shutdown()
    return sent


@dataclass(frozen=True)
class Dashboard:
    """A server holding the fleet's runs."""

    server: ServerProcess
    url: str


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    server = start_server(tmp_path_factory.mktemp("dashboard"))
    try:
        sent = emit(server.url, time.time_ns())
        with server.client() as api:
            wait_for(
                lambda: sum(r["runs"] for r in api.get("/api/v1/agents").json()["agents"]) == sent,
                timeout=60,
                what=f"{sent} runs",
            )
        yield Dashboard(server, server.url)
    finally:
        server.stop()


@dataclass
class Seen:
    """What a page did behind the user's back: dialogs opened, script errors."""

    dialogs: list[str]
    errors: list[str]
    failed: list[str]  # requests answered 4xx or 5xx, or not at all


@pytest.fixture
def page(browser: Browser) -> Iterator[tuple[Page, Seen]]:
    context = browser.new_context()
    opened = context.new_page()
    seen = Seen([], [], [])

    def on_dialog(dialog: Dialog) -> None:
        seen.dialogs.append(dialog.message)
        dialog.dismiss()

    opened.on("dialog", on_dialog)
    opened.on("pageerror", lambda error: seen.errors.append(str(error)))
    opened.on("requestfailed", lambda request: seen.failed.append(request.url))
    opened.on(
        "response",
        lambda response: (
            seen.failed.append(f"{response.status} {response.url}")
            if response.status >= 400
            else None
        ),
    )
    try:
        yield opened, seen
    finally:
        context.close()


def agent_row(page: Page, agent: str) -> Locator:
    """The overview's row of an agent in production."""
    return page.locator("tr[data-environment='production']").filter(
        has=page.get_by_role("link", name=agent, exact=True)
    )


def test_overview_shows_the_failing_agent_as_failing_with_its_class(
    dashboard: Dashboard, page: tuple[Page, Seen]
) -> None:
    view, seen = page
    view.goto(dashboard.url + "/")
    failing = agent_row(view, FAILING)
    expect(failing).to_have_count(1)
    expect(failing.locator("td.status")).to_have_text("failing")
    expect(failing.locator("td.reason")).to_contain_text("rate_limited")
    expect(failing.locator("td.classes")).to_contain_text("rate_limited 6")
    healthy = agent_row(view, HEALTHY)
    expect(healthy.locator("td.status")).to_have_text("healthy")
    # Most broken first.
    expect(view.locator("tbody tr td.agent").first).to_have_text(FAILING)
    # The tab's icon is inline and draws (without one the browser asks for /favicon.ico: 404).
    icon_width = view.evaluate(
        """() => new Promise(done => {
            const img = new Image();
            img.onload = () => done(img.naturalWidth);
            img.onerror = () => done(0);
            img.src = document.querySelector("link[rel='icon']").href;
        })"""
    )
    assert icon_width > 0
    assert seen.errors == [] and seen.failed == []


def test_clicking_through_overview_agent_and_run_shows_the_step_tree(
    dashboard: Dashboard, page: tuple[Page, Seen]
) -> None:
    view, seen = page
    view.goto(dashboard.url + "/")
    agent_row(view, FAILING).get_by_role("link", name=FAILING).click()
    expect(view.get_by_role("heading", level=1)).to_have_text(FAILING)
    rate_limited = view.locator("tr[data-class='rate_limited']")
    expect(rate_limited).to_contain_text("call_model 6")
    expect(rate_limited.locator(".msg")).to_have_text(RATE_LIMIT)
    rate_limited.get_by_role("link", name="example run").click()

    expect(view.get_by_role("heading", level=1)).to_contain_text("Trace")
    steps = view.locator("table.tree tr.step")
    expect(steps).to_have_count(3)
    names = [steps.nth(i).locator("td.name") for i in range(3)]
    expect(names[0]).to_have_text("handle")
    expect(names[1]).to_contain_text("call_model")
    expect(names[2]).to_contain_text("chat gpt-4o-mini")
    # Each level sits further right than its parent.
    lefts = []
    for name in names:
        box = name.locator("xpath=./*[last()]|./b").last.bounding_box()
        assert box is not None
        lefts.append(box["x"])
    assert lefts[0] < lefts[1] < lefts[2]
    llm = steps.nth(2)
    expect(llm.locator("td.error-cell")).to_contain_text("rate_limited")
    expect(llm.locator("td.error-cell .msg")).to_have_text(RATE_LIMIT)
    expect(llm).to_contain_text("HTTP 429")
    expect(llm).to_contain_text("openai")
    assert seen.dialogs == [] and seen.errors == [] and seen.failed == []


def test_a_hostile_agent_name_is_shown_as_text_not_run(
    dashboard: Dashboard, page: tuple[Page, Seen]
) -> None:
    view, seen = page
    view.goto(dashboard.url + "/")
    link = agent_row(view, HOSTILE).get_by_role("link", name=HOSTILE, exact=True)
    expect(link).to_be_visible()
    link.click()
    expect(view.get_by_role("heading", level=1)).to_have_text(HOSTILE)
    sample = view.locator("tr[data-class] .msg").filter(has_text="onerror")
    expect(sample).to_have_text(HOSTILE_MESSAGE)
    sample.locator("xpath=..").get_by_role("link", name="example run").click()
    expect(view.locator("table.tree .msg").first).to_have_text(HOSTILE_MESSAGE)
    assert view.evaluate("() => window.__pwned") is None
    assert view.locator("img").count() == 0
    assert seen.dialogs == [] and seen.errors == []
