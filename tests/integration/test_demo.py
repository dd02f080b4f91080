"""`firstwatch demo --exit`, scaled down, then a server on its store: the truth is all there.

The demo replays its fleet through the real SDK and OTLP path into its own server and writes what
really happened to `demo-truth.jsonl`. A fresh `firstwatch serve` on the same store must then show,
through the public REST API, every run of the truth file and each injected failure in the raw runs.
Each signal issue adds here the assertion that its signal finds its failure.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from firstwatch.demo.truth import FILENAME, read_truth
from firstwatch.demo.world import SLOW_S
from serverproc import ServerProcess, start_server

pytestmark = pytest.mark.integration

DEMO_ARGS = ("--runs", "40", "--staging-runs", "12", "--speed", "10", "--seed", "11")
DEMO_TIMEOUT_S = 240


@dataclass
class Demo:
    """The demo's output, and a server on its store."""

    store_dir: Path
    output: str
    runs: list[dict[str, Any]]
    summary: dict[str, Any]
    server: ServerProcess
    api: httpx.Client

    def trace(self, run: dict[str, Any]) -> dict[str, Any]:
        """The stored run (with its steps) of a truth record."""
        response = self.api.get(f"/api/v1/runs/{run['trace_id']}")
        assert response.status_code == 200, response.text
        found = [r for r in response.json()["runs"] if r["span_id"] == run["span_id"]]
        assert len(found) == 1, response.json()
        stored: dict[str, Any] = found[0]
        return stored

    def flagged(self, flag: str, **where: Any) -> list[dict[str, Any]]:
        """Truth records with `flag` set (and the given field values); at least one."""
        chosen = [r for r in self.runs if r[flag] and all(r[k] == v for k, v in where.items())]
        assert chosen, f"the demo injected no {flag} {where}:\n{self.output}"
        return chosen


def run_demo(
    tmp_path_factory: pytest.TempPathFactory, name: str, args: tuple[str, ...]
) -> Iterator[Demo]:
    """Run `firstwatch demo` to the end, then serve its store for the tests."""
    store_dir = tmp_path_factory.mktemp(name)
    command = [sys.executable, "-m", "firstwatch", "demo", "--exit", *args]
    finished = subprocess.run(
        [*command, "--store-dir", str(store_dir)],
        capture_output=True,
        text=True,
        timeout=DEMO_TIMEOUT_S,
        check=False,
    )
    output = finished.stdout + finished.stderr
    assert finished.returncode == 0, output
    runs, summary = read_truth(store_dir / FILENAME)
    server = start_server(tmp_path_factory.mktemp(f"{name}-serve"), store=store_dir / "demo.duckdb")
    try:
        with server.client() as api:
            yield Demo(store_dir, output, runs, summary, server, api)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    yield from run_demo(tmp_path_factory, "demo", DEMO_ARGS)


def all_runs(api: httpx.Client) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(100):
        params: dict[str, Any] = {"limit": 1000}
        if cursor:
            params["cursor"] = cursor
        page = api.get("/api/v1/runs", params=params).json()
        runs += page["runs"]
        cursor = page["next_cursor"]
        if not cursor:
            return runs
    raise AssertionError("more pages than expected")


def steps_of(stored: dict[str, Any]) -> list[dict[str, Any]]:
    """Every step of a stored run, depth first."""
    found: list[dict[str, Any]] = []
    pending = list(stored["steps"])
    while pending:
        step = pending.pop()
        found.append(step)
        pending.extend(step["children"])
    return found


def moment(text: str) -> float:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def test_the_demo_ends_with_the_servers_verdict_on_production(demo: Demo) -> None:
    said = demo.output.split("What firstwatch says about production since")[1]
    window = {"since": demo.summary["production_start"]}
    agents = demo.api.get("/api/v1/agents", params=window).json()["agents"]
    status = {a["agent"]: a["status"] for a in agents if a["environment"] == "production"}
    assert set(status) == {"contract-extractor", "invoice-agent", "nda-screener"}
    for agent, word in status.items():
        row = next(line for line in said.splitlines() if f" {agent} " in line)
        assert row.split()[0] == word, row
    # The control agent, with nothing injected, is healthy; the extractor, whose model calls
    # fail on some documents, is not.
    assert status["nda-screener"] == "healthy"
    assert status["contract-extractor"] != "healthy"


