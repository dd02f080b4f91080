"""`firstwatch status` and `firstwatch errors`: clients of `/api/v1/agents` and `/api/v1/errors`."""

from __future__ import annotations

import json
import time
from typing import Annotated, Any, Final

import typer
from rich.console import Console, Group
from rich.live import Live
from rich.table import Column, Table
from rich.text import Text

from firstwatch.cli.client import Client
from firstwatch.cli.options import (
    AgentOpt,
    EnvOpt,
    JsonOpt,
    KeyOpt,
    ServerOpt,
    SinceOpt,
    UntilOpt,
    VersionOpt,
)

out = Console()


STATUS_STYLE: Final = {
    "healthy": "green",
    "degraded": "yellow",
    "silent": "magenta",
    "failing": "bold red",
}
# Worst first.
_STATUS_ORDER: Final = {"failing": 0, "silent": 1, "degraded": 2, "healthy": 3}
OVER_TIME_ROWS: Final = 24
"""The latest buckets `firstwatch errors` shows (the JSON has them all)."""


def _text(value: Any) -> Text:
    """A table cell shown as it is, never read as Rich markup."""
    return Text("" if value is None else str(value))


def _pct(value: float) -> str:
    return f"{value:.1%}"


def sorted_agents(agents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Agents worst status first, then by name, environment and version."""
    return sorted(
        agents,
        key=lambda a: (
            _STATUS_ORDER.get(a["status"], 9),
            a["agent"] or "",
            a["environment"],
            a["version"] or "",
        ),
    )


def status_table(body: dict[str, Any]) -> Table:
    """The `/api/v1/agents` answer as a table, worst status first."""
    since, until = body.get("status_since"), body.get("status_until")
    table = Table(
        "status",
        Column("agent", no_wrap=True),
        "version",
        "env",
        Column("runs", justify="right"),
        Column("error rate", justify="right"),
        Column("silent-failure rate", justify="right"),
        "reason",
        title=f"Agent status {since or ''} – {until or 'now'}",
    )
    for a in sorted_agents(body["agents"]):
        style = STATUS_STYLE.get(a["status"], "")
        table.add_row(
            Text(a["status"], style=style),
            _text(a["agent"]),
            _text(a["version"]),
            _text(a["environment"]),
            str(a["runs"]),
            _pct(a["error_rate"]),
            _pct(a["silent_failure_rate"]),
            _text(a["reason"]),
        )
    return table


def _fetch_status(
    client: Client, since: str, until: str | None, agent: str | None, environment: str | None
) -> dict[str, Any]:
    body: dict[str, Any] = client.get("/api/v1/agents", since=since, until=until)
    body["agents"] = [
        a
        for a in body["agents"]
        if (agent is None or a["agent"] == agent)
        and (environment is None or a["environment"] == environment)
    ]
    return body


def status(
    since: Annotated[
        str, typer.Option(help="Judge the window since: RFC 3339 or relative (1h, 30m).")
    ] = "1h",
    until: Annotated[
        str | None, typer.Option(help="End of the window: RFC 3339 or relative (default: now).")
    ] = None,
    agent: AgentOpt = None,
    environment: EnvOpt = None,
    watch: Annotated[
        bool, typer.Option("--watch", help="Refresh every --interval seconds until Ctrl-C.")
    ] = False,
    interval: Annotated[
        float, typer.Option(min=0.1, help="Seconds between refreshes with --watch.")
    ] = 5.0,
    server: ServerOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Each agent's status — healthy, degraded, failing or silent — and why.

    Failing and degraded come from the window's error rate (failed
    runs) and silent-failure rate (runs that ended OK but failed an
    output check); silent means no runs for many of the agent's usual
    gaps between runs. Thresholds are server settings (docs/settings.md).
    """
    client = Client(server, key)
    if not watch:
        body = _fetch_status(client, since, until, agent, environment)
        if as_json:
            out.print_json(json.dumps(body))
        else:
            out.print(status_table(body))
        return
    try:
        if as_json:
            while True:
                body = _fetch_status(client, since, until, agent, environment)
                typer.echo(json.dumps(body, separators=(",", ":")))
                time.sleep(interval)
        with Live(console=out, auto_refresh=False) as live:
            while True:
                body = _fetch_status(client, since, until, agent, environment)
                live.update(
                    Group(
                        status_table(body),
                        Text(f"every {interval:g} s; Ctrl-C to stop", style="dim"),
                    ),
                    refresh=True,
                )
                time.sleep(interval)
    except KeyboardInterrupt:
        return


def _steps(steps: list[dict[str, Any]]) -> str:
    shown = [f"{s['step'] or '(run)'} ({s['count']})" for s in steps[:3]]
    more = len(steps) - len(shown)
    return ", ".join(shown) + (f", +{more}" if more > 0 else "")


def _new(flag: bool | None) -> Text:
    if flag is None:
        return Text("?", style="dim")
    return Text("new", style="bold red") if flag else Text("")


def classes_table(report: dict[str, Any]) -> Table:
    """Error classes per agent, version and environment, with the steps they came from."""
    table = Table(
        Column("agent", no_wrap=True),
        "version",
        "env",
        "class",
        Column("count", justify="right"),
        Column("rate", justify="right"),
        "",
        "steps" if report["scope"]["level"] == "run" else "step",
        "last seen",
        title="Error classes",
    )
    for c in report["by_class"]:
        table.add_row(
            _text(c["agent"]),
            _text(c["version"]),
            _text(c["environment"]),
            _text(c["error_class"]),
            str(c["count"]),
            _pct(c["rate"]),
            _new(c["new"]),
            _text(_steps(c["steps"])),
            _text(c["last_seen"]),
        )
    return table


def failed_steps_table(report: dict[str, Any], limit: int = 15) -> Table:
    """Where steps failed, whether their runs failed or went on (retried calls included)."""
    table = Table(
        Column("agent", no_wrap=True),
        "env",
        "step",
        "kind",
        "dependency",
        "class",
        Column("count", justify="right"),
        Column("runs", justify="right"),
        title="Failed steps (their runs may have gone on)",
    )
    for f in report["failed_steps"][:limit]:
        table.add_row(
            _text(f["agent"]),
            _text(f["environment"]),
            _text(f["step"]),
            _text(f["kind"]),
            _text(f["dependency"]),
            _text(f["error_class"]),
            str(f["count"]),
            str(f["runs"]),
        )
    return table


def messages_table(report: dict[str, Any], limit: int = 15) -> Table:
    """The most frequent message groups, each with its latest example."""
    table = Table(
        Column("count", justify="right"),
        "class",
        "type",
        Column("message", overflow="fold"),
        "last seen",
        Column("example trace", no_wrap=True),
        title="Messages",
    )
    for g in report["by_fingerprint"][:limit]:
        table.add_row(
            str(g["count"]),
            _text(g["error_class"]),
            _text(g["error_type"]),
            _text(g["pattern"]),
            _text(g["last_seen"]),
            _text(g["example"]["trace_id"]),
        )
    return table


def timeline_table(report: dict[str, Any], rows: int = OVER_TIME_ROWS) -> Table:
    """The latest buckets: runs, errors, silent failures and the classes that failed."""
    table = Table(
        "start",
        Column("runs", justify="right"),
        Column("errors", justify="right"),
        Column("silent", justify="right"),
        "classes",
        title=f"Over time (per {report['scope']['bucket']})",
    )
    for b in report["over_time"][-rows:]:
        classes = sorted(b["classes"].items(), key=lambda kv: (-kv[1], kv[0]))
        table.add_row(
            b["start"],
            str(b["runs"]),
            str(b["errors"]),
            str(b["silent_failures"]),
            _text(", ".join(f"{name} {count}" for name, count in classes)),
        )
    return table


def print_errors(report: dict[str, Any], console: Console) -> None:
    """The `/api/v1/errors` answer as a summary line and tables."""
    scope, totals = report["scope"], report["totals"]
    line = f"{totals['runs']} runs: {totals['errors']} failed ({_pct(totals['error_rate'])}), "
    line += f"{totals['silent_failures']} silent failures ({_pct(totals['silent_failure_rate'])})"
    if scope["level"] == "step":
        line = (
            f"{totals['runs']} {scope['step']} steps: {totals['errors']} failed "
            f"({_pct(totals['error_rate'])})"
        )
    console.print(Text(line))
    console.print(Text(f"baseline: {report['baseline']['description']}", style="dim"))
    for new in report["new_classes"]:
        console.print(
            Text(
                f"new: {new['error_class']} on {new['agent']} ({new['count']}, first "
                f"{new['first_seen']})",
                style="bold red",
            )
        )
    if not report["by_class"] and not report["failed_steps"]:
        console.print("No errors.")
        return
    if report["by_class"]:
        console.print(classes_table(report))
    else:
        console.print("No failed runs.")
    if report["failed_steps"] and scope["level"] == "run":
        console.print(failed_steps_table(report))
    if report["by_fingerprint"]:
        console.print(messages_table(report))
    if report["over_time"]:
        console.print(timeline_table(report))


def errors(
    agent: AgentOpt = None,
    version: VersionOpt = None,
    environment: EnvOpt = None,
    step: Annotated[
        str | None, typer.Option(help="Count the steps of this name instead of runs.")
    ] = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    bucket: Annotated[str, typer.Option(help="Width of the over-time slices (15m, 1h, 1d).")] = (
        "1h"
    ),
    baseline: Annotated[
        str | None,
        typer.Option(
            help="A named baseline, or a cohort such as env=staging,version=1.1 "
            "(default: each agent's staging runs)."
        ),
    ] = None,
    server: ServerOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Error classes per agent, version, environment and step; grouped messages; the course
    over time; and the classes each agent's baseline never had."""
    report = Client(server, key).get(
        "/api/v1/errors",
        agent=agent,
        version=version,
        environment=environment,
        step=step,
        since=since,
        until=until,
        bucket=bucket,
        baseline=baseline,
    )
    if as_json:
        out.print_json(json.dumps(report))
        return
    print_errors(report, out)
