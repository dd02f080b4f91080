"""Error classes and agent status end to end: the OpenTelemetry SDK and its OTLP/HTTP exporter,
with explicit timestamps, into a real `firstwatch serve`; then the REST API and the CLI.

Five agents in production over the last half hour: one healthy, one failing on rate limits at
its model call, one degraded by timeouts at its registry lookup, one whose runs end OK but fail
an output check, and one that ran every minute until three hours ago and then went quiet.
Staging ran the first three a little earlier: clean, but for one timeout.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Status, StatusCode

from serverproc import ServerProcess, start_server, wait_for

pytestmark = pytest.mark.integration

S = 1_000_000_000
MINUTE = 60 * S
HEALTHY, RATE, TIMEOUT, CHECKS, QUIET = (
    "healthy-agent",
    "rate-agent",
    "timeout-agent",
    "checks-agent",
    "quiet-agent",
)
PRODUCTION_RUNS = 20
QUIET_RUNS = 30
STAGING_RUNS = 10


@dataclass(frozen=True)
class Run:
    """One run to send: its agent, environment, start, and what goes wrong in it."""

    agent: str
    environment: str
    start_ns: int
    fail: str | None = None
    check_fails: bool = False


def plan(now_ns: int) -> list[Run]:
    runs: list[Run] = []
    for i in range(PRODUCTION_RUNS):
        start = now_ns - 30 * MINUTE + i * 90 * S
        runs.append(Run(HEALTHY, "production", start))
        runs.append(Run(RATE, "production", start + S, "rate" if i % 2 else None))
        runs.append(
            Run(TIMEOUT, "production", start + 2 * S, "timeout" if i in (3, 9, 15) else None)
        )
        runs.append(Run(CHECKS, "production", start + 3 * S, check_fails=i % 5 == 0))
    for i in range(QUIET_RUNS):
        runs.append(
            Run(QUIET, "production", now_ns - 3 * 60 * MINUTE - (QUIET_RUNS - 1 - i) * MINUTE)
        )
    for i in range(STAGING_RUNS):
        start = now_ns - 50 * MINUTE + i * MINUTE
        for agent in (HEALTHY, RATE, TIMEOUT):
            fail = "timeout" if agent == TIMEOUT and i == 4 else None
            runs.append(Run(agent, "staging", start, fail))
    return runs


def _fail(span: trace.Span, error_type: str, message: str) -> None:
    span.add_event("exception", {"exception.type": error_type, "exception.message": message})
    span.set_status(Status(StatusCode.ERROR, message))


def emit(url: str, runs: list[Run]) -> None:
    """Send the runs through the OpenTelemetry SDK with their own timestamps."""
    providers: dict[str, TracerProvider] = {}
    for n, run in enumerate(runs):
        provider = providers.get(run.environment)
        if provider is None:
            provider = TracerProvider(
                resource=Resource.create(
                    {"service.name": "fleet", "deployment.environment.name": run.environment}
                )
            )
            provider.add_span_processor(
                BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{url}/v1/traces"))
            )
            providers[run.environment] = provider
        tracer = provider.get_tracer("test_errors_api")
        at = run.start_ns
        root = tracer.start_span(
            "process",
            start_time=at,
            attributes={
                "firstwatch.kind": "run",
                "firstwatch.agent": run.agent,
                "firstwatch.agent.version": "2.0",
            },
        )
        if run.check_fails:
            root.set_attribute("firstwatch.check.total_matches", "fail")
            root.set_attribute("firstwatch.check.total_matches.reason", "12.00 != 21.00")
        inside = trace.set_span_in_context(root)
        classify = tracer.start_span("classify", context=inside, start_time=at + 10_000_000)
        classify.set_attribute("firstwatch.kind", "step")
        classify.end(end_time=at + 200_000_000)
        model = tracer.start_span(
            "call_model",
            context=inside,
            start_time=at + 300_000_000,
            attributes={"firstwatch.kind": "step"},
        )
        call = tracer.start_span(
            "chat gpt-4o-mini",
            context=trace.set_span_in_context(model),
            start_time=at + 310_000_000,
            attributes={
                "firstwatch.kind": "llm",
                "gen_ai.provider.name": "openai",
                "gen_ai.request.model": "gpt-4o-mini",
                "http.response.status_code": 429 if run.fail == "rate" else 200,
            },
        )
        if run.fail == "rate":
            message = (
                f"Rate limit reached for gpt-4o-mini in organization org-{n} on requests per "
                f"min: Limit 500, Used 500, Requested 1. Please try again in {n % 7 + 1}s."
            )
            _fail(call, "openai.RateLimitError", message)
            call.end(end_time=at + 400_000_000)
            _fail(model, "openai.RateLimitError", message)
            model.end(end_time=at + 410_000_000)
            _fail(root, "openai.RateLimitError", message)
            root.end(end_time=at + 420_000_000)
            continue
        call.end(end_time=at + 900_000_000)
        model.end(end_time=at + 910_000_000)
        lookup = tracer.start_span(
            "lookup",
            context=inside,
            start_time=at + 1_000_000_000,
            attributes={"firstwatch.kind": "tool", "firstwatch.dependency": "registry"},
        )
        if run.fail == "timeout":
            message = f"The read operation timed out after {20 + n % 10} s"
            _fail(lookup, "httpx.ReadTimeout", message)
            lookup.end(end_time=at + 31_000_000_000)
            _fail(root, "httpx.ReadTimeout", message)
            root.end(end_time=at + 31_100_000_000)
            continue
        lookup.end(end_time=at + 1_500_000_000)
        root.end(end_time=at + 1_600_000_000)
    for provider in providers.values():
        provider.shutdown()


@dataclass
class Fleet:
    """A server holding the fleet's runs."""

    server: ServerProcess
    api: httpx.Client
    now_ns: int


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    server = start_server(tmp_path_factory.mktemp("errors"))
    try:
        now = time.time_ns()
        runs = plan(now)
        emit(server.url, runs)
        want = Counter((r.agent, r.environment) for r in runs)
        with server.client() as api:

            def arrived() -> bool:
                rows = api.get("/api/v1/agents").json()["agents"]
                have = {(r["agent"], r["environment"]): r["runs"] - r["incomplete"] for r in rows}
                return have == dict(want)

            wait_for(arrived, timeout=60, what=f"runs {dict(want)}")
            yield Fleet(server, api, now)
    finally:
        server.stop()