def test_the_demo_reports_and_writes_its_truth(demo: Demo) -> None:
    assert "Dashboard: http://127.0.0.1:" in demo.output
    assert f"Truth:     {demo.store_dir / FILENAME}" in demo.output
    groups = {(g["agent"], g["environment"]): g for g in demo.summary["groups"]}
    agents = ("contract-extractor", "invoice-agent", "nda-screener")
    assert set(groups) == {(a, e) for a in agents for e in ("staging", "production")}
    for agent in agents:
        assert groups[(agent, "staging")]["runs"] == 12
        assert groups[(agent, "production")]["runs"] == 40
    assert len(demo.runs) == 3 * (12 + 40)
    assert all(Path(r["input_file"]).is_file() for r in demo.runs)


def test_every_agent_and_environment_arrived_with_the_truth_counts(demo: Demo) -> None:
    stored = {
        (a["agent"], a["version"], a["environment"]): a
        for a in demo.api.get("/api/v1/agents").json()["agents"]
    }
    expected = {(g["agent"], g["version"], g["environment"]): g for g in demo.summary["groups"]}
    assert set(stored) == set(expected)
    for key, group in expected.items():
        assert (stored[key]["runs"], stored[key]["errors"]) == (group["runs"], group["errors"])
        assert stored[key]["incomplete"] == 0


def test_every_run_is_stored_as_the_truth_says(demo: Demo) -> None:
    stored = {(r["trace_id"], r["span_id"]): r for r in all_runs(demo.api)}
    assert len(stored) == len(demo.runs)
    for run in demo.runs:
        got = stored[(run["trace_id"], run["span_id"])]
        assert (got["agent"], got["version"], got["environment"], got["status"]) == (
            run["agent"],
            run["version"],
            run["environment"],
            run["status"],
        )


def test_history_is_compressed_and_ends_at_the_present(demo: Demo) -> None:
    starts = sorted(moment(r["start"]) for r in demo.runs)
    end = moment(demo.summary["history_end"])
    assert end - starts[0] > 48 * 3600
    # The last runs are replayed live: they started while the demo was running, in real time.
    began = min(Path(r["input_file"]).stat().st_mtime for r in demo.runs)
    finished = (demo.store_dir / FILENAME).stat().st_mtime
    assert began <= starts[-1] <= end <= finished + 1


def test_staging_is_clean(demo: Demo) -> None:
    for run in demo.runs:
        if run["environment"] == "staging":
            assert run["status"] == "ok" and run["input_kind"] == "clean"
            assert not (run["retried"] or run["wrong_output"] or run["racing"]), run


def test_messy_inputs_give_silent_wrong_outputs(demo: Demo) -> None:
    wrong = demo.flagged("wrong_output", agent="contract-extractor")
    assert all(r["input_kind"] != "clean" for r in wrong)
    for run in wrong[:10]:
        stored = demo.trace(run)
        assert (stored["status"], stored["error_class"]) == ("ok", None)
        attributes = stored["attributes"]
        for field in ("party_a", "party_b", "effective_date", "amount", "currency"):
            assert attributes[f"firstwatch.output.{field}"], field
        checks = {k: v for k, v in attributes.items() if k.startswith("firstwatch.check.")}
        assert checks and all(v == "pass" for k, v in checks.items() if not k.endswith(".reason"))


def test_rate_limited_runs_retry_silently_and_end_ok(demo: Demo) -> None:
    retried = [r for r in demo.flagged("retried") if r["status"] == "ok"]
    assert retried
    for run in retried[:10]:
        stored = demo.trace(run)
        assert stored["status"] == "ok"
        assert stored["retry_count"] >= run["rate_limited"] > 0
        # The waits the SDK measured cover the Retry-After the model API asked for.
        assert stored["retry_wait_ms"] >= 0.9 * run["rate_limited_waits_ms"] > 0
        resent = [s for s in steps_of(stored) if s["kind"] == "http" and s["retry_count"]]
        assert resent and all(s["dependency"] == "llm-api" for s in resent)
        assert any(s["http_status"] == 429 for s in steps_of(stored))


