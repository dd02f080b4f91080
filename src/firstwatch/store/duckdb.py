"""The embedded store: one DuckDB file, written by one thread (design.md §1, §6)."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from firstwatch.store.base import ApiKey, Materializer, Row, RunFilter
from firstwatch.store.duckdb_drift import DriftQueries
from firstwatch.store.duckdb_errors import ErrorQueries
from firstwatch.store.duckdb_latency import LatencyQueries
from firstwatch.store.schema import (
    MATERIALIZE_COLUMNS,
    RUN_COLUMNS,
    RUN_SCHEMA,
    SPAN_COLUMNS,
    SPAN_SCHEMA,
    STEP_COLUMNS,
    STEP_SCHEMA,
)

_SQL_TYPES = {
    pa.string(): "VARCHAR",
    pa.int8(): "TINYINT",
    pa.int32(): "INTEGER",
    pa.int64(): "BIGINT",
    pa.float64(): "DOUBLE",
    pa.bool_(): "BOOLEAN",
}


def _table_sql(name: str, columns: Sequence[tuple[str, pa.DataType]]) -> str:
    cols = ", ".join(f"{col} {_SQL_TYPES[typ]}" for col, typ in columns)
    return f"CREATE TABLE IF NOT EXISTS {name} ({cols})"


_RUN_LIST_COLUMNS = (
    "trace_id, span_id, name, agent, version, environment, status, error_class, complete, "
    "start_ns, end_ns, duration_ms, step_count, error_step_count, retry_count, retry_wait_ms, "
    "input_preview, output_preview, error_fingerprint, failed_checks, silent_failure, "
    "first_attempt_ms"
)


def _run(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | None = None) -> None:
    """Execute a statement and consume its result (DuckDB wants results finished)."""
    con.execute(sql, list(params) if params is not None else None).fetchall()


class DuckDBStore(DriftQueries, ErrorQueries, LatencyQueries):
    """A `Store` on a DuckDB file."""

    def __init__(self, path: Path, *, memory_limit: str = "512MB") -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        try:
            self._con = duckdb.connect(str(path), config={"memory_limit": memory_limit})
        except duckdb.IOException as exc:
            raise RuntimeError(
                f"cannot open {path}: {exc}. A DuckDB file has one owning process: stop the other "
                "firstwatch serve, or choose another --store."
            ) from None
        self._write_lock = threading.Lock()
        self._local = threading.local()
        for table, columns in (
            ("spans", SPAN_COLUMNS),
            ("runs", RUN_COLUMNS),
            ("steps", STEP_COLUMNS),
        ):
            _run(self._con, _table_sql(table, columns))
            # A file made by an older version gains the columns added since, at the end.
            for column, typ in columns:
                _run(
                    self._con,
                    f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {_SQL_TYPES[typ]}",
                )
        _run(
            self._con,
            "CREATE TABLE IF NOT EXISTS api_keys (key_id VARCHAR PRIMARY KEY, key_hash VARCHAR "
            "UNIQUE, project VARCHAR, scope VARCHAR, prefix VARCHAR, created_ns BIGINT)",
        )
        _run(self._con, "CREATE TABLE IF NOT EXISTS projects (name VARCHAR PRIMARY KEY)")
        _run(self._con, "CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value BIGINT)")
        _run(self._con, "INSERT OR IGNORE INTO projects VALUES ('default')")
        self._create_drift_tables()

    # -- reading connections: one cursor per thread --------------------------------------------
    def _reader(self) -> duckdb.DuckDBPyConnection:
        cursor = getattr(self._local, "cursor", None)
        if cursor is None:
            cursor = self._con.cursor()
            self._local.cursor = cursor
        return cursor

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        cur = self._reader().execute(sql, list(params))
        names = [d[0] for d in cur.description or []]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    # -- writing ---------------------------------------------------------------------------------
    def apply(self, spans: pa.Table, lsn: int, materialize: Materializer) -> int:
        """See `Store.apply`."""
        spans = spans.cast(SPAN_SCHEMA)
        with self._write_lock:
            con = self._con
            _run(con, "BEGIN TRANSACTION")
            try:
                con.register("incoming", spans)
                _run(
                    con,
                    "CREATE OR REPLACE TEMP TABLE touched AS "
                    "SELECT DISTINCT project, trace_id FROM incoming",
                )
                before = self._count(con, "spans")
                _run(
                    con,
                    "INSERT INTO spans SELECT i.* FROM (SELECT * FROM incoming "
                    "QUALIFY row_number() OVER (PARTITION BY project, trace_id, span_id) = 1) i "
                    "ANTI JOIN (SELECT s.project, s.trace_id, s.span_id FROM spans s "
                    "SEMI JOIN touched t ON s.project = t.project AND s.trace_id = t.trace_id) e "
                    "ON i.project = e.project AND i.trace_id = e.trace_id "
                    "AND i.span_id = e.span_id",
                )
                added = self._count(con, "spans") - before
                con.unregister("incoming")
                cols = ", ".join(f"s.{c}" for c in ("project", *MATERIALIZE_COLUMNS))
                table = con.sql(
                    f"SELECT {cols} FROM spans s SEMI JOIN touched t "
                    "ON s.project = t.project AND s.trace_id = t.trace_id"
                ).to_arrow_table()
                runs, steps = self._materialize(table, materialize)
                _run(
                    con,
                    "DELETE FROM runs WHERE (project, trace_id) IN "
                    "(SELECT project, trace_id FROM touched)",
                )
                _run(
                    con,
                    "DELETE FROM steps WHERE (project, trace_id) IN "
                    "(SELECT project, trace_id FROM touched)",
                )
                if runs.num_rows:
                    con.register("new_runs", runs)
                    _run(con, "INSERT INTO runs SELECT * FROM new_runs")
                    con.unregister("new_runs")
                if steps.num_rows:
                    con.register("new_steps", steps)
                    _run(con, "INSERT INTO steps SELECT * FROM new_steps")
                    con.unregister("new_steps")
                _run(con, "INSERT OR REPLACE INTO meta VALUES ('applied_lsn', ?)", [lsn])
                _run(con, "COMMIT")
            except BaseException:
                _run(con, "ROLLBACK")
                raise
        return added

    @staticmethod
    def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
        rows = con.execute(f"SELECT count(*) FROM {table}").fetchall()
        return int(rows[0][0]) if rows else 0

    @staticmethod
    def _materialize(table: pa.Table, materialize: Materializer) -> tuple[pa.Table, pa.Table]:
        by_trace: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for row in table.to_pylist():
            by_trace[(row["project"], row["trace_id"])].append(row)
        runs: list[Row] = []
        steps: list[Row] = []
        for (project, _), spans in by_trace.items():
            trace_runs, trace_steps = materialize(spans)
            for run in trace_runs:
                run["project"] = project
            for step in trace_steps:
                step["project"] = project
            runs.extend(trace_runs)
            steps.extend(trace_steps)
        return (
            pa.Table.from_pylist(runs, schema=RUN_SCHEMA),
            pa.Table.from_pylist(steps, schema=STEP_SCHEMA),
        )

    def applied_lsn(self) -> int:
        """See `Store.applied_lsn`."""
        row = self._reader().execute("SELECT value FROM meta WHERE key = 'applied_lsn'").fetchall()
        return int(row[0][0]) if row else 0

    # -- reading ---------------------------------------------------------------------------------
    def list_runs(
        self, where: RunFilter, limit: int, after: tuple[int, str, str] | None
    ) -> list[Row]:
        """See `Store.list_runs`."""
        clauses = ["project = ?"]
        params: list[Any] = [where.project]
        for column in ("agent", "version", "environment", "status"):
            value = getattr(where, column)
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if where.since_ns is not None:
            clauses.append("start_ns >= ?")
            params.append(where.since_ns)
        if where.until_ns is not None:
            clauses.append("start_ns < ?")
            params.append(where.until_ns)
        if after is not None:
            clauses.append("(start_ns, trace_id, span_id) < (?, ?, ?)")
            params.extend(after)
        sql = (
            f"SELECT {_RUN_LIST_COLUMNS} FROM runs WHERE {' AND '.join(clauses)} "
            "ORDER BY start_ns DESC, trace_id DESC, span_id DESC LIMIT ?"
        )
        params.append(limit)
        return self._rows(sql, params)

    def trace(self, project: str, trace_id: str) -> tuple[list[Row], list[Row]]:
        """See `Store.trace`."""
        runs = self._rows(
            f"SELECT {_RUN_LIST_COLUMNS} FROM runs WHERE project = ? AND trace_id = ? "
            "ORDER BY start_ns",
            [project, trace_id],
        )
        steps = self._rows(
            "SELECT st.trace_id, st.span_id, st.parent_span_id, st.run_span_id, st.name, st.kind, "
            "st.status, st.error_class, st.start_ns, st.end_ns, st.duration_ms, st.dependency, "
            "st.http_status, st.retry_count, st.retry_wait_ms, sp.error_type, sp.error_message, "
            "sp.model, sp.input_tokens, sp.output_tokens, sp.resource_key, sp.resource_op, "
            "sp.attributes, sp.events "
            "FROM steps st JOIN spans sp ON sp.project = st.project AND sp.trace_id = st.trace_id "
            "AND sp.span_id = st.span_id WHERE st.project = ? AND st.trace_id = ? "
            "ORDER BY st.start_ns",
            [project, trace_id],
        )
        return runs, steps

    def run_spans(self, project: str, trace_id: str) -> list[Row]:
        """The stored span rows of the runs of one trace (their attributes and resource)."""
        return self._rows(
            "SELECT sp.span_id, sp.attributes, sp.resource, sp.events, sp.error_type, "
            "sp.error_message FROM spans sp SEMI JOIN runs r ON r.project = sp.project "
            "AND r.trace_id = sp.trace_id AND r.span_id = sp.span_id "
            "WHERE sp.project = ? AND sp.trace_id = ?",
            [project, trace_id],
        )

    def agents(self, project: str, since_ns: int | None, until_ns: int | None) -> list[Row]:
        """See `Store.agents`."""
        clauses = ["project = ?"]
        params: list[Any] = [project]
        if since_ns is not None:
            clauses.append("start_ns >= ?")
            params.append(since_ns)
        if until_ns is not None:
            clauses.append("start_ns < ?")
            params.append(until_ns)
        return self._rows(
            "SELECT agent, version, environment, count(*) AS runs, "
            "count(*) FILTER (WHERE status = 'error') AS errors, "
            "count(*) FILTER (WHERE status = 'incomplete') AS incomplete, "
            "min(start_ns) AS first_seen_ns, max(start_ns) AS last_seen_ns "
            f"FROM runs WHERE {' AND '.join(clauses)} "
            "GROUP BY agent, version, environment ORDER BY agent, version, environment",
            params,
        )

    def count_spans(self, project: str | None = None) -> int:
        """See `Store.count_spans`."""
        if project is None:
            row = self._reader().execute("SELECT count(*) FROM spans").fetchall()
        else:
            row = (
                self._reader()
                .execute("SELECT count(*) FROM spans WHERE project = ?", [project])
                .fetchall()
            )
        return int(row[0][0]) if row else 0

    # -- keys ------------------------------------------------------------------------------------
    def add_key(self, key: ApiKey, key_hash: str) -> None:
        """See `Store.add_key`."""
        with self._write_lock:
            _run(self._con, "INSERT OR IGNORE INTO projects VALUES (?)", [key.project])
            _run(
                self._con,
                "INSERT INTO api_keys VALUES (?, ?, ?, ?, ?, ?)",
                [key.key_id, key_hash, key.project, key.scope, key.prefix, key.created_ns],
            )

    def key_by_hash(self, key_hash: str) -> ApiKey | None:
        """See `Store.key_by_hash`."""
        rows = self._rows(
            "SELECT key_id, project, scope, prefix, created_ns FROM api_keys WHERE key_hash = ?",
            [key_hash],
        )
        return ApiKey(**rows[0]) if rows else None

    def key_count(self) -> int:
        """See `Store.key_count`."""
        row = self._reader().execute("SELECT count(*) FROM api_keys").fetchall()
        return int(row[0][0]) if row else 0

    def projects(self) -> Sequence[str]:
        """See `Store.projects`."""
        return [r["name"] for r in self._rows("SELECT name FROM projects ORDER BY name")]

    def close(self) -> None:
        """See `Store.close`."""
        with self._write_lock:
            self._con.close()