def by_agent(rows: list[dict[str, Any]], environment: str = "production") -> dict[str, Any]:
    return {r["agent"]: r for r in rows if r["environment"] == environment}


def test_the_last_hour_gives_each_agent_its_status_and_reason(fleet: Fleet) -> None:
    body = fleet.api.get("/api/v1/agents", params={"since": "1h"}).json()
    agents = by_agent(body["agents"])
    assert set(agents) == {HEALTHY, RATE, TIMEOUT, CHECKS, QUIET}

    healthy = agents[HEALTHY]
    assert (healthy["status"], healthy["reason"]) == ("healthy", "20 runs, 0.0% failed")
    assert healthy["runs"] == PRODUCTION_RUNS and healthy["error_rate"] == 0

    rate = agents[RATE]
    assert rate["status"] == "failing"
    assert rate["reason"] == "50% of 20 runs failed, mostly rate_limited (10)"
    assert (rate["errors"], rate["error_rate"]) == (10, 0.5)

    timeout = agents[TIMEOUT]
    assert timeout["status"] == "degraded"
    assert timeout["reason"] == "15% of 20 runs failed, mostly timeout (3)"

    checks = agents[CHECKS]
    assert checks["status"] == "degraded"
    assert checks["reason"] == "20% of 20 runs ended OK but failed an output check"
    assert (checks["errors"], checks["silent_failures"]) == (0, 4)
    assert checks["silent_failure_rate"] == 0.2

    # Quiet for three hours, where it used to run every minute: listed though it has no runs.
    quiet = agents[QUIET]
    assert quiet["status"] == "silent"
    assert quiet["reason"] == "no runs for 3.0 h; it usually runs every 60 s"
    assert (quiet["runs"], quiet["version"]) == (0, "2.0")
    assert quiet["last_seen"] is not None
    assert body["status_since"] and body["status_until"]