def test_date_format_drift_fails_the_normalise_step(demo: Demo) -> None:
    drifted = demo.flagged(
        "date_format_drift", agent="contract-extractor", environment="production"
    )
    for run in drifted:
        assert run["status"] == "error" and run["error_step"] == "normalise"
        stored = demo.trace(run)
        assert stored["status"] == "error"
        steps = {s["name"]: s for s in steps_of(stored)}
        assert steps["normalise"]["status"] == "error"
        assert steps["normalise"]["error_type"] == "ValueError"
        extracted = steps["extract"]["attributes"]
        assert extracted["firstwatch.output.shape.effective_date"] == "str:99/99/9999"


def test_registry_timeouts_fail_the_lookup_step(demo: Demo) -> None:
    for run in demo.flagged("timed_out"):
        assert run["error_step"] in ("lookup_counterparty", "lookup_vendor")
        stored = demo.trace(run)
        assert stored["status"] == "error"
        if not run["retried"]:
            # A run takes the class of its earliest failed span: with a 429 before, rate_limited.
            assert stored["error_class"] == "timeout"
        steps = steps_of(stored)
        lookup = next(s for s in steps if s["name"] == run["error_step"])
        assert (lookup["status"], lookup["error_class"]) == ("error", "timeout")
        calls = [s for s in steps if s["kind"] == "http" and s["dependency"] == "company-registry"]
        assert calls and calls[-1]["error_class"] == "timeout"


def test_slow_registry_calls_are_recorded(demo: Demo) -> None:
    slow = [r for r in demo.flagged("slow") if r["status"] == "ok"]
    for run in slow[:10]:
        calls = [
            s
            for s in steps_of(demo.trace(run))
            if s["kind"] == "http" and s["dependency"] == "company-registry"
        ]
        assert calls
        # The truth says a call was slow (over SLOW_S); the stored span shows that wait.
        slowest = max(run["registry_ms"])
        assert slowest > SLOW_S * 1000
        assert max(c["duration_ms"] for c in calls) >= 0.9 * slowest


def test_lost_updates_are_overlapping_read_modify_writes(demo: Demo) -> None:
    racing = demo.flagged("racing", environment="production")
    assert any(r["lost_update"] for r in racing)
    windows: dict[str, list[tuple[float, float, str]]] = {}
    for run in racing:
        accesses = [s for s in steps_of(demo.trace(run)) if s["kind"] == "resource"]
        accesses.sort(key=lambda s: moment(s["start_time"]))
        assert [s["resource_op"] for s in accesses] == ["read", "write"]
        (key,) = {s["resource_key"] for s in accesses}
        assert [key] == run["crm_keys"]
        start = moment(accesses[0]["start_time"])
        end = moment(accesses[-1]["start_time"]) + accesses[-1]["duration_ms"] / 1000
        windows.setdefault(key, []).append((start, end, run["trace_id"]))
    for runs in windows.values():
        for start, end, trace in runs:
            assert any(other != trace and s <= end and start <= e for s, e, other in runs), (
                f"run {trace} races with no other run on its key"
            )


def test_the_control_agent_is_untouched(demo: Demo) -> None:
    for run in demo.runs:
        if run["agent"] == "nda-screener":
            assert run["status"] == "ok" and not run["retried"] and not run["slow"], run


