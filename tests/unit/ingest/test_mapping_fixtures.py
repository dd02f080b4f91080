"""Mapping on traces recorded from real instrumentation packages (tests/fixtures/otlp/README.md)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from firstwatch.ingest.decode import decode_request
from firstwatch.ingest.mapping import map_request
from materializers import by_sql

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "otlp"


def load(name: str, fmt: str = "pb") -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    body = (FIXTURES / f"{name}.{fmt}").read_bytes()
    content_type = "application/x-protobuf" if fmt == "pb" else "application/json"
    batch = map_request(decode_request(body, content_type, None, 10**8), "default")
    assert batch.rejected == 0
    rows = [
        dict(zip(batch.columns, values, strict=True))
        for values in zip(*batch.columns.values(), strict=True)
    ]
    return by_sql(rows)


# name: (run name, agent, environment, status, error class, step count, step kinds)
EXPECTED: dict[str, tuple[str | None, str, str, str, str | None, int, dict[str, int]]] = {
    "openinference__ok": (
        "support_agent",
        "support-bot",
        "staging",
        "ok",
        None,
        3,
        {"llm": 2, "tool": 1},
    ),
    "openinference__rate_limited": (
        "support_agent",
        "support-bot",
        "production",
        "error",
        "rate_limited",
        1,
        {"llm": 1},
    ),
    "openinference__tool_error": (
        "support_agent",
        "support-bot",
        "unknown",
        "ok",
        None,
        3,
        {"llm": 2, "tool": 1},
    ),
    "openinference__incomplete": (
        None,
        "support-bot",
        "staging",
        "incomplete",
        None,
        3,
        {"llm": 2, "tool": 1},
    ),
    "genai__ok": (
        "Agent workflow",
        "triage_agent",
        "production",
        "ok",
        None,
        9,
        {"run": 1, "step": 3, "llm": 4, "tool": 1},
    ),
    "genai__rate_limited": (
        "Agent workflow",
        "triage_agent",
        "unknown",
        "error",
        "rate_limited",
        5,
        {"run": 1, "step": 2, "llm": 2},
    ),
    "genai__tool_error": (
        "Agent workflow",
        "triage_agent",
        "staging",
        "ok",
        None,
        9,
        {"run": 1, "step": 3, "llm": 4, "tool": 1},
    ),
    "openllmetry__ok": (
        "refund_request.workflow",
        "refund_agent",
        "unknown",
        "ok",
        None,
        5,
        {"run": 1, "llm": 2, "tool": 1, "step": 1},
    ),
    "openllmetry__rate_limited": (
        "refund_request.workflow",
        "refund_agent",
        "production",
        "error",
        "rate_limited",
        2,
        {"run": 1, "llm": 1},
    ),
    "httpx__ok": (
        "inventory_agent",
        "inventory-bot",
        "staging",
        "ok",
        None,
        3,
        {"tool": 1, "http": 2},
    ),
    "httpx__rate_limited": (
        "inventory_agent",
        "inventory-bot",
        "production",
        "error",
        "rate_limited",
        3,
        {"tool": 1, "http": 2},
    ),
}


@pytest.mark.parametrize("fmt", ["pb", "json"])
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_recorded_trace_maps_to_one_run_with_its_steps(name: str, fmt: str) -> None:
    runs, steps = load(name, fmt)
    run_name, agent, env, status, error_class, n_steps, kinds = EXPECTED[name]
    assert len(runs) == 1
    (run,) = runs
    assert (run["name"], run["agent"], run["environment"], run["status"], run["error_class"]) == (
        run_name,
        agent,
        env,
        status,
        error_class,
    )
    assert run["step_count"] == n_steps == len(steps)
    assert Counter(s["kind"] for s in steps) == Counter(kinds)
    assert all(s["run_span_id"] == run["span_id"] for s in steps)
    assert all(s["agent"] == agent for s in steps)


def test_every_fixture_is_covered() -> None:
    assert {p.stem for p in FIXTURES.glob("*.pb")} == set(EXPECTED)


def test_dependencies_of_model_tool_and_http_spans() -> None:
    _, steps = load("openinference__ok")
    assert {s["dependency"] for s in steps if s["kind"] == "llm"} == {"openai"}
    assert {s["dependency"] for s in steps if s["kind"] == "tool"} == {"lookup_order"}
    _, steps = load("genai__ok")
    assert {s["dependency"] for s in steps if s["kind"] == "tool"} == {"lookup_order"}
    _, steps = load("httpx__rate_limited")
    http = [s for s in steps if s["kind"] == "http"]
    assert {s["dependency"] for s in http} == {"127.0.0.1"}
    assert [s["http_status"] for s in http] == [429, 429]
    _, steps = load("httpx__ok")
    assert sorted(s["http_status"] for s in steps if s["kind"] == "http") == [200, 429]


def test_errors_are_classified_on_the_failing_steps() -> None:
    _, steps = load("genai__rate_limited")
    failed = [s for s in steps if s["status"] == "error"]
    assert {s["error_class"] for s in failed} == {"rate_limited"}
    _, steps = load("genai__tool_error")
    (tool,) = [s for s in steps if s["kind"] == "tool"]
    assert tool["status"] == "error" and tool["error_class"] == "tool_error"
    _, steps = load("openinference__tool_error")
    (tool,) = [s for s in steps if s["kind"] == "tool"]
    assert tool["status"] == "error" and tool["error_class"] is not None


def test_token_usage_and_models_are_read() -> None:
    body = (FIXTURES / "genai__ok.pb").read_bytes()
    batch = map_request(decode_request(body, "application/x-protobuf", None, 10**8), "p")
    cols = batch.columns
    usage = [
        (m, i, o)
        for m, i, o in zip(cols["model"], cols["input_tokens"], cols["output_tokens"], strict=True)
        if i is not None
    ]
    assert usage and all(m and m.startswith("gpt-4o-mini") and i > 0 and o > 0 for m, i, o in usage)
    body = (FIXTURES / "openinference__ok.pb").read_bytes()
    batch = map_request(decode_request(body, "application/x-protobuf", None, 10**8), "p")
    assert any(t for t in batch.columns["input_tokens"])
    assert any(p for p in batch.columns["input_preview"])