def test_without_a_window_counts_are_all_time_and_status_the_last_hour(fleet: Fleet) -> None:
    body = fleet.api.get("/api/v1/agents").json()
    agents = by_agent(body["agents"])
    assert agents[QUIET]["runs"] == QUIET_RUNS and agents[QUIET]["status"] == "silent"
    assert agents[RATE]["status"] == "failing" and agents[HEALTHY]["status"] == "healthy"
    assert agents[CHECKS]["silent_failures"] == 4
    staging = by_agent(body["agents"], "staging")
    assert staging[TIMEOUT]["errors"] == 1
    # Staging ran once a minute for ten minutes, forty minutes ago: staging runs in bursts, so
    # its quiet is not silence.
    assert staging[HEALTHY]["status"] == "healthy"
    # Judged as of a moment before the quiet agent stopped, it was healthy.
    then = fleet.api.get("/api/v1/agents", params={"since": "4h", "until": "3h"}).json()["agents"]
    assert by_agent(then)[QUIET]["status"] == "healthy"
    assert by_agent(then)[QUIET]["runs"] == QUIET_RUNS


def test_errors_name_classes_steps_messages_and_what_staging_never_had(fleet: Fleet) -> None:
    report = fleet.api.get(
        "/api/v1/errors", params={"environment": "production", "since": "1h", "bucket": "10m"}
    ).json()
    assert report["scope"]["level"] == "run"
    # The quiet agent's runs are older than the window.
    assert report["totals"]["runs"] == 4 * PRODUCTION_RUNS
    assert report["totals"]["errors"] == 13 and report["totals"]["silent_failures"] == 4

    classes = {(c["agent"], c["error_class"]): c for c in report["by_class"]}
    assert set(classes) == {(RATE, "rate_limited"), (TIMEOUT, "timeout")}
    rate = classes[(RATE, "rate_limited")]
    assert (rate["count"], rate["rate"], rate["share"]) == (10, 0.5, 1.0)
    assert rate["steps"] == [{"step": "call_model", "count": 10}]
    assert rate["new"] is True and rate["version"] == "2.0"
    timeout = classes[(TIMEOUT, "timeout")]
    assert timeout["steps"] == [{"step": "lookup", "count": 3}]
    assert timeout["new"] is False
    failed = {
        (f["agent"], f["step"], f["kind"], f["error_class"]): f["count"]
        for f in report["failed_steps"]
    }
    assert failed == {
        (RATE, "call_model", "step", "rate_limited"): 10,
        (RATE, "chat gpt-4o-mini", "llm", "rate_limited"): 10,
        (TIMEOUT, "lookup", "tool", "timeout"): 3,
    }
    assert [(n["agent"], n["error_class"], n["count"]) for n in report["new_classes"]] == [
        (RATE, "rate_limited", 10)
    ]
    baseline = {b["agent"]: b for b in report["baseline"]["agents"]}
    assert report["baseline"]["cohort"] == "env=staging"
    assert baseline[TIMEOUT] == {"agent": TIMEOUT, "runs": STAGING_RUNS, "classes": ["timeout"]}

    # Ten messages that differ in their numbers and ids are one group, with an example to open.
    groups = {g["error_class"]: g for g in report["by_fingerprint"]}
    assert set(groups) == {"rate_limited", "timeout"}
    limited = groups["rate_limited"]
    assert limited["count"] == 10 and limited["agents"] == 1
    assert limited["error_type"] == "openai.RateLimitError"
    assert limited["message"].startswith("Rate limit reached for gpt-4o-mini in organization")
    assert "org-" not in limited["pattern"] and "<num>" in limited["pattern"]
    assert limited["example"]["span_name"] == "call_model"
    opened = fleet.api.get(f"/api/v1/runs/{limited['example']['trace_id']}").json()
    assert opened["runs"][0]["error_class"] == "rate_limited"
    assert groups["timeout"]["count"] == 3

    buckets = report["over_time"]
    assert 6 <= len(buckets) <= 7
    assert sum(b["runs"] for b in buckets) == 4 * PRODUCTION_RUNS
    assert sum(b["classes"].get("rate_limited", 0) for b in buckets) == 10
    assert sum(b["silent_failures"] for b in buckets) == 4
    starts = [b["start"] for b in buckets]
    assert starts == sorted(starts) and all(s.endswith("0:00.000Z") for s in starts)