def test_latency_finds_the_silent_retries_and_the_slow_registry(demo: Demo) -> None:
    """Failures 2 (429s retried silently, more of them the more runs are in flight) and 5 (the
    company registry slows down and times out at the peak), as the latency API shows them."""
    window = {"since": demo.summary["history_start"]}
    production = [r for r in demo.runs if r["environment"] == "production"]

    # Failure 2. The runs that "succeeded" only after retries are exactly the rate-limited ones
    # that ended ok, each with the time the SDK saw it wait (Retry-After included).
    retried = {r["trace_id"]: r for r in demo.flagged("retried") if r["status"] == "ok"}
    listed = demo.api.get("/api/v1/latency/retried-runs", params={**window, "limit": 1000})
    runs = listed.json()["runs"]
    assert {r["trace_id"] for r in runs} == set(retried)
    for run in runs:
        assert run["retry_ms"] >= 0.9 * retried[run["trace_id"]]["rate_limited_waits_ms"] > 0
        assert run["first_attempt_ms"] < run["duration_ms"]

    # On the right agents: time lost to retries in production, none for the control agent or in
    # staging; and on the right step: the model calls, where the waits were spent.
    groups = demo.api.get("/api/v1/latency", params={**window, "by": "agent,environment"})
    by_agent = {(g["agent"], g["environment"]): g for g in groups.json()["groups"]}
    for (agent, environment), group in by_agent.items():
        expected = sum(
            1 for r in retried.values() if (r["agent"], r["environment"]) == (agent, environment)
        )
        assert group["retried_ok"] == expected, (agent, environment)
        assert (group["retry_ms"] > 0) == (expected > 0)
    assert by_agent[("contract-extractor", "production")]["retry_time_share"] > 0.05
    assert by_agent[("nda-screener", "production")]["retry_ms"] == 0
    steps = demo.api.get(
        "/api/v1/latency",
        params={**window, "of": "steps", "by": "agent,kind,dependency,step"},
    ).json()["groups"]
    waited = [s for s in steps if s["retry_wait_ms"] > 0]
    assert waited and all((s["kind"], s["dependency"]) == ("llm", "llm-api") for s in waited)
    for agent in ("contract-extractor", "invoice-agent"):
        in_steps = sum(s["retry_wait_ms"] for s in waited if s["agent"] == agent)
        in_runs = sum(g["retry_wait_ms"] for (a, _), g in by_agent.items() if a == agent)
        assert in_steps == pytest.approx(in_runs, rel=1e-6)
    assert max(s["retry_time_share"] for s in waited if s["agent"] == "contract-extractor") > 0.1

    # 429s rise with concurrency: runs of the agents sharing the model key, by how many of their
    # agent's runs were in flight when each started; model calls, by calls in flight.
    bands = demo.api.get("/api/v1/concurrency", params={**window, "bucket": "10m"})
    low = [0, 0]
    high = [0, 0]
    for band in bands.json()["bands"]:
        if band["agent"] in ("contract-extractor", "invoice-agent"):
            side = low if band["band_high"] < 4 else high if band["band_low"] >= 8 else None
            if side is not None:
                side[0] += band["rate_limited"]
                side[1] += band["n"]
    assert high[1] and low[1], bands.json()["bands"]
    assert high[0] / high[1] > max(0.4, 3 * low[0] / low[1]), (low, high)
    calls = demo.api.get(
        "/api/v1/concurrency",
        params={**window, "of": "calls", "dependency": "llm-api", "bucket": "10m"},
    ).json()["bands"]
    alone = [b for b in calls if b["band_high"] == 1]
    crowded = [b for b in calls if b["band_low"] >= 4]
    assert alone and crowded
    assert sum(b["rate_limited"] for b in crowded) > 0.25 * sum(b["n"] for b in crowded)
    # A call alone in flight when it started is refused only if the fake API saw others come in
    # before it (a busy machine delays its request): seen once in 88 calls, never a share.
    assert sum(b["rate_limited"] for b in alone) <= 0.05 * sum(b["n"] for b in alone)

    # Failure 5. The registry's slowest window is the peak (10-minute buckets: a bound on the
    # median needs 7 calls, which only the peak has), its median over a second, and its
    # timeouts are the runs that timed out.
    deps = demo.api.get("/api/v1/dependencies", params={**window, "bucket": "10m"}).json()
    registry = next(d for d in deps["dependencies"] if d["dependency"] == "company-registry")
    slow_starts = [moment(r["start"]) for r in production if r["slow"]]
    assert slow_starts, demo.output
    slowest = registry["slowest"]
    assert slowest is not None, deps["series"]
    begins = moment(slowest["bucket_start"])
    assert min(slow_starts) - 600 < begins <= max(slow_starts) + 600
    assert moment(demo.summary["peak_start"]) - 600 < begins <= moment(demo.summary["peak_end"])
    assert slowest["median_low_ms"] > 1000
    assert registry["timeouts"] == sum(1 for r in production if r["timed_out"])
    assert {c["error_class"] for c in registry["error_classes"]} <= {"timeout"}


