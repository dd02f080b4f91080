"""Run materialisation by the store's SQL and by the plain-Python reference, on the same rows.

Both take span rows as dicts (any subset of the materialisation columns; the rest are empty) and
return (runs, steps) as dicts in one order: complete runs by start, then incomplete runs by the
missing span's id; steps by start.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import duckdb
import pyarrow as pa

from arrowtables import SPAN_SCHEMA
from firstwatch.store.duckdb_materialize import materialize
from firstwatch.store.schema import MATERIALIZE_COLUMNS, RUN_COLUMNS, STEP_COLUMNS
from reference_materialize import materialize_trace

Rows = list[dict[str, Any]]
Materialize = Callable[[Iterable[Mapping[str, Any]]], tuple[Rows, Rows]]
_INPUT = pa.schema([SPAN_SCHEMA.field(name) for name in ("project", *MATERIALIZE_COLUMNS)])


def _ordered(runs: Rows, steps: Rows) -> tuple[Rows, Rows]:
    runs = sorted(
        runs, key=lambda r: (not r["complete"], r["start_ns"] if r["complete"] else r["span_id"])
    )
    return runs, sorted(steps, key=lambda s: (s["start_ns"], s["span_id"]))


def by_sql(spans: Iterable[Mapping[str, Any]]) -> tuple[Rows, Rows]:
    """Runs and steps as the DuckDB store builds them (spans of any traces and projects)."""
    rows = [{"project": "default", **span} for span in spans]
    table = pa.Table.from_pylist(
        [{name: row.get(name) for name in _INPUT.names} for row in rows], schema=_INPUT
    )
    con = duckdb.connect()
    try:
        con.register("spans", table)
        materialize(con, "spans", [n for n, _ in RUN_COLUMNS], [n for n, _ in STEP_COLUMNS])
        runs = con.sql("SELECT * FROM new_runs").to_arrow_table().to_pylist()
        return _ordered(runs, con.sql("SELECT * FROM new_steps").to_arrow_table().to_pylist())
    finally:
        con.close()


def by_reference(spans: Iterable[Mapping[str, Any]]) -> tuple[Rows, Rows]:
    """Runs and steps by the plain-Python reference (spans of one trace), with `project`."""
    rows = [{"project": "default", **span} for span in spans]
    runs, steps = materialize_trace(rows)
    for row in (*runs, *steps):
        row["project"] = rows[0]["project"] if rows else "default"
    return _ordered(runs, steps)


BOTH: dict[str, Materialize] = {"sql": by_sql, "reference": by_reference}
