"""The options every client command of the REST API takes: the server, the key, JSON output."""

from __future__ import annotations

from typing import Annotated

import typer

from firstwatch.cli.client import DEFAULT_SERVER

ServerOpt = Annotated[
    str | None,
    typer.Option(
        "--server", envvar="FIRSTWATCH_SERVER", help=f"Server URL (default: {DEFAULT_SERVER})."
    ),
]
KeyOpt = Annotated[
    str | None,
    typer.Option("--key", envvar="FIRSTWATCH_API_KEY", help="API key.", show_default=False),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
AgentOpt = Annotated[str | None, typer.Option(help="Only this agent.")]
VersionOpt = Annotated[str | None, typer.Option(help="Only this version.")]
EnvOpt = Annotated[str | None, typer.Option("--env", help="Only this environment.")]
SinceOpt = Annotated[
    str | None, typer.Option(help="RFC 3339 or relative (24h); default: all time.")
]
UntilOpt = Annotated[str | None, typer.Option(help="RFC 3339 or relative (1h).")]