def test_errors_of_one_step(fleet: Fleet) -> None:
    report = fleet.api.get(
        "/api/v1/errors", params={"agent": TIMEOUT, "step": "lookup", "since": "1h"}
    ).json()
    assert report["scope"]["level"] == "step"
    # Every run of the timeout agent reaches its lookup: 20 in production, 10 in staging.
    assert report["totals"]["runs"] == PRODUCTION_RUNS + STAGING_RUNS
    assert report["totals"]["errors"] == 4
    rows = {(c["environment"], c["error_class"]): c for c in report["by_class"]}
    assert rows[("production", "timeout")]["count"] == 3
    assert rows[("staging", "timeout")]["count"] == 1
    (group,) = report["by_fingerprint"]
    assert group["example"]["span_name"] == "lookup" and group["count"] == 4
    assert group["error_type"] == "httpx.ReadTimeout"


def test_bad_parameters_are_400(fleet: Fleet) -> None:
    for params in ({"bucket": "soon"}, {"since": "yesterday"}, {"baseline": "env=staging,x=1"}):
        response = fleet.api.get("/api/v1/errors", params=params)
        assert response.status_code == 400, params
    response = fleet.api.get("/api/v1/errors", params={"bucket": "1s", "since": "30d"})
    assert response.status_code == 400 and "buckets" in response.json()["detail"]
    assert fleet.api.get("/api/v1/errors", params={"baseline": "nope"}).status_code == 404


def cli(fleet: Fleet, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "firstwatch", *args, "--server", fleet.server.url],
        capture_output=True,
        text=True,
        timeout=60,
        env={**fleet.server.env, "COLUMNS": "200"},
    )


def test_the_cli_shows_status_and_errors(fleet: Fleet, tmp_path: Path) -> None:
    done = cli(fleet, "status", "--json")
    assert done.returncode == 0, done.stderr
    statuses = {
        a["agent"]: a["status"] for a in by_agent(json.loads(done.stdout)["agents"]).values()
    }
    assert statuses[QUIET] == "silent" and statuses[RATE] == "failing"

    table = cli(fleet, "status", "--env", "production")
    assert table.returncode == 0, table.stderr
    lines = [line for line in table.stdout.splitlines() if line.startswith("│")]
    assert [line.split()[1] for line in lines] == [
        "failing",
        "silent",
        "degraded",
        "degraded",
        "healthy",
    ]
    assert "mostly rate_limited (10)" in table.stdout

    errors = cli(fleet, "errors", "--agent", RATE, "--since", "1h", "--json")
    assert errors.returncode == 0, errors.stderr
    report = json.loads(errors.stdout)
    assert [(c["environment"], c["error_class"]) for c in report["by_class"]] == [
        ("production", "rate_limited")
    ]
    shown = cli(fleet, "errors", "--env", "production", "--since", "1h")
    assert shown.returncode == 0, shown.stderr
    assert f"new: rate_limited on {RATE} (10" in shown.stdout
    assert "call_model (10)" in shown.stdout and "lookup (3)" in shown.stdout


def test_status_watch_refreshes_until_interrupted(fleet: Fleet, tmp_path: Path) -> None:
    log = tmp_path / "watch.out"
    # Started as from a terminal, where Ctrl-C interrupts: a test run in the background hands its
    # children SIGINT ignored, and Python then keeps it ignored.
    command = [
        sys.executable,
        "-c",
        "import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
        "sys.argv[0] = 'firstwatch'; runpy.run_module('firstwatch', run_name='__main__')",
        "status",
        "--watch",
        "--json",
    ]
    with log.open("w") as sink:
        watching = subprocess.Popen(
            [*command, "--interval", "0.2", "--server", fleet.server.url],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=fleet.server.env,
        )
        try:
            wait_for(lambda: log.read_text().count("\n") >= 3, timeout=60, what="three refreshes")
            watching.send_signal(signal.SIGINT)
            assert watching.wait(timeout=30) == 0
        finally:
            if watching.poll() is None:
                watching.kill()
                watching.wait(timeout=10)
    refreshes = [json.loads(line) for line in log.read_text().splitlines() if line]
    assert len(refreshes) >= 3
    assert all(by_agent(r["agents"])[RATE]["status"] == "failing" for r in refreshes)
