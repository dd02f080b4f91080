"""What error classes and agent status need of the DuckDB store (design.md §4.2 and §5).

Errors are counted on runs by default: a run failed when its status is `error`, and its class is
the run's class. Asked about one step, the same questions are answered for the steps of that
name instead. A failed run's class comes from a step (its earliest failed step of that class),
which the by-step breakdown names.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

from firstwatch.store.base import Row, RunFilter
from firstwatch.store.duckdb_where import where as where_sql

# A failed run or step without a class still has one (design.md §4.2: exactly one each).
_CLASS: Final = "coalesce(error_class, 'unknown')"
_FAILED_CLASS: Final = f"CASE WHEN status = 'error' THEN {_CLASS} END"


def _filter_sql(where: RunFilter, step: str | None) -> tuple[str, list[Any]]:
    """The WHERE clause for runs, or for steps named `step` (both tables carry these columns)."""
    clauses, params = where_sql(
        where.project,
        [*((c, getattr(where, c)) for c in ("agent", "version", "environment")), ("name", step)],
        since_ns=where.since_ns,
        until_ns=where.until_ns,
    )
    return " AND ".join(clauses), params


def _source(step: str | None) -> tuple[str, str]:
    """The table counted, and its silent-failure expression."""
    if step is None:
        return "runs", "coalesce(silent_failure, FALSE)"
    return "steps", "FALSE"


class ErrorQueries:
    """Mixed into `DuckDBStore`: the error and status capability's queries."""

    if TYPE_CHECKING:

        def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...

    def error_counts(self, where: RunFilter, step: str | None = None) -> list[Row]:
        """See `Store.error_counts`."""
        clauses, params = _filter_sql(where, step)
        table, silent = _source(step)
        return self._rows(
            f"SELECT agent, version, environment, {_FAILED_CLASS} AS error_class, "
            "count(*) AS runs, count(*) FILTER (WHERE status = 'error') AS errors, "
            f"count(*) FILTER (WHERE {silent}) AS silent_failures, "
            "min(start_ns) AS first_ns, max(start_ns) AS last_ns "
            f"FROM {table} WHERE {clauses} GROUP BY ALL "
            "ORDER BY agent, version, environment, error_class NULLS FIRST",
            params,
        )

    def error_steps(self, where: RunFilter, step: str | None = None) -> list[Row]:
        """See `Store.error_steps`."""
        clauses, params = _filter_sql(where, step)
        order = "ORDER BY errors DESC, agent, version, environment, step NULLS LAST, error_class"
        if step is not None:
            return self._rows(
                f"SELECT agent, version, environment, name AS step, {_CLASS} AS error_class, "
                "count(*) AS errors, min(start_ns) AS first_ns, max(start_ns) AS last_ns "
                f"FROM steps WHERE {clauses} AND status = 'error' GROUP BY ALL {order}",
                params,
            )
        # Steps start within their run: the failed runs' span of time bounds the steps read.
        return self._rows(
            "WITH failed AS (SELECT trace_id, span_id, agent, version, environment, "
            f"{_CLASS} AS error_class, start_ns, coalesce(end_ns, start_ns) AS end_ns "
            f"FROM runs WHERE {clauses} AND status = 'error'), "
            "origin AS (SELECT f.trace_id, f.span_id, "
            "arg_min(s.name, (s.start_ns, s.span_id)) AS step FROM failed f JOIN steps s "
            "ON s.trace_id = f.trace_id AND s.run_span_id = f.span_id "
            "AND s.error_class = f.error_class "
            "WHERE s.project = ? AND s.status = 'error' "
            "AND s.start_ns BETWEEN (SELECT min(start_ns) FROM failed) "
            "AND (SELECT max(end_ns) FROM failed) "
            "GROUP BY f.trace_id, f.span_id) "
            "SELECT f.agent, f.version, f.environment, o.step, f.error_class, "
            "count(*) AS errors, min(f.start_ns) AS first_ns, max(f.start_ns) AS last_ns "
            "FROM failed f LEFT JOIN origin o ON o.trace_id = f.trace_id "
            f"AND o.span_id = f.span_id GROUP BY ALL {order}",
            [*params, where.project],
        )

    def failed_steps(self, where: RunFilter, step: str | None = None) -> list[Row]:
        """See `Store.failed_steps`."""
        clauses, params = _filter_sql(where, step)
        return self._rows(
            f"SELECT agent, version, environment, name AS step, kind, dependency, "
            f"{_CLASS} AS error_class, count(*) AS errors, "
            "count(DISTINCT (trace_id, run_span_id)) AS runs, "
            "min(start_ns) AS first_ns, max(start_ns) AS last_ns "
            f"FROM steps WHERE {clauses} AND status = 'error' GROUP BY ALL "
            "ORDER BY errors DESC, agent, version, environment, step, kind, dependency, "
            "error_class",
            params,
        )

    def error_timeline(
        self, where: RunFilter, bucket_ns: int, step: str | None = None
    ) -> list[Row]:
        """See `Store.error_timeline`."""
        if bucket_ns <= 0:
            raise ValueError("bucket_ns must be positive")
        clauses, params = _filter_sql(where, step)
        table, silent = _source(step)
        return self._rows(
            "SELECT (start_ns // ?) * ? AS bucket_ns, "
            f"{_FAILED_CLASS} AS error_class, count(*) AS runs, "
            "count(*) FILTER (WHERE status = 'error') AS errors, "
            f"count(*) FILTER (WHERE {silent}) AS silent_failures "
            f"FROM {table} WHERE {clauses} GROUP BY ALL "
            "ORDER BY bucket_ns, error_class NULLS FIRST",
            [bucket_ns, bucket_ns, *params],
        )

    def error_fingerprints(
        self, where: RunFilter, limit: int, step: str | None = None
    ) -> list[Row]:
        """See `Store.error_fingerprints`."""
        clauses, params = _filter_sql(where, step)
        table = "runs" if step is None else "steps"
        groups = self._rows(
            f"SELECT error_fingerprint AS fingerprint, {_CLASS} AS error_class, "
            "count(*) AS count, min(start_ns) AS first_ns, max(start_ns) AS last_ns, "
            "count(DISTINCT agent) AS agents, "
            "arg_max({'trace_id': trace_id, 'span_id': span_id, 'agent': agent, "
            "'start_ns': start_ns, 'end_ns': coalesce(end_ns, start_ns)}, "
            "(start_ns, trace_id, span_id)) AS example "
            f"FROM {table} WHERE {clauses} AND status = 'error' "
            "AND error_fingerprint IS NOT NULL GROUP BY ALL "
            "ORDER BY count DESC, last_ns DESC, fingerprint LIMIT ?",
            [*params, limit],
        )
        if not groups:
            return []
        examples = [g.pop("example") for g in groups]
        for group, example in zip(groups, examples, strict=True):
            group.update(
                trace_id=example["trace_id"],
                span_id=example["span_id"],
                example_agent=example["agent"],
                example_start_ns=example["start_ns"],
                error_type=None,
                error_message=None,
                span_name=None,
            )
        # The failed span of each example: the step itself; for a run, the earliest of its
        # other spans with that fingerprint (where the error came from), else the run's own.
        low = min(int(e["start_ns"]) for e in examples)
        high = max(int(e["end_ns"]) for e in examples)
        found = self._rows(
            "WITH ex AS (SELECT unnest(?::VARCHAR[]) AS trace_id, "
            "unnest(?::VARCHAR[]) AS span_id, unnest(?::VARCHAR[]) AS fingerprint) "
            "SELECT ex.trace_id, ex.fingerprint, arg_min({'span_id': s.span_id, 'name': s.name, "
            "'error_type': s.error_type, 'error_message': s.error_message}, "
            "(CASE WHEN s.span_id = ex.span_id THEN ? ELSE 1 END, s.start_ns, s.span_id)) "
            "AS span FROM ex JOIN spans s ON s.trace_id = ex.trace_id "
            "AND s.error_fingerprint = ex.fingerprint "
            "WHERE s.project = ? AND s.start_ns BETWEEN ? AND ? "
            "GROUP BY ex.trace_id, ex.fingerprint",
            [
                [e["trace_id"] for e in examples],
                [e["span_id"] for e in examples],
                [g["fingerprint"] for g in groups],
                0 if step is not None else 2,
                where.project,
                low,
                high,
            ],
        )
        spans = {(r["trace_id"], r["fingerprint"]): r["span"] for r in found}
        for group in groups:
            span = spans.get((group["trace_id"], group["fingerprint"]))
            if span is not None:
                group.update(
                    span_id=span["span_id"],
                    error_type=span["error_type"],
                    error_message=span["error_message"],
                    span_name=span["name"],
                )
        return groups

    def run_cadence(self, project: str, until_ns: int | None, history_runs: int) -> list[Row]:
        """See `Store.run_cadence`."""
        until = "" if until_ns is None else "AND start_ns < ?"
        params: list[Any] = [history_runs + 1, project] + ([] if until_ns is None else [until_ns])
        # The latest starts of each agent and environment (a top-n per group, no full sort).
        rows = self._rows(
            "SELECT agent, environment, max(start_ns) AS last_run_ns, "
            "arg_max(version, start_ns) AS last_version, count(*) AS runs, "
            "max(start_ns, ?) AS latest "
            f"FROM runs WHERE project = ? {until} GROUP BY agent, environment "
            "ORDER BY agent, environment",
            params,
        )
        for row in rows:
            latest = row.pop("latest")
            gaps = [int(a) - int(b) for a, b in itertools.pairwise(latest)]
            row["history_runs"] = min(int(row.pop("runs")), history_runs)
            row["usual_gap_ns"] = statistics.median(gaps) if gaps else None
        return rows
