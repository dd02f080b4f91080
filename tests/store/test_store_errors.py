"""What error classes and agent status need of the store, on every backend."""

from __future__ import annotations

import itertools
import statistics
from typing import Any

import pyarrow as pa
import pytest

from arrowtables import SPAN_SCHEMA
from firstwatch.store import RunFilter, Store
from firstwatch.store.schema import SPAN_COLUMN_NAMES

BASE = 1_800_000_000_000_000_000
SECOND = 1_000_000_000
HOUR = 3600 * SECOND


def span(trace: int, span_id: int, parent: int | None, start: int, **over: Any) -> dict[str, Any]:
    values: dict[str, Any] = dict.fromkeys(SPAN_COLUMN_NAMES)
    values.update(
        project="default",
        trace_id=f"{trace:032x}",
        span_id=f"{span_id:016x}",
        parent_span_id=None if parent is None else f"{parent:016x}",
        name=f"s{span_id}",
        span_kind=1,
        kind="step",
        agent_marked=False,
        start_ns=start,
        end_ns=start + SECOND,
        duration_ms=1000.0,
        status="ok",
        agent="extractor",
        version="1.0",
        environment="production",
        received_ns=0,
    )
    values.update(over)
    return values


def failure(error_class: str, message: str, fingerprint: str) -> dict[str, Any]:
    return {
        "status": "error",
        "error_class": error_class,
        "error_type": {"rate_limited": "RateLimitError", "timeout": "ReadTimeout"}.get(
            error_class, "KeyError"
        ),
        "error_message": message,
        "error_fingerprint": fingerprint,
    }


def trace(
    n: int,
    start: int,
    *,
    failed_step: str | None = None,
    error: dict[str, Any] | None = None,
    checks: str | None = None,
    **over: Any,
) -> list[dict[str, Any]]:
    """A run (trace `n`) with steps `classify` and `extract`; `failed_step` fails with `error`,
    and so does the run (the exception goes through it), and an HTTP call inside the step."""
    failed = error or {}
    run = span(n, 1, None, start, kind="run", agent_marked=True, name="process", **over)
    run["end_ns"] = start + 10 * SECOND
    if failed_step:
        run.update(failed)
    if checks:
        run["failed_checks"] = checks
    spans = [run]
    for i, name in enumerate(("classify", "extract", "lookup"), start=2):
        step = span(n, i, 1, start + i * SECOND, name=name, **over)
        if name == failed_step:
            step.update(failed)
            call = span(n, 10 + i, i, start + i * SECOND + 1, kind="http", name="GET", **over)
            call.update(failed)
            spans.append(call)
        spans.append(step)
        if name == failed_step:
            break
    return spans


def apply(store: Store, spans: list[dict[str, Any]]) -> None:
    store.apply(pa.Table.from_pylist(spans, schema=SPAN_SCHEMA), 1)


RATE = failure("rate_limited", "429 Too Many Requests for request req_81231", "fp-rate")
TIMEOUT = failure("timeout", "timed out after 30 s", "fp-timeout")


@pytest.fixture
def fleet(store: Store) -> Store:
    """Production: 10 runs of extractor 1.0 over two hours — 3 rate-limited at `extract`, 1
    timed out at `lookup`, 2 silent failures; 2 runs of 1.1 (1 rate-limited); staging: 4 ok
    runs and 1 timed out. Another agent and another project, to be left out."""
    spans: list[dict[str, Any]] = []
    for n in range(10):
        start = BASE + n * 12 * 60 * SECOND
        if n in (1, 4, 8):
            spans += trace(n + 1, start, failed_step="extract", error=RATE)
        elif n == 6:
            spans += trace(n + 1, start, failed_step="lookup", error=TIMEOUT)
        elif n in (2, 3):
            spans += trace(n + 1, start, checks='["date_is_iso"]')
        else:
            spans += trace(n + 1, start)
    spans += trace(20, BASE + 5 * SECOND, version="1.1", failed_step="extract", error=RATE)
    spans += trace(21, BASE + 7 * SECOND, version="1.1")
    for n in range(5):
        error = {"failed_step": "lookup", "error": TIMEOUT} if n == 0 else {}
        spans += trace(30 + n, BASE - HOUR + n * SECOND, environment="staging", **error)
    spans += trace(40, BASE, agent="other", failed_step="classify", error=RATE)
    spans += trace(41, BASE, project="elsewhere", failed_step="classify", error=RATE)
    apply(store, spans)
    return store


def where(**over: Any) -> RunFilter:
    return RunFilter(project="default", **{"agent": "extractor", **over})


