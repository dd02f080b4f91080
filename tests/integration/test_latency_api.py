"""Latency, dependencies, concurrency and usage through a real server, fed by our SDK.

An agent process calls a local API through httpx: a model endpoint that answers 429 with
Retry-After before it answers 200 (half the runs), and a registry that is slow for a while. The
agent records on a compressed timeline (one real second is one hour), so the slow spell covers
hourly buckets. The API must show the silent retries (end-to-end p99 far above first-attempt
p99, the share of runs that succeeded only after retries) and the registry's slow window.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest

from localhttp import serving
from serverproc import ServerProcess, start_server, wait_for

pytestmark = pytest.mark.integration

HOUR_MS = 3600 * 1000
RETRY_AFTER_S = 0.5
SLOW_S = 0.07


class _Api(BaseHTTPRequestHandler):
    """POST /model: 429 (Retry-After) on the first call of a run asked to be limited, then
    200. GET /registry: answers at once, or after SLOW_S when asked to be slow."""

    limited: ClassVar[set[str]] = set()
    lock: ClassVar[threading.Lock] = threading.Lock()

    def _answer(self, status: int, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        query = parse_qs(urlsplit(self.path).query)
        run = query["run"][0]
        with self.lock:
            first = query.get("limit") == ["1"] and run not in self.limited
            self.limited.add(run)
        if first:
            self._answer(429, {"Retry-After": str(RETRY_AFTER_S)})
        else:
            self._answer(200)

    def do_GET(self) -> None:
        if parse_qs(urlsplit(self.path).query).get("slow") == ["1"]:
            time.sleep(SLOW_S)
        self._answer(200)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def api() -> Iterator[str]:
    with serving(_Api) as url:
        yield url


AGENT = textwrap.dedent(
    """
    import json, sys, time, httpx, firstwatch

    api = sys.argv[1]
    real0 = time.time_ns()
    hour = 3600 * 10**9
    start = (real0 - 30 * hour) // hour * hour              # on the hour
    warp = lambda ns: start + (ns - real0) * 3600          # one real second is one hour

    firstwatch.init(version="2.0", environment="production", time_warp=warp)
    client = httpx.Client()
    client.get(f"{api}/registry")                          # connect outside any run
    for i in range(12):
        with firstwatch.run("claims-agent", input=f"claim {i}") as run:
            with run.step("classify"):
                pass
            attributes = {
                "firstwatch.dependency": "model-api",
                "gen_ai.request.model": "acme-large-2025-06",
            }
            with run.step("extract", kind="llm", attributes=attributes) as step:
                for attempt in range(5):
                    answer = client.post(f"{api}/model?run={i}&limit={1 - i % 2}", json={})
                    if answer.status_code != 429:
                        break
                    time.sleep(float(answer.headers["Retry-After"]))
                step.set_attribute("gen_ai.usage.input_tokens", 1000)
                step.set_attribute("gen_ai.usage.output_tokens", 200)

    slow = []
    for i in range(54):
        is_slow = 15 <= i < 39
        if i == 15:  # start the slow spell on the hour, so the next hour is slow throughout
            time.sleep(1 - (time.time_ns() - real0) / 1e9 % 1)
        began = time.time_ns()
        with firstwatch.run("lookup-agent", input=f"company {i}") as run:
            tool = {"firstwatch.dependency": "registry"}
            with run.step("lookup", kind="tool", attributes=tool):
                client.get(f"{api}/registry?slow={int(is_slow)}")
        if is_slow:
            slow.append((warp(began), warp(time.time_ns())))
    client.close()
    firstwatch.shutdown()
    print(json.dumps({"slow_from_ns": slow[0][0], "slow_until_ns": slow[-1][1]}))
    """
)

PRICES = """
currency = "USD"

