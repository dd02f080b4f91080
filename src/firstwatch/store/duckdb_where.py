"""The WHERE clauses the store's queries build from their filters, with their parameters."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from firstwatch.store.base import RunFilter

RUN_COLUMNS = ("agent", "version", "environment", "status")
"""The columns of a `RunFilter` compared for equality."""


def where(
    project: str,
    equal: Iterable[tuple[str, object | None]] = (),
    *,
    since_ns: int | None = None,
    until_ns: int | None = None,
    alias: str = "",
) -> tuple[list[str], list[Any]]:
    """Clauses (to be joined by AND) and their parameters: the project, `column = ?` for each
    pair of `equal` whose value is not None, and the window on `start_ns` (from `since_ns`,
    before `until_ns`); with `alias`, every column is read as `alias.column`."""
    a = f"{alias}." if alias else ""
    clauses = [f"{a}project = ?"]
    params: list[Any] = [project]
    for column, value in equal:
        if value is not None:
            clauses.append(f"{a}{column} = ?")
            params.append(value)
    if since_ns is not None:
        clauses.append(f"{a}start_ns >= ?")
        params.append(since_ns)
    if until_ns is not None:
        clauses.append(f"{a}start_ns < ?")
        params.append(until_ns)
    return clauses, params


def runs_where(filter_: RunFilter) -> tuple[list[str], list[Any]]:
    """`where` for a `RunFilter`: its project, columns and window."""
    return where(
        filter_.project,
        ((column, getattr(filter_, column)) for column in RUN_COLUMNS),
        since_ns=filter_.since_ns,
        until_ns=filter_.until_ns,
    )