def test_counts_per_version_environment_and_class(fleet: Store) -> None:
    got = {
        (r["version"], r["environment"], r["error_class"]): (
            r["runs"],
            r["errors"],
            r["silent_failures"],
        )
        for r in fleet.error_counts(where())
    }
    assert got == {
        ("1.0", "production", None): (6, 0, 2),
        ("1.0", "production", "rate_limited"): (3, 3, 0),
        ("1.0", "production", "timeout"): (1, 1, 0),
        ("1.1", "production", None): (1, 0, 0),
        ("1.1", "production", "rate_limited"): (1, 1, 0),
        ("1.0", "staging", None): (4, 0, 0),
        ("1.0", "staging", "timeout"): (1, 1, 0),
    }
    (rate,) = [
        r
        for r in fleet.error_counts(where(version="1.0", environment="production"))
        if r["error_class"] == "rate_limited"
    ]
    assert (rate["first_ns"], rate["last_ns"]) == (BASE + 12 * 60 * SECOND, BASE + 96 * 60 * SECOND)
    every_agent = {r["agent"] for r in fleet.error_counts(RunFilter(project="default"))}
    assert every_agent == {"extractor", "other"}
    assert fleet.error_counts(RunFilter(project="nobody")) == []


def test_a_window_counts_the_runs_that_started_in_it(fleet: Store) -> None:
    rows = fleet.error_counts(
        where(version="1.0", since_ns=BASE + 30 * 60 * SECOND, until_ns=BASE + 100 * 60 * SECOND)
    )
    got = {r["error_class"]: (r["runs"], r["errors"], r["silent_failures"]) for r in rows}
    # Runs 3 to 8 (36 to 96 minutes): 4 and 8 rate-limited, 6 timed out, 3 a silent failure.
    assert got == {None: (3, 0, 1), "rate_limited": (2, 2, 0), "timeout": (1, 1, 0)}


def test_failed_runs_name_the_step_their_class_came_from(fleet: Store) -> None:
    got = {
        (r["version"], r["environment"], r["step"], r["error_class"]): r["errors"]
        for r in fleet.error_steps(where())
    }
    assert got == {
        ("1.0", "production", "extract", "rate_limited"): 3,
        ("1.0", "production", "lookup", "timeout"): 1,
        ("1.1", "production", "extract", "rate_limited"): 1,
        ("1.0", "staging", "lookup", "timeout"): 1,
    }
    (first,) = [r for r in fleet.error_steps(where(environment="staging"))]
    assert first["first_ns"] == first["last_ns"] == BASE - HOUR


def test_one_step_counts_its_own_spans(fleet: Store) -> None:
    production = where(environment="production")
    got = {
        (r["version"], r["error_class"]): (r["runs"], r["errors"])
        for r in fleet.error_counts(production, step="extract")
    }
    # Every production run reached `extract`: 10 of 1.0, 2 of 1.1.
    assert got == {
        ("1.0", None): (7, 0),
        ("1.0", "rate_limited"): (3, 3),
        ("1.1", None): (1, 0),
        ("1.1", "rate_limited"): (1, 1),
    }
    steps = fleet.error_steps(production, step="GET")
    assert {(r["version"], r["step"], r["error_class"]): r["errors"] for r in steps} == {
        ("1.0", "GET", "rate_limited"): 3,
        ("1.0", "GET", "timeout"): 1,
        ("1.1", "GET", "rate_limited"): 1,
    }
    assert fleet.error_counts(production, step="nothing") == []


def test_failed_steps_count_every_failure_whether_the_run_failed_or_not(fleet: Store) -> None:
    # A retried call: the first attempt failed, the run went on and ended OK.
    start = BASE + 3 * HOUR
    spans = trace(50, start)
    spans.append(
        span(50, 60, 3, start + 3 * SECOND + 1, kind="http", name="POST", dependency="llm")
        | failure("rate_limited", "429", "fp-429")
    )
    apply(fleet, spans)
    rows = fleet.failed_steps(where(environment="production", version="1.0"))
    got = {
        (r["step"], r["kind"], r["dependency"], r["error_class"]): (r["errors"], r["runs"])
        for r in rows
    }
    assert got == {
        ("extract", "step", None, "rate_limited"): (3, 3),
        ("GET", "http", None, "rate_limited"): (3, 3),
        ("lookup", "step", None, "timeout"): (1, 1),
        ("GET", "http", None, "timeout"): (1, 1),
        ("POST", "http", "llm", "rate_limited"): (1, 1),
    }
    (run,) = [r for r in fleet.error_counts(where(since_ns=start)) if r["runs"]]
    assert (run["errors"], run["error_class"]) == (0, None)
    (post,) = fleet.failed_steps(where(), step="POST")
    assert post["first_ns"] == post["last_ns"] == start + 3 * SECOND + 1