[models."acme-large"]
input = 3.0
output = 15.0
"""


@pytest.fixture
def priced_server(tmp_path: Path) -> Iterator[ServerProcess]:
    prices = tmp_path / "prices.toml"
    prices.write_text(PRICES)
    proc = start_server(tmp_path, env={"FIRSTWATCH_PRICES_FILE": str(prices)})
    try:
        yield proc
    finally:
        proc.stop()


def test_silent_retries_and_a_slow_dependency_show(priced_server: ServerProcess, api: str) -> None:
    server = priced_server
    done = subprocess.run(
        [sys.executable, "-c", AGENT, api],
        env={**server.env, "FIRSTWATCH_ENDPOINT": server.url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    slow = json.loads(done.stdout.strip().splitlines()[-1])
    window = {"since": "40h"}
    with server.client() as client:
        wait_for(
            lambda: len(client.get("/api/v1/runs", params={"limit": 100}).json()["runs"]) == 66,
            what="66 runs",
        )

        # Silent retries: every run ended ok, half only after a 429 and a wait.
        latency = client.get("/api/v1/latency", params={**window, "by": "agent"}).json()
        groups = {g["agent"]: g for g in latency["groups"]}
        claims = groups["claims-agent"]
        assert claims["n"] == 12 and claims["errors"] == 0
        assert claims["retried_ok"] == 6 and claims["retried_share"] == 0.5
        assert claims["p99_ms"] > 5 * claims["first_attempt"]["p99_ms"]
        # Each retried run waited Retry-After: half a real second, half an hour recorded.
        assert claims["retry_ms"] >= 6 * 0.9 * RETRY_AFTER_S * HOUR_MS
        assert claims["retry_time_share"] > 0.5
        lookups = groups["lookup-agent"]
        assert lookups["retried"] == 0 and lookups["retry_time_share"] == 0.0

        retried = client.get(
            "/api/v1/latency/retried-runs", params={**window, "limit": 100}
        ).json()["runs"]
        assert len(retried) == 6 and {r["agent"] for r in retried} == {"claims-agent"}
        assert all(r["retry_ms"] >= 0.9 * RETRY_AFTER_S * HOUR_MS for r in retried)
        assert retried == sorted(retried, key=lambda r: -r["retry_ms"])

        # The retries show on the step that waited for them.
        steps = client.get(
            "/api/v1/latency", params={**window, "of": "steps", "by": "agent,step"}
        ).json()["groups"]
        extract = next(s for s in steps if s["step"] == "extract")
        assert extract["agent"] == "claims-agent" and extract["retried"] == 6
        assert extract["retry_time_share"] > 0.5
        classify = next(s for s in steps if s["step"] == "classify")
        assert classify["retried"] == 0

        # The agents overview carries p50 and p99 for the window.
        agents = client.get("/api/v1/agents", params=window).json()["agents"]
        overview = {a["agent"]: a for a in agents}
        assert overview["claims-agent"]["p99_ms"] == pytest.approx(claims["p99_ms"])
        assert overview["claims-agent"]["p50_ms"] == pytest.approx(claims["p50_ms"])

        # Dependencies: the model's 429s, and the registry's slow window.
        deps = client.get("/api/v1/dependencies", params=window).json()
        found = {d["dependency"]: d for d in deps["dependencies"]}
        model = found["model-api"]
        assert (model["calls"], model["rate_limited"]) == (18, 6)
        assert model["rate_limited_rate"] == pytest.approx(1 / 3)
        assert model["error_classes"] == [{"error_class": "rate_limited", "calls": 6}]
        registry = found["registry"]
        assert registry["calls"] == 54 and registry["timeouts"] == 0
        slowest = registry["slowest"]
        # The slow spell starts on an hour, and about 1 / SLOW_S slow calls fit in that hour (one
        # real second), fewer as each run's own overhead grows on a loaded machine; a bucket needs
        # 7 calls for a bound on its median.
        assert slowest is not None and slowest["calls"] >= 7
        assert slowest["median_low_ms"] >= 0.9 * SLOW_S * HOUR_MS > 5 * registry["p50_ms"]
        hour_ns = 3600 * 10**9
        start = _ns(slowest["bucket_start"])
        assert slow["slow_from_ns"] - hour_ns <= start <= slow["slow_until_ns"]
        hours = [b for b in deps["series"] if b["dependency"] == "registry"]
        assert sum(b["calls"] for b in hours) == 54 and len(hours) >= 3

        # Concurrency: one run at a time here; one call to the model at a time.
        concurrency = client.get(
            "/api/v1/concurrency", params={**window, "bucket": "1h", "agent": "claims-agent"}
        ).json()
        assert {p["in_flight"] for p in concurrency["peaks"]} == {1}
        (band,) = concurrency["bands"]
        assert (band["agent"], band["band_low"], band["n"]) == ("claims-agent", 1, 12)
        assert band["rate_limited"] == 6
        calls = client.get(
            "/api/v1/concurrency", params={**window, "of": "calls", "bucket": "1h"}
        ).json()
        assert {(b["dependency"], b["band_low"], b["n"]) for b in calls["bands"]} == {
            ("model-api", 1, 18),
            ("registry", 1, 54),
        }

        # Usage and cost from the price table the server was given.
        usage = client.get("/api/v1/usage", params=window).json()
        assert not usage["example_prices"] and usage["currency"] == "USD"
        (row,) = usage["rows"]
        assert (row["agent"], row["model"], row["calls"]) == (
            "claims-agent",
            "acme-large-2025-06",
            12,
        )
        assert (row["input_tokens"], row["output_tokens"]) == (12_000, 2_400)
        assert row["cost"] == pytest.approx((12_000 * 3.0 + 2_400 * 15.0) / 1e6)
        assert usage["total"]["cost"] == pytest.approx(row["cost"])
        assert usage["unpriced_models"] == []

    # The CLI, as a client of the same API.
    cli = [sys.executable, "-m", "firstwatch"]
    common = ["--since", "40h", "--server", server.url]
    shown = subprocess.run(
        [*cli, "latency", *common, "--json"], capture_output=True, text=True, timeout=60
    )
    assert shown.returncode == 0, shown.stderr
    body = json.loads(shown.stdout)
    assert {g["agent"] for g in body["groups"]} == {"claims-agent", "lookup-agent"}
    assert len(body["retried_runs"]) == 5
    shown = subprocess.run(
        [*cli, "deps", *common, "--json"], capture_output=True, text=True, timeout=60
    )
    assert shown.returncode == 0, shown.stderr
    body = json.loads(shown.stdout)
    assert {d["dependency"] for d in body["dependencies"]} == {"model-api", "registry"}
    assert {b["dependency"] for b in body["concurrency_bands"]} == {"model-api", "registry"}
    env = {**server.env, "COLUMNS": "200"}
    table = subprocess.run(
        [*cli, "deps", *common], capture_output=True, text=True, timeout=60, env=env
    )
    assert table.returncode == 0 and "registry" in table.stdout and "rate_limited 6" in table.stdout
    table = subprocess.run(
        [*cli, "latency", *common, "--steps"], capture_output=True, text=True, timeout=60, env=env
    )
    assert table.returncode == 0 and "extract" in table.stdout, table.stderr

    with server.client() as client:
        bad = client.get("/api/v1/latency", params={"by": "colour"})
        assert bad.status_code == 400 and "colour" in bad.json()["detail"]
        assert client.get("/api/v1/latency", params={"bucket": "soon"}).status_code == 400
        assert (
            client.get("/api/v1/latency", params={"bucket": "1s", "since": "30d"}).status_code
            == 400
        )


def _ns(text: str) -> int:
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return int(moment.timestamp()) * 10**9 + moment.microsecond * 1000