def test_error_classes_and_status_find_the_timeouts_and_rate_limits(demo: Demo) -> None:
    production = [r for r in demo.runs if r["environment"] == "production"]
    first = min(moment(r["start"]) for r in production) - 1
    since = dt.datetime.fromtimestamp(first, tz=dt.timezone.utc).isoformat()
    report = demo.api.get(
        "/api/v1/errors", params={"environment": "production", "since": since}
    ).json()

    # Registry timeouts fail their runs: class timeout, from the lookup step, on the right agent.
    timed_out: dict[tuple[str, str], int] = {}
    for run in production:
        if run["timed_out"]:
            key = (run["agent"], run["error_step"])
            timed_out[key] = timed_out.get(key, 0) + 1
    assert timed_out, demo.output
    found = {
        (c["agent"], s["step"]): s["count"]
        for c in report["by_class"]
        if c["error_class"] == "timeout"
        for s in c["steps"]
    }
    assert found == timed_out
    # Staging never timed out: a new class.
    assert all(c["new"] for c in report["by_class"] if c["error_class"] == "timeout")

    # 429s are retried and the runs go on: each is a failed call to the model API.
    limited: dict[str, tuple[int, int]] = {}
    for run in production:
        if run["rate_limited"]:
            calls, runs = limited.get(run["agent"], (0, 0))
            limited[run["agent"]] = (calls + run["rate_limited"], runs + 1)
    assert limited, demo.output
    calls = {
        f["agent"]: (f["count"], f["runs"])
        for f in report["failed_steps"]
        if f["error_class"] == "rate_limited"
    }
    assert calls == limited
    assert {
        (f["kind"], f["dependency"])
        for f in report["failed_steps"]
        if f["error_class"] == "rate_limited"
    } == {("http", "llm-api")}
    assert not any(c["error_class"] == "rate_limited" for c in report["by_class"])

    # The control agent: no failure anywhere, and healthy over its whole production history.
    assert not any(f["agent"] == "nda-screener" for f in report["failed_steps"])
    agents = demo.api.get("/api/v1/agents", params={"since": since}).json()["agents"]
    (control,) = [
        a for a in agents if (a["agent"], a["environment"]) == ("nda-screener", "production")
    ]
    runs = sum(1 for r in production if r["agent"] == "nda-screener")
    assert (control["status"], control["reason"]) == ("healthy", f"{runs} runs, 0.0% failed")


# Input drift needs at least 50 runs on each side (`drift_min_runs`): a demo of its own, larger
# than the one above, whose staging has exactly that many.
DRIFT_DEMO_ARGS = ("--runs", "100", "--staging-runs", "50", "--speed", "40", "--seed", "11")


@pytest.fixture(scope="module")
def drift_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    yield from run_demo(tmp_path_factory, "drift-demo", DRIFT_DEMO_ARGS)


def test_messy_inputs_drift_and_the_control_agent_does_not(drift_demo: Demo) -> None:
    demo = drift_demo
    kinds = {r["trace_id"]: r["input_kind"] for r in demo.runs}

    extractor = demo.api.get("/api/v1/drift", params={"agent": "contract-extractor"}).json()
    assert extractor["verdict"] == "major", demo.output
    assert extractor["baseline"]["source"] == "default"
    assert extractor["baseline"]["cohort"].startswith("env=staging,version=")
    assert extractor["baseline"]["runs"] == 50
    majors = [f for f in extractor["features"] if f["severity"] == "major"]
    assert majors and all(f["feature"].startswith(("text.", "doc.")) for f in majors)
    novel = demo.api.get(
        "/api/v1/drift/novel-runs", params={"agent": "contract-extractor", "limit": 20}
    ).json()["runs"]
    assert len(novel) == 20
    assert all(kinds[r["trace_id"]] != "clean" for r in novel), [
        (r["novelty"], kinds[r["trace_id"]]) for r in novel
    ]

    control = demo.api.get("/api/v1/drift", params={"agent": "nda-screener"}).json()
    assert control["verdict"] == "none", control["reason"]
    assert control["baseline"]["runs"] == 50 and control["window"]["runs"] == 100
    assert all(f["severity"] == "none" for f in control["features"])
