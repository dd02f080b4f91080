"""The `firstwatch` command line."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from firstwatch.cli.client import Client
from firstwatch.cli.drift_cmd import baseline_app, drift
from firstwatch.cli.errors_cmd import errors, status
from firstwatch.cli.latency_cmd import deps, latency
from firstwatch.cli.options import AgentOpt, EnvOpt, JsonOpt, KeyOpt, ServerOpt

app = typer.Typer(
    name="firstwatch",
    help="Watch an AI agent's first days in production: serve, inspect runs, manage keys.",
    no_args_is_help=True,
    add_completion=False,
)
keys_app = typer.Typer(help="Manage API keys (needs an admin key, or none on loopback).")
db_app = typer.Typer(help="Work on the store directly (the server must not be running).")
app.add_typer(keys_app, name="keys")
app.add_typer(db_app, name="db")
app.add_typer(baseline_app, name="baseline")
app.command()(drift)
app.command()(latency)
app.command()(deps)
app.command()(status)
app.command()(errors)

out = Console()


@app.command()
def serve(
    store: Annotated[
        str | None,
        typer.Option(help="Store URL: path.duckdb, duckdb:///rel.duckdb, duckdb:////abs.duckdb."),
    ] = None,
    host: Annotated[str | None, typer.Option(help="Address to bind (default 127.0.0.1).")] = None,
    port: Annotated[
        int | None,
        typer.Option("--port", help="OTLP/HTTP, API and dashboard port (default 4318)."),
    ] = None,
    grpc_port: Annotated[
        int | None, typer.Option(help="OTLP/gRPC port; -1 disables (default 4317).")
    ] = None,
    require_keys: Annotated[
        bool | None,
        typer.Option(
            "--require-keys/--no-require-keys",
            help="Require API keys (always on off loopback).",
            show_default=False,
        ),
    ] = None,
    wal_dir: Annotated[str | None, typer.Option(help="Write-ahead log directory.")] = None,
) -> None:
    """Run the server: OTLP ingest on 4318 (HTTP) and 4317 (gRPC), the API, one DuckDB store.

    Every setting can also come from its FIRSTWATCH_* environment variable (docs/settings.md).
    """
    from firstwatch.server.runtime import serve as run_server
    from firstwatch.settings import Settings

    overrides: dict[str, Any] = {
        "store": store,
        "host": host,
        "http_port": port,
        "grpc_port": grpc_port,
        "require_keys": require_keys,
        "wal_dir": wal_dir,
    }
    settings = Settings.load(overrides)
    try:
        run_server(settings)
    except (OSError, RuntimeError, ValueError) as exc:
        Console(stderr=True, soft_wrap=True).print(
            f"firstwatch serve: {exc}", style="red", markup=False, highlight=False
        )
        raise typer.Exit(1) from None


@app.command()
def demo(
    runs: Annotated[int, typer.Option(min=1, help="Production runs per agent.")] = 300,
    staging_runs: Annotated[
        int | None,
        typer.Option(
            min=1, help="Staging runs per agent (default: a third of --runs, 10 or more)."
        ),
    ] = None,
    speed: Annotated[
        float,
        typer.Option(
            min=0.01,
            help="Replay speed: multiplies the time compression (quiet hours replay at 40x "
            "real time, the peak at 1x).",
        ),
    ] = 1.0,
    store_dir: Annotated[
        str | None,
        typer.Option(
            help="Empty directory for the store, documents and truth file (default: a new "
            "temporary directory).",
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of every random choice.")] = 7,
    exit_after_summary: Annotated[
        bool, typer.Option("--exit", help="Stop after the summary instead of serving.")
    ] = False,
) -> None:
    """Replay two days of a simulated agent fleet into a fresh server, then serve it.

    Three document-processing agents run through the real SDK and OTLP path
    against local fake services: staging, then 48 hours of production with
    messy inputs, a peak of about 200 concurrent runs, rate limits, lost
    updates, a date format drift and a slow dependency. The truth about every
    run goes to demo-truth.jsonl next to the store.
    """
    from pathlib import Path

    from firstwatch.demo import DemoOptions, run_demo

    options = DemoOptions(
        runs=runs,
        staging_runs=staging_runs,
        speed=speed,
        store_dir=Path(store_dir) if store_dir else None,
        seed=seed,
        exit_after_summary=exit_after_summary,
    )
    raise typer.Exit(run_demo(options, out))


@keys_app.command("create")
def keys_create(
    project: Annotated[str, typer.Option(help="Project the key belongs to (created if new).")],
    scope: Annotated[str, typer.Option(help="ingest, read or admin.")] = "ingest",
    server: ServerOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create an API key; it is printed once and stored only as a hash."""
    if scope not in ("ingest", "read", "admin"):
        raise typer.BadParameter("scope must be ingest, read or admin", param_hint="--scope")
    created = Client(server, key).request(
        "POST", "/api/v1/keys", json={"project": project, "scope": scope}
    )
    if as_json:
        out.print_json(json.dumps(created))
        return
    out.print(f"Created a [bold]{scope}[/bold] key for project [bold]{project}[/bold]:")
    out.print(created["key"], soft_wrap=True, highlight=False)
    out.print("[dim]Shown once: store it now.[/dim]")


@app.command()
def runs(
    agent: AgentOpt = None,
    environment: EnvOpt = None,
    status: Annotated[str | None, typer.Option(help="ok, error or incomplete.")] = None,
    since: Annotated[str | None, typer.Option(help="RFC 3339 or relative (24h).")] = None,
    limit: Annotated[int, typer.Option(help="How many runs.")] = 20,
    server: ServerOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List the latest runs."""
    page = Client(server, key).get(
        "/api/v1/runs",
        agent=agent,
        environment=environment,
        status=status,
        since=since,
        limit=limit,
    )
    if as_json:
        out.print_json(json.dumps(page))
        return
    table = Table("start", "agent", "version", "env", "status", "class", "ms", "trace")
    for run in page["runs"]:
        style = {"error": "red", "incomplete": "yellow"}.get(run["status"], "")
        table.add_row(
            run["start_time"],
            run["agent"] or "",
            run["version"] or "",
            run["environment"],
            f"[{style}]{run['status']}[/{style}]" if style else run["status"],
            run["error_class"] or "",
            f"{run['duration_ms']:.0f}",
            run["trace_id"],
        )
    out.print(table)


@app.command()
def agents(
    since: Annotated[str | None, typer.Option(help="RFC 3339 or relative (24h).")] = None,
    server: ServerOpt = None,
    key: KeyOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List agents, versions and environments with run and error counts."""
    body = Client(server, key).get("/api/v1/agents", since=since)
    if as_json:
        out.print_json(json.dumps(body))
        return
    table = Table("agent", "version", "env", "runs", "errors", "error rate", "last seen")
    for a in body["agents"]:
        table.add_row(
            a["agent"] or "",
            a["version"] or "",
            a["environment"],
            str(a["runs"]),
            str(a["errors"]),
            f"{a['error_rate']:.1%}",
            a["last_seen"] or "",
        )
    out.print(table)


@db_app.command("settings-doc")
def settings_doc() -> None:
    """Print the settings reference (docs/settings.md is this output)."""
    from firstwatch.settings import settings_markdown

    typer.echo(settings_markdown(), nl=False)