def test_timeline_buckets_runs_by_their_start(fleet: Store) -> None:
    rows = fleet.error_timeline(where(environment="production"), HOUR)
    got = {
        (r["bucket_ns"], r["error_class"]): (r["runs"], r["errors"], r["silent_failures"])
        for r in rows
    }
    assert got == {
        # Runs 0-4 of 1.0 and both runs of 1.1: 1, 4 and one of 1.1 rate-limited, 2 and 3 silent.
        (BASE, None): (4, 0, 2),
        (BASE, "rate_limited"): (3, 3, 0),
        # Runs 5-9: 6 timed out, 8 rate-limited.
        (BASE + HOUR, None): (3, 0, 0),
        (BASE + HOUR, "rate_limited"): (1, 1, 0),
        (BASE + HOUR, "timeout"): (1, 1, 0),
    }
    assert [r["bucket_ns"] for r in rows] == sorted(r["bucket_ns"] for r in rows)
    with pytest.raises(ValueError):
        fleet.error_timeline(where(), 0)


def test_fingerprints_group_messages_with_the_latest_example(fleet: Store) -> None:
    groups = fleet.error_fingerprints(where(environment="production"), limit=10)
    assert [(g["fingerprint"], g["error_class"], g["count"]) for g in groups] == [
        ("fp-rate", "rate_limited", 4),
        ("fp-timeout", "timeout", 1),
    ]
    rate = groups[0]
    # First: the run of 1.1, five seconds in; last: run 8 of 1.0.
    assert (rate["first_ns"], rate["last_ns"]) == (BASE + 5 * SECOND, BASE + 96 * 60 * SECOND)
    assert rate["agents"] == 1
    # The latest: run 8 (trace 9); its error as the step where it came from recorded it.
    assert rate["trace_id"] == f"{9:032x}" and rate["example_agent"] == "extractor"
    assert rate["example_start_ns"] == BASE + 96 * 60 * SECOND
    assert (rate["span_name"], rate["span_id"]) == ("extract", f"{3:016x}")
    assert rate["error_type"] == "RateLimitError"
    assert rate["error_message"] == RATE["error_message"]
    assert len(fleet.error_fingerprints(where(), limit=1)) == 1
    assert fleet.error_fingerprints(where(agent="nobody"), limit=10) == []


def test_fingerprints_of_one_step_take_that_step_as_example(fleet: Store) -> None:
    (group,) = fleet.error_fingerprints(where(environment="staging"), limit=10, step="GET")
    assert (group["fingerprint"], group["count"]) == ("fp-timeout", 1)
    assert (group["span_name"], group["span_id"]) == ("GET", f"{14:016x}")
    assert group["trace_id"] == f"{30:032x}" and group["error_type"] == "ReadTimeout"


def test_cadence_is_the_median_gap_of_the_latest_runs(fleet: Store) -> None:
    production = [BASE + n * 12 * 60 * SECOND for n in range(10)] + [
        BASE + 5 * SECOND,
        BASE + 7 * SECOND,
    ]

    def median_gap(starts: list[int]) -> float:
        ordered = sorted(starts)
        return statistics.median(b - a for a, b in itertools.pairwise(ordered))

    got = {(r["agent"], r["environment"]): r for r in fleet.run_cadence("default", None, 200)}
    assert set(got) == {
        ("extractor", "production"),
        ("extractor", "staging"),
        ("other", "production"),
    }
    extractor = got[("extractor", "production")]
    assert extractor["last_run_ns"] == max(production)
    assert extractor["last_version"] == "1.0"
    assert extractor["history_runs"] == 12
    # Eleven gaps between twelve starts; the run before the oldest one read is not known.
    assert extractor["usual_gap_ns"] == median_gap(production) == 12 * 60 * SECOND
    assert got[("extractor", "staging")]["usual_gap_ns"] == SECOND
    assert got[("other", "production")]["usual_gap_ns"] is None

    # The latest three runs, and the gap from the oldest of them to the run before it.
    (latest,) = [
        r
        for r in fleet.run_cadence("default", None, 3)
        if r["environment"] == "production" and r["agent"] == "extractor"
    ]
    assert latest["history_runs"] == 3 and latest["usual_gap_ns"] == 12 * 60 * SECOND

    # As it was ten seconds in: the runs of 1.1 were the last.
    early = {
        (r["agent"], r["environment"]): r
        for r in fleet.run_cadence("default", BASE + 10 * SECOND, 200)
    }
    first = early[("extractor", "production")]
    assert (first["last_run_ns"], first["last_version"]) == (BASE + 7 * SECOND, "1.1")
    assert first["usual_gap_ns"] == median_gap([BASE, BASE + 5 * SECOND, BASE + 7 * SECOND])
    assert fleet.run_cadence("nobody", None, 200) == []
