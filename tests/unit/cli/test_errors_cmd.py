"""How `firstwatch status` and `firstwatch errors` lay out the API's answers."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from firstwatch.cli.errors_cmd import print_errors, sorted_agents, status_table


def agent(name: str, status: str, **over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "agent": name,
        "version": "1.0",
        "environment": "production",
        "runs": 10,
        "errors": 0,
        "incomplete": 0,
        "error_rate": 0.0,
        "silent_failures": 0,
        "silent_failure_rate": 0.0,
        "status": status,
        "reason": "10 runs, 0.0% failed",
        "first_seen": None,
        "last_seen": None,
    }
    row.update(over)
    return row


def rendered(renderable: Any) -> str:
    console = Console(record=True, width=240, color_system=None)
    console.print(renderable)
    return console.export_text()


def test_status_lists_the_worst_first_and_prints_reasons_as_they_are() -> None:
    body = {
        "agents": [
            agent("b-healthy", "healthy"),
            agent("a-degraded", "degraded", error_rate=0.1),
            agent("quiet", "silent", runs=0, reason="no runs for 2.0 h; it usually runs [often]"),
            agent("rates", "failing", error_rate=0.5, reason="50% of 10 runs failed"),
        ],
        "status_since": "2026-11-26T09:00:00.000Z",
        "status_until": "2026-11-26T10:00:00.000Z",
    }
    assert [a["agent"] for a in sorted_agents(body["agents"])] == [
        "rates",
        "quiet",
        "a-degraded",
        "b-healthy",
    ]
    text = rendered(status_table(body))
    rows = [line for line in text.splitlines() if line.startswith("│ ")]
    assert [row.split()[1] for row in rows] == ["failing", "silent", "degraded", "healthy"]
    assert "rates" in rows[0] and "50.0%" in rows[0]
    # Brackets in a reason are text, not markup.
    assert "it usually runs [often]" in text
    assert "2026-11-26T09:00:00.000Z" in text


def report(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "scope": {
            "level": "run",
            "agent": None,
            "version": None,
            "environment": None,
            "step": None,
            "since": None,
            "until": None,
            "bucket": "1h",
        },
        "totals": {
            "runs": 40,
            "errors": 4,
            "silent_failures": 2,
            "error_rate": 0.1,
            "silent_failure_rate": 0.05,
        },
        "by_class": [
            {
                "agent": "extractor",
                "version": "1.0",
                "environment": "production",
                "error_class": "rate_limited",
                "description": "",
                "count": 3,
                "rate": 0.075,
                "share": 0.75,
                "first_seen": "2026-11-26T09:00:00.000Z",
                "last_seen": "2026-11-26T09:30:00.000Z",
                "new": True,
                "steps": [{"step": "extract", "count": 2}, {"step": None, "count": 1}],
            }
        ],
        "failed_steps": [
            {
                "agent": "extractor",
                "version": "1.0",
                "environment": "production",
                "step": "POST",
                "kind": "http",
                "dependency": "llm-api",
                "error_class": "rate_limited",
                "count": 9,
                "runs": 4,
                "first_seen": None,
                "last_seen": None,
            }
        ],
        "by_fingerprint": [
            {
                "fingerprint": "0123456789abcdef",
                "error_class": "rate_limited",
                "error_type": "HTTPStatusError",
                "pattern": "Client error '<num> Too Many Requests' for url '[<url>]'",
                "message": "Client error '429 Too Many Requests'",
                "count": 3,
                "agents": 1,
                "first_seen": "2026-11-26T09:00:00.000Z",
                "last_seen": "2026-11-26T09:30:00.000Z",
                "example": {
                    "trace_id": "ab" * 16,
                    "span_id": "cd" * 8,
                    "span_name": "extract",
                    "agent": "extractor",
                    "time": "2026-11-26T09:30:00.000Z",
                },
            }
        ],
        "over_time": [
            {"start": start, "runs": 1, "errors": 0, "silent_failures": 0, "classes": {}}
            for start in [f"2026-11-25T{h:02d}:00:00.000Z" for h in range(24)]
            + [f"2026-11-26T{h:02d}:00:00.000Z" for h in range(5)]
        ]
        + [
            {
                "start": "2026-11-26T09:00:00.000Z",
                "runs": 40,
                "errors": 4,
                "silent_failures": 2,
                "classes": {"rate_limited": 3, "timeout": 1},
            }
        ],
        "new_classes": [
            {
                "agent": "extractor",
                "error_class": "rate_limited",
                "count": 3,
                "first_seen": "2026-11-26T09:00:00.000Z",
                "last_seen": "2026-11-26T09:30:00.000Z",
            }
        ],
        "baseline": {
            "source": "default",
            "name": None,
            "cohort": "env=staging",
            "description": "the staging runs of each agent",
            "agents": [{"agent": "extractor", "runs": 12, "classes": []}],
        },
    }
    body.update(over)
    return body


def test_errors_shows_totals_new_classes_steps_messages_and_the_latest_buckets() -> None:
    console = Console(record=True, width=240, color_system=None)
    print_errors(report(), console)
    text = console.export_text()
    assert "40 runs: 4 failed (10.0%), 2 silent failures (5.0%)" in text
    assert "new: rate_limited on extractor (3, first 2026-11-26T09:00:00.000Z)" in text
    assert "extract (2), (run) (1)" in text
    assert "for url '[<url>]'" in text
    assert "ab" * 16 in text
    assert "rate_limited 3, timeout 1" in text
    (failed,) = [line for line in text.splitlines() if "llm-api" in line]
    cells = [cell.strip() for cell in failed.split("│")[1:-1]]
    assert cells == ["extractor", "production", "POST", "http", "llm-api", "rate_limited", "9", "4"]
    # Only the latest 24 of the 30 buckets are drawn.
    assert "2026-11-25T05:00:00.000Z" not in text
    assert "2026-11-25T06:00:00.000Z" in text


def test_errors_without_failures_says_so() -> None:
    console = Console(record=True, width=240, color_system=None)
    empty_totals = {
        "runs": 5,
        "errors": 0,
        "silent_failures": 0,
        "error_rate": 0.0,
        "silent_failure_rate": 0.0,
    }
    print_errors(
        report(
            by_class=[], failed_steps=[], by_fingerprint=[], new_classes=[], totals=empty_totals
        ),
        console,
    )
    text = console.export_text()
    assert "5 runs: 0 failed" in text and "No errors." in text


def test_errors_of_one_step_count_steps_without_silent_failures() -> None:
    console = Console(record=True, width=240, color_system=None)
    scope = {**report()["scope"], "level": "step", "step": "lookup"}
    print_errors(report(scope=scope), console)
    text = console.export_text()
    assert "40 lookup steps: 4 failed (10.0%)" in text and "silent failures" not in text
    assert "┃ step " in text and "┃ steps " not in text


def test_retried_failures_show_though_no_run_failed() -> None:
    console = Console(record=True, width=240, color_system=None)
    print_errors(report(by_class=[], new_classes=[]), console)
    text = console.export_text()
    assert "No failed runs." in text and "Failed steps" in text and "llm-api" in text
