"""`firstwatch drift` and `firstwatch baseline create/list`: clients of the drift API."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Column, Table

from firstwatch.cli.client import Client
from firstwatch.cli.options import JsonOpt, KeyOpt, ServerOpt, SinceOpt, UntilOpt, VersionOpt

baseline_app = typer.Typer(help="Freeze and list named baselines of input drift.")

out = Console()


_STYLE = {"major": "red", "moderate": "yellow", "not_enough_data": "dim"}


def _styled(severity: str) -> str:
    style = _STYLE.get(severity)
    return f"[{style}]{severity}[/{style}]" if style else severity


def _number(value: float | None, digits: int = 3) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _p_value(value: float | None) -> str:
    return "" if value is None else f"{value:.2g}"


def _share(value: float | None) -> str:
    return "" if value is None else f"{value:.1%}"


def _print_report(report: dict[str, Any]) -> None:
    baseline, window = report["baseline"], report["window"]
    out.print(
        f"[bold]{report['agent']}[/bold]: {window['environment']}"
        + (f" {window['version']}" if window["version"] else "")
        + f", {window['runs']} runs"
        + (f" since {window['since']}" if window["since"] else "")
        + (f" until {window['until']}" if window["until"] else "")
    )
    out.print(f"baseline: {baseline['description']} — {baseline['runs']} runs")
    out.print(f"verdict: [bold]{_styled(report['verdict'])}[/bold] — {report['reason']}")
    table = Table(
        Column("feature", no_wrap=True),
        "severity",
        "PSI",
        "KS",
        "JS",
        "p (Holm)",
        "novel",
        "new categories",
    )
    for feature in report["features"]:
        table.add_row(
            feature["feature"] + ("" if feature["presence"] == "both" else "*"),
            _styled(feature["severity"]),
            _number(feature["psi"]),
            _number(feature["ks"]),
            _number(feature["js"]),
            _p_value(feature["p_adjusted"]),
            _share(feature["novel_share"]),
            ", ".join(feature["novel_categories"][:3]),
        )
    out.print(table)
    if any(f["presence"] != "both" for f in report["features"]):
        out.print("[dim]* on one side only (missing from every run of the other)[/dim]")


def _print_novel(novel: dict[str, Any]) -> None:
    if not novel["runs"]:
        out.print("No run lies outside the baseline.")
        return
    table = Table(
        "novelty", "start", Column("trace", no_wrap=True), "novel values", title="Most novel runs"
    )
    for run in novel["runs"]:
        profile = run["profile"]
        shown = ", ".join(f"{name}={profile[name]}" for name in run["novel_features"])
        table.add_row(
            str(run["novelty"]),
            run["start_time"] or "",
            run["trace_id"],
            shown,
        )
    out.print(table)


def drift(
    agent: Annotated[
        str | None, typer.Option(help="The agent (default: a named baseline's agent).")
    ] = None,
    environment: Annotated[
        str, typer.Option("--env", help="Environment of the compared runs.")
    ] = "production",
    version: VersionOpt = None,
    baseline: Annotated[
        str | None,
        typer.Option(
            help="A named baseline, or a cohort such as env=staging,version=1.1 "
            "(default: the staging runs of the agent and version, else of the agent)."
        ),
    ] = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    novel: Annotated[int, typer.Option(help="Also list this many most novel runs (0: none).")] = 5,
    server: ServerOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """How far an agent's inputs moved from its baseline, feature by feature."""
    if novel < 0:
        raise typer.BadParameter("must be 0 or more", param_hint="--novel")
    client = Client(server, key)
    params = {
        "agent": agent,
        "environment": environment,
        "version": version,
        "baseline": baseline,
        "since": since,
        "until": until,
    }
    report = client.get("/api/v1/drift", **params)
    runs = client.get("/api/v1/drift/novel-runs", **params, limit=novel) if novel else None
    if as_json:
        body = dict(report)
        if runs is not None:
            body["novel_runs"] = runs["runs"]
        out.print_json(json.dumps(body))
        return
    _print_report(report)
    if runs is not None:
        _print_novel(runs)


@baseline_app.command("create")
def baseline_create(
    name: Annotated[str, typer.Argument(help="Name of the baseline (letters, digits, . _ -).")],
    agent: Annotated[str, typer.Option(help="The agent whose runs it holds.")],
    cohort: Annotated[
        str,
        typer.Option(help="Which runs: env=staging,version=1.1,since=7d,until=1d (any of them)."),
    ] = "env=staging",
    server: ServerOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Freeze a named baseline from a cohort of an agent's runs; it never changes afterwards."""
    created = Client(server, key).request(
        "POST", "/api/v1/baselines", json={"name": name, "agent": agent, "cohort": cohort}
    )
    if as_json:
        out.print_json(json.dumps(created))
        return
    out.print(
        f"Froze baseline [bold]{created['name']}[/bold]: {created['runs']} runs of "
        f"{created['agent']} ({created['cohort'] or 'all runs'}), "
        f"{len(created['features'])} features."
    )


@baseline_app.command("list")
def baseline_list(
    agent: Annotated[str | None, typer.Option(help="Only this agent's.")] = None,
    server: ServerOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List the named baselines."""
    body = Client(server, key).get("/api/v1/baselines", agent=agent)
    if as_json:
        out.print_json(json.dumps(body))
        return
    table = Table("name", "agent", "cohort", "runs", "since", "until", "created")
    for b in body["baselines"]:
        table.add_row(
            b["name"],
            b["agent"],
            b["cohort"],
            str(b["runs"]),
            b["since"] or "",
            b["until"] or "",
            b["created"] or "",
        )
    out.print(table)
