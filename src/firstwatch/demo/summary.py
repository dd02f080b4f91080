"""The demo's closing table: the truth per agent and environment, beside what the server counts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich import box
from rich.table import Table

_TRUTH_COLUMNS = (
    ("silent_wrong_outputs", "wrong"),
    ("retried", "429"),
    ("racing", "race"),
    ("lost_updates", "lost"),
    ("date_format_drift", "drift"),
    ("slow", "slow"),
    ("timed_out", "t/o"),
)
_LEGEND = (
    "runs and errors: truth/server · wrong: silent wrong outputs · 429: retried after a rate "
    "limit · race: in a lost-update interleaving · lost: its CRM update lost · drift: date in "
    "another format · slow: registry over 1 s · t/o: registry timeout"
)


def server_counts(agents: Sequence[Mapping[str, Any]]) -> dict[tuple[str, str], tuple[int, int]]:
    """(runs, errors) per (agent, environment), from `/api/v1/agents`."""
    counts: dict[tuple[str, str], tuple[int, int]] = {}
    for row in agents:
        key = (str(row.get("agent") or ""), str(row.get("environment") or ""))
        runs, errors = counts.get(key, (0, 0))
        counts[key] = (runs + int(row["runs"]), errors + int(row["errors"]))
    return counts


def summary_table(
    groups: Sequence[Mapping[str, Any]], server: Mapping[tuple[str, str], tuple[int, int]]
) -> Table:
    """A table with one row per agent and environment.

    Args:
        groups: The truth summary's groups (`truth.summarise`).
        server: Runs and errors the server reports, per (agent, environment).

    Returns:
        The table: runs and errors as truth/server, then the injected failures.
    """
    table = Table(
        title="What happened",
        title_justify="left",
        caption=_LEGEND,
        caption_justify="left",
        box=box.SIMPLE_HEAD,
    )
    table.add_column("agent")
    table.add_column("env")
    table.add_column("runs", justify="right")
    table.add_column("errors", justify="right")
    for _, title in _TRUTH_COLUMNS:
        table.add_column(title, justify="right")
    for group in groups:
        runs, errors = server.get((group["agent"], group["environment"]), (0, 0))
        mismatch = runs != group["runs"] or errors != group["errors"]
        style = "yellow" if mismatch else ""
        table.add_row(
            f"{group['agent']} {group['version']}",
            group["environment"],
            f"{group['runs']}/{runs}",
            f"{group['errors']}/{errors}",
            *(str(group[name]) if group[name] else "·" for name, _ in _TRUTH_COLUMNS),
            style=style,
        )
    return table
