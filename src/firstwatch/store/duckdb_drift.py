"""What input drift needs of the DuckDB store: named baselines and the input features of runs.

A run's input features are the `firstwatch.input.*` attributes of its run span. They are read
for a bounded number of runs (newest first) as one long table of (run, feature, value), which is
then laid out as one numpy column per feature.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Final

import duckdb
import nanoarrow as na
import numpy as np

from firstwatch import semconv
from firstwatch.store.base import InputFeatures, RunFilter, StoredBaseline
from firstwatch.store.duckdb_where import runs_where

_BASELINES_SQL: Final = (
    "CREATE TABLE IF NOT EXISTS baselines (project VARCHAR, name VARCHAR, agent VARCHAR, "
    "cohort VARCHAR, since_ns BIGINT, until_ns BIGINT, runs BIGINT, created_ns BIGINT, "
    "features VARCHAR, PRIMARY KEY (project, name))"
)
_BASELINE_COLUMNS: Final = "project, name, agent, cohort, since_ns, until_ns, runs, created_ns"
_NUMBER_TYPES: Final = ("BIGINT", "UBIGINT", "DOUBLE")
_PICKED: Final = "drift_picked"
MAX_FEATURES: Final = 1000
"""Most input features read (the most common ones)."""


def _run_filter_sql(where: RunFilter) -> tuple[str, list[Any]]:
    clauses, params = runs_where(where)
    return " AND ".join([*clauses, "complete"]), params


def _pointer(key: str) -> str:
    """The JSON pointer of a top-level key (any characters allowed)."""
    return "/" + key.replace("~", "~0").replace("/", "~1")


def _columns(values: dict[str, Any], keys: Sequence[str]) -> dict[str, Any]:
    """One column per feature from the `n<i>` (number) and `t<i>` (text) columns of `values`
    (DuckDB's `fetchnumpy`, in run order): numbers where every value is one, else labels."""
    prefix = len(semconv.INPUT_PREFIX)
    columns: dict[str, Any] = {}
    for i, key in enumerate(keys):
        number, text = np.ma.asarray(values[f"n{i}"]), np.ma.asarray(values[f"t{i}"])
        if np.ma.getmaskarray(number).sum() == np.ma.getmaskarray(text).sum():
            columns[key[prefix:]] = np.ma.filled(number.astype(np.float64), np.nan)
        else:
            labels = np.array(text.data, dtype=object)
            labels[np.ma.getmaskarray(text)] = None
            columns[key[prefix:]] = labels
    return dict(sorted(columns.items()))


def _picked(rows: list[tuple[Any, ...]]) -> na.Array:
    """The runs picked, as Arrow (trace_id, span_id, start_ns, pos) to join with spans."""
    trace_ids, span_ids, starts = ([row[i] for row in rows] for i in range(3))
    columns = {"trace_id": na.string(), "span_id": na.string(), "start_ns": na.int64()}
    children = [
        na.c_array(values, typ)
        for values, typ in zip((trace_ids, span_ids, starts), columns.values(), strict=True)
    ]
    children.append(na.c_array(range(len(rows)), na.int64()))
    layout = na.struct({**columns, "pos": na.int64()})
    return na.Array(na.c_array_from_buffers(layout, len(rows), [None], children=children))


def _baseline(row: Sequence[Any], features: str | None) -> StoredBaseline:
    project, name, agent, cohort, since_ns, until_ns, runs, created_ns = row
    return StoredBaseline(
        project=project,
        name=name,
        agent=agent,
        cohort=cohort,
        runs=int(runs),
        created_ns=int(created_ns),
        features=json.loads(features) if features else {},
        since_ns=since_ns,
        until_ns=until_ns,
    )


class DriftQueries:
    """Mixed into `DuckDBStore`: the drift capability's tables and queries."""

    _con: duckdb.DuckDBPyConnection
    _write_lock: threading.Lock

    if TYPE_CHECKING:

        def _reading(self) -> AbstractContextManager[duckdb.DuckDBPyConnection]: ...

        def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    def _create_drift_tables(self) -> None:
        self._con.execute(_BASELINES_SQL).fetchall()

    def input_features(self, where: RunFilter, limit: int) -> InputFeatures:
        """See `Store.input_features`."""
        with self._reading() as con:
            return self._input_features(con, where, limit)

    def _input_features(
        self, con: duckdb.DuckDBPyConnection, where: RunFilter, limit: int
    ) -> InputFeatures:
        clauses, params = _run_filter_sql(where)
        rows = con.execute(
            f"SELECT trace_id, span_id, start_ns, version FROM runs WHERE {clauses} "
            "ORDER BY start_ns DESC, trace_id DESC, span_id DESC LIMIT ?",
            [*params, limit],
        ).fetchall()
        runs = len(rows)
        if not runs:
            return InputFeatures([], [], [], [], {})
        start = [row[2] for row in rows]
        # A complete run starts when its run span does: the range lets DuckDB skip row groups.
        attributes = (
            f"FROM {_PICKED} p JOIN spans s ON s.project = ? AND s.trace_id = p.trace_id "
            "AND s.span_id = p.span_id AND s.start_ns = p.start_ns "
            "WHERE s.start_ns BETWEEN ? AND ?"
        )
        near = [where.project, min(start), max(start)]
        con.register(_PICKED, _picked(rows))
        try:
            keys = [
                key
                for (key,) in con.execute(
                    "SELECT key FROM (SELECT unnest(json_keys(s.attributes)) AS key "
                    f"{attributes}) WHERE starts_with(key, ?) "
                    "GROUP BY key ORDER BY count(*) DESC, key LIMIT ?",
                    [*near, semconv.INPUT_PREFIX, MAX_FEATURES],
                ).fetchall()
            ]
            pairs = ", ".join(
                f"CASE WHEN json_type(v[{i + 1}]) IN {_NUMBER_TYPES} "
                f"THEN CAST(v[{i + 1}] AS DOUBLE) END AS n{i}, v[{i + 1}] ->> '$' AS t{i}"
                for i in range(len(keys))
            )
            features = {}
            if keys:
                values = con.execute(
                    f"SELECT pos, {pairs} FROM (SELECT p.pos, "
                    f"json_extract(s.attributes, ?::VARCHAR[]) AS v {attributes}) ORDER BY pos",
                    [[_pointer(key) for key in keys], *near],
                ).fetchnumpy()
                features = _columns(values, keys)
        finally:
            con.unregister(_PICKED)
        return InputFeatures(
            trace_ids=[row[0] for row in rows],
            span_ids=[row[1] for row in rows],
            start_ns=start,
            versions=[row[3] for row in rows],
            features=features,
        )

    def create_baseline(self, baseline: StoredBaseline) -> bool:
        """See `Store.create_baseline`."""
        features = json.dumps(baseline.features, separators=(",", ":"))
        with self._write_lock:
            taken = self._con.execute(
                "SELECT count(*) FROM baselines WHERE project = ? AND name = ?",
                [baseline.project, baseline.name],
            ).fetchall()
            if taken[0][0]:
                return False
            self._con.execute(
                f"INSERT INTO baselines ({_BASELINE_COLUMNS}, features) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    baseline.project,
                    baseline.name,
                    baseline.agent,
                    baseline.cohort,
                    baseline.since_ns,
                    baseline.until_ns,
                    baseline.runs,
                    baseline.created_ns,
                    features,
                ],
            ).fetchall()
        return True

    def list_baselines(self, project: str, agent: str | None = None) -> list[StoredBaseline]:
        """See `Store.list_baselines`."""
        sql = f"SELECT {_BASELINE_COLUMNS} FROM baselines WHERE project = ?"
        params: list[Any] = [project]
        if agent is not None:
            sql += " AND agent = ?"
            params.append(agent)
        rows = self._fetch(sql + " ORDER BY agent, name", params)
        return [_baseline(row, None) for row in rows]

    def get_baseline(self, project: str, name: str) -> StoredBaseline | None:
        """See `Store.get_baseline`."""
        rows = self._fetch(
            f"SELECT {_BASELINE_COLUMNS}, features FROM baselines WHERE project = ? AND name = ?",
            [project, name],
        )
        return _baseline(rows[0][:-1], rows[0][-1]) if rows else None
