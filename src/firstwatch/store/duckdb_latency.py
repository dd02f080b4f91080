"""Latency, dependencies, concurrency and token usage, pushed down to DuckDB (design.md §4.1, §4.5).

Percentiles are exact, `quantile_cont` (linear interpolation, numpy's default), over complete
runs or over steps. Time buckets are whole multiples of the bucket since the epoch (UTC), taken by
integer division on `start_ns`. A dependency *call* is a step that names a dependency and has no
child step naming the same one: the HTTP attempts under an LLM step, not the step as well.
Concurrency is a sweep over start (+1) and end (−1) events whose running sum is the number in
flight; a run or call ending at the instant another starts is not counted with it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

import duckdb

from firstwatch.store.base import Row, SpanFilter
from firstwatch.store.duckdb_where import where

QUANTILES: Final = (0.5, 0.9, 0.95, 0.99)
"""The percentiles of every latency figure: p50, p90, p95, p99."""
RUN_GROUPS: Final = ("agent", "version", "environment")
"""What run latency can be grouped by."""
STEP_GROUPS: Final = ("agent", "version", "environment", "step", "kind", "dependency")
"""What step latency can be grouped by (`step` is the step's name)."""
USAGE_GROUPS: Final = ("agent", "version", "environment", "model")
"""What token usage can be grouped by."""
_COLUMN: Final = {"step": "name"}
_RATE_LIMITED: Final = "(http_status = 429 OR error_class = 'rate_limited')"
_TIMEOUT: Final = "error_class = 'timeout'"
# What is read of a dependency call.
_CALL_COLUMNS: Final = (
    "trace_id, span_id, agent, dependency, start_ns, end_ns, duration_ms, status, error_class, "
    "http_status"
)
_QUANTILE_LIST: Final = "[" + ", ".join(str(q) for q in QUANTILES) + "]"


def _names(values: Sequence[float | None] | None, prefix: str) -> dict[str, float | None]:
    """`p50_ms`, `p90_ms`… from a quantile list (all None for an empty one)."""
    keys = [f"{prefix}p{round(q * 100)}_ms" for q in QUANTILES]
    if values is None:
        return dict.fromkeys(keys)
    return dict(zip(keys, values, strict=True))


def _where(scope: SpanFilter, *, steps: bool, alias: str = "") -> tuple[list[str], list[Any]]:
    """Clauses (joined by AND) and parameters for a filter on runs or steps."""
    pairs: list[tuple[str, str | None]] = [
        ("agent", scope.agent),
        ("version", scope.version),
        ("environment", scope.environment),
        ("status", scope.status),
    ]
    if steps:
        pairs += [("name", scope.step), ("kind", scope.kind), ("dependency", scope.dependency)]
    elif scope.step is not None or scope.kind is not None or scope.dependency is not None:
        raise ValueError("step, kind and dependency filter steps, not runs")
    clauses, params = where(
        scope.project, pairs, since_ns=scope.since_ns, until_ns=scope.until_ns, alias=alias
    )
    if not steps:
        clauses.append(f"{alias}.complete" if alias else "complete")
    return clauses, params


def _group_columns(by: Sequence[str], allowed: Sequence[str]) -> list[str]:
    unknown = [name for name in by if name not in allowed]
    if unknown or len(set(by)) != len(by):
        raise ValueError(f"cannot group by {list(by)}: choose among {', '.join(allowed)}")
    return [f"{_COLUMN.get(name, name)} AS {name}" for name in by]


def _bucket(bucket_ns: int | None, column: str = "start_ns") -> str | None:
    if bucket_ns is None:
        return None
    if bucket_ns <= 0:
        raise ValueError("a bucket must be longer than 0 ns")
    return f"({column} // {int(bucket_ns)}) * {int(bucket_ns)} AS bucket_ns"


def _band(band_width: int | None) -> str:
    """The lower bound of the band a concurrency `c` falls in: powers of two, or fixed widths."""
    if band_width is None:
        return "CAST(pow(2, floor(log2(c))) AS BIGINT)"
    if band_width < 1:
        raise ValueError("a band is at least 1 wide")
    return f"((c - 1) // {int(band_width)}) * {int(band_width)} + 1"


def _band_high(low: int, band_width: int | None) -> int:
    return 2 * low - 1 if band_width is None else low + band_width - 1


class LatencyQueries:
    """Mixed into `DuckDBStore`: latency, dependencies, concurrency and usage."""

    _con: duckdb.DuckDBPyConnection

    if TYPE_CHECKING:

        def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

        def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...

    # -- latency ---------------------------------------------------------------------------------
    def latency(
        self,
        scope: SpanFilter,
        *,
        of: str = "runs",
        by: Sequence[str] = (),
        bucket_ns: int | None = None,
    ) -> list[Row]:
        """See `Store.latency`."""
        if of not in ("runs", "steps"):
            raise ValueError("latency is of 'runs' or 'steps'")
        steps = of == "steps"
        keys = _group_columns(by, STEP_GROUPS if steps else RUN_GROUPS)
        bucket = _bucket(bucket_ns, "s.start_ns" if steps else "start_ns")
        clauses, params = _where(scope, steps=steps, alias="s" if steps else "")
        if steps:
            keys = [f"s.{k}" for k in keys]
        selected = [*keys, *([bucket] if bucket else [])]
        grouped = list(by) + (["bucket_ns"] if bucket else [])
        head = ", ".join(selected) + ", " if selected else ""
        group = f"GROUP BY {', '.join(grouped)} ORDER BY {', '.join(grouped)}" if grouped else ""
        if steps:
            # A step's retries are its own and its direct children's (the HTTP resends under it).
            # An HTTP resend's own wait came before it started: it counts for its parent only.
            child_clauses, child_params = _where(
                SpanFilter(project=scope.project, since_ns=scope.since_ns), steps=True
            )
            sql = (
                f"WITH waits AS (SELECT trace_id, parent_span_id, "
                "sum(coalesce(retry_wait_ms, 0)) AS wait_ms, "
                "count(*) FILTER (WHERE retry_count > 0) AS retried "
                f"FROM steps WHERE {' AND '.join(child_clauses)} "
                "AND (retry_count > 0 OR retry_wait_ms > 0) GROUP BY trace_id, parent_span_id) "
                f"SELECT {head}count(*) AS n, "
                f"quantile_cont(s.duration_ms, {_QUANTILE_LIST}) AS q, "
                "max(s.duration_ms) AS max_ms, avg(s.duration_ms) AS mean_ms, "
                "sum(s.duration_ms) AS total_ms, count(*) FILTER (WHERE s.status = 'error') "
                "AS errors, count(*) FILTER (WHERE s.retry_count > 0 OR w.retried > 0) "
                "AS retried, sum(CASE WHEN s.kind = 'http' THEN 0 "
                "ELSE coalesce(s.retry_wait_ms, 0) END + coalesce(w.wait_ms, 0)) AS retry_wait_ms "
                "FROM steps s LEFT JOIN waits w ON w.trace_id = s.trace_id "
                f"AND w.parent_span_id = s.span_id WHERE {' AND '.join(clauses)} "
                f"{'' if grouped else 'HAVING count(*) > 0 '}{group}"
            )
            rows = self._rows(sql, [*child_params, *params])
        else:
            sql = (
                f"SELECT {head}count(*) AS n, "
                f"quantile_cont(duration_ms, {_QUANTILE_LIST}) AS q, "
                f"quantile_cont(first_attempt_ms, {_QUANTILE_LIST}) AS fq, "
                "max(duration_ms) AS max_ms, avg(duration_ms) AS mean_ms, "
                "sum(duration_ms) AS total_ms, count(*) FILTER (WHERE status = 'error') "
                "AS errors, count(*) FILTER (WHERE retry_count > 0) AS retried, "
                "count(*) FILTER (WHERE retry_count > 0 AND status = 'ok') AS retried_ok, "
                "sum(coalesce(retry_wait_ms, 0)) AS retry_wait_ms, "
                "sum(greatest(duration_ms - coalesce(first_attempt_ms, duration_ms), 0)) "
                f"AS retry_ms FROM runs WHERE {' AND '.join(clauses)} "
                f"{'' if grouped else 'HAVING count(*) > 0 '}{group}"
            )
            rows = self._rows(sql, params)
        for row in rows:
            row.update(_names(row.pop("q"), ""))
            if not steps:
                row.update(_names(row.pop("fq"), "first_attempt_"))
        return rows

    def latency_summary(
        self, project: str, since_ns: int | None, until_ns: int | None
    ) -> list[Row]:
        """See `Store.latency_summary`."""
        clauses, params = _where(
            SpanFilter(project=project, since_ns=since_ns, until_ns=until_ns), steps=False
        )
        rows = self._rows(
            "SELECT agent, version, environment, "
            "quantile_cont(duration_ms, [0.5, 0.99]) AS q FROM runs "
            f"WHERE {' AND '.join(clauses)} GROUP BY agent, version, environment",
            params,
        )
        for row in rows:
            row["p50_ms"], row["p99_ms"] = row.pop("q")
        return rows

    def retried_runs(self, scope: SpanFilter, limit: int) -> list[Row]:
        """See `Store.retried_runs`."""
        clauses, params = _where(scope, steps=False)
        return self._rows(
            "SELECT trace_id, span_id, agent, version, environment, start_ns, duration_ms, "
            "first_attempt_ms, retry_count, retry_wait_ms, "
            "greatest(duration_ms - coalesce(first_attempt_ms, duration_ms), 0) AS retry_ms "
            f"FROM runs WHERE {' AND '.join(clauses)} AND status = 'ok' AND retry_count > 0 "
            "ORDER BY retry_ms DESC, start_ns DESC, trace_id, span_id LIMIT ?",
            [*params, limit],
        )

    # -- dependencies ----------------------------------------------------------------------------
    def _calls_sql(self, scope: SpanFilter, *, overlapping: bool = False) -> tuple[str, list[Any]]:
        """A query of the dependency calls `scope` selects (see the module docstring): those
        started in its window, or with `overlapping` those in flight at any time in it.

        Only the columns used are read, and the children are an explicit anti join: all of a
        step's columns, or a correlated NOT EXISTS, made it three to five times slower.
        """
        earliest = scope.since_ns
        if overlapping:
            clauses, params = _where(
                dataclasses.replace(scope, since_ns=None, until_ns=None), steps=True
            )
            if scope.until_ns is not None:
                clauses.append("start_ns < ?")
                params.append(scope.until_ns)
            if scope.since_ns is not None:
                clauses.append("end_ns > ?")
                params.append(scope.since_ns)
                # Children start after their parent: from the earliest call in flight on.
                found = self._fetch(
                    f"SELECT min(start_ns) FROM steps WHERE {' AND '.join(clauses)} "
                    "AND dependency IS NOT NULL",
                    params,
                )
                earliest = found[0][0] if found and found[0][0] is not None else scope.since_ns
        else:
            clauses, params = _where(scope, steps=True)
        kids = ["project = ?", "dependency IS NOT NULL", "parent_span_id IS NOT NULL"]
        kid_params: list[Any] = [scope.project]
        if earliest is not None:
            kids.append("start_ns >= ?")
            kid_params.append(earliest)
        sql = (
            f"SELECT {_CALL_COLUMNS} FROM (SELECT {_CALL_COLUMNS} FROM steps "
            f"WHERE {' AND '.join(clauses)} AND dependency IS NOT NULL) s "
            "ANTI JOIN (SELECT trace_id, parent_span_id, dependency FROM steps "
            f"WHERE {' AND '.join(kids)}) c ON c.trace_id = s.trace_id "
            "AND c.parent_span_id = s.span_id AND c.dependency = s.dependency"
        )
        return sql, [*params, *kid_params]

    def dependency_latency(self, scope: SpanFilter, bucket_ns: int | None = None) -> list[Row]:
        """See `Store.dependency_latency`."""
        calls, params = self._calls_sql(scope)
        bucket = _bucket(bucket_ns)
        grouped = "dependency" + (", bucket_ns" if bucket else "")
        # Per bucket, a one-sided 95% lower bound of the median: the k-th fastest call with
        # k = floor(n/2 − 0.8225·√n) (normal approximation), none when k < 1 (under 7 calls).
        low = (
            ", list_sort(list(duration_ms) FILTER (WHERE duration_ms IS NOT NULL)) AS sorted, "
            "CAST(floor(count(duration_ms) / 2 - 0.8225 * sqrt(count(duration_ms))) AS BIGINT) "
            "AS k"
            if bucket
            else ""
        )
        rows = self._rows(
            f"SELECT dependency{', ' + bucket if bucket else ''}, count(*) AS calls, "
            "count(*) FILTER (WHERE status = 'error') AS errors, "
            f"count(*) FILTER (WHERE {_RATE_LIMITED}) AS rate_limited, "
            f"count(*) FILTER (WHERE {_TIMEOUT}) AS timeouts, "
            f"quantile_cont(duration_ms, {_QUANTILE_LIST}) AS q, max(duration_ms) AS max_ms{low} "
            f"FROM ({calls}) GROUP BY {grouped} ORDER BY {grouped}",
            params,
        )
        for row in rows:
            row.update(_names(row.pop("q"), ""))
            if bucket:
                k, ordered = row.pop("k"), row.pop("sorted")
                row["median_low_ms"] = ordered[k - 1] if k >= 1 else None
        return rows

    def dependency_errors(self, scope: SpanFilter) -> list[Row]:
        """See `Store.dependency_errors`."""
        calls, params = self._calls_sql(scope)
        return self._rows(
            "SELECT dependency, error_class, count(*) AS calls "
            f"FROM ({calls}) WHERE status = 'error' "
            "GROUP BY dependency, error_class ORDER BY dependency, calls DESC, error_class",
            params,
        )

    # -- concurrency -----------------------------------------------------------------------------
    def _intervals_sql(self, scope: SpanFilter, of: str) -> tuple[str, list[Any], str]:
        """Intervals (key, start_ns, end_ns, duration_ms, status, rate_limited, timeout) that
        overlap the window, and the key they are counted by."""
        # Counted in flight: whatever overlaps the window, even when it started before it.
        wide = dataclasses.replace(scope, since_ns=None, until_ns=None)
        overlap: list[str] = []
        extra: list[Any] = []
        if scope.until_ns is not None:
            overlap.append("start_ns < ?")
            extra.append(scope.until_ns)
        if scope.since_ns is not None:
            overlap.append("end_ns > ?")
            extra.append(scope.since_ns)
        if of == "runs":
            clauses, params = _where(wide, steps=False)
            # A run hit a rate limit when any of its steps did.
            limited_clauses, limited_params = _where(
                SpanFilter(project=scope.project, since_ns=scope.since_ns), steps=True
            )
            sql = (
                "SELECT r.agent AS key, r.start_ns, r.end_ns, r.duration_ms, r.status, "
                "l.run_span_id IS NOT NULL AS rate_limited, r.error_class = 'timeout' AS timeout "
                "FROM runs r LEFT JOIN (SELECT DISTINCT trace_id, run_span_id FROM steps "
                f"WHERE {' AND '.join(limited_clauses)} AND {_RATE_LIMITED}) l "
                "ON l.trace_id = r.trace_id AND l.run_span_id = r.span_id "
                f"WHERE {' AND '.join('r.' + c for c in clauses)}"
                + "".join(f" AND r.{c}" for c in overlap)
            )
            return sql, [*limited_params, *params, *extra], "agent"
        if of == "calls":
            calls, params = self._calls_sql(scope, overlapping=True)
            sql = (
                "SELECT dependency AS key, start_ns, end_ns, duration_ms, status, "
                f"{_RATE_LIMITED} AS rate_limited, coalesce({_TIMEOUT}, false) AS timeout "
                f"FROM ({calls})"
            )
            return sql, params, "dependency"
        raise ValueError("concurrency is of 'runs' (per agent) or 'calls' (per dependency)")

    def _swept_sql(self, scope: SpanFilter, of: str) -> tuple[str, list[Any], str]:
        intervals, params, key = self._intervals_sql(scope, of)
        # Ends sort before starts at the same instant; the default frame (RANGE … CURRENT ROW)
        # takes every event of the same instant and sign, so simultaneous starts see each other.
        sql = (
            f"WITH i AS ({intervals}), ev AS ("
            "SELECT key, start_ns AS ts, 1 AS delta, start_ns, end_ns, duration_ms, status, "
            "rate_limited, timeout FROM i UNION ALL "
            "SELECT key, end_ns, -1, NULL, NULL, NULL, NULL, NULL, NULL FROM i), "
            "swept AS (SELECT *, sum(delta) OVER (PARTITION BY key ORDER BY ts, delta) AS level "
            "FROM ev)"
        )
        return sql, params, key

    def in_flight(self, scope: SpanFilter, *, of: str = "runs", bucket_ns: int) -> list[Row]:
        """See `Store.in_flight`."""
        swept, params, key = self._swept_sql(scope, of)
        bucket = _bucket(bucket_ns, "ts")
        rows = self._rows(
            f"{swept} SELECT key, {bucket}, max(level) AS peak, min(ts) AS first_ts, "
            "arg_max(level, ts * 2 + (delta + 1) // 2) AS last_level "
            "FROM swept GROUP BY key, bucket_ns ORDER BY key, bucket_ns",
            params,
        )
        points: list[tuple[Any, int, int]] = []
        last: tuple[Any, int] | None = None
        for row in rows:
            name, start = row["key"], int(row["bucket_ns"])
            carried = last[1] if last is not None and last[0] == name else 0
            if carried:
                # No event between two buckets: the level of the last one held all along.
                gap = range(points[-1][1] + bucket_ns, start, bucket_ns)
                points.extend((name, b, carried) for b in gap)
            # The level carried in holds from the bucket's start until its first event.
            held = carried if row["first_ts"] > start else 0
            points.append((name, start, max(int(row["peak"]), held)))
            last = (name, int(row["last_level"]))
        low = None if scope.since_ns is None else scope.since_ns - scope.since_ns % bucket_ns
        high = scope.until_ns
        return [
            {key: name, "bucket_ns": start, "in_flight": peak}
            for name, start, peak in points
            if peak > 0 and (low is None or start >= low) and (high is None or start < high)
        ]

    def concurrency_bands(
        self, scope: SpanFilter, *, of: str = "runs", band_width: int | None = None
    ) -> list[Row]:
        """See `Store.concurrency_bands`."""
        swept, params, key = self._swept_sql(scope, of)
        band = _band(band_width)
        window: list[str] = []
        if scope.since_ns is not None:
            window.append("start_ns >= ?")
            params.append(scope.since_ns)
        if scope.until_ns is not None:
            window.append("start_ns < ?")
            params.append(scope.until_ns)
        rows = self._rows(
            f"{swept}, started AS (SELECT key, duration_ms, status, rate_limited, timeout, "
            "level + CASE WHEN end_ns <= start_ns THEN 1 ELSE 0 END AS c FROM swept "
            f"WHERE delta = 1{''.join(' AND ' + w for w in window)}) "
            f"SELECT key, {band} AS band_low, count(*) AS n, max(c) AS peak, "
            "count(*) FILTER (WHERE status = 'error') AS errors, "
            "count(*) FILTER (WHERE rate_limited) AS rate_limited, "
            "count(*) FILTER (WHERE timeout) AS timeouts, "
            "quantile_cont(duration_ms, [0.5, 0.99]) AS q "
            "FROM started GROUP BY key, band_low ORDER BY key, band_low",
            params,
        )
        out = []
        for row in rows:
            p50, p99 = row.pop("q")
            low = int(row.pop("band_low"))
            out.append(
                {
                    key: row.pop("key"),
                    "band_low": low,
                    "band_high": _band_high(low, band_width),
                    **row,
                    "p50_ms": p50,
                    "p99_ms": p99,
                }
            )
        return out

    # -- usage -----------------------------------------------------------------------------------
    def usage(self, scope: SpanFilter, by: Sequence[str] = ("agent", "model")) -> list[Row]:
        """See `Store.usage`."""
        keys = _group_columns(by, USAGE_GROUPS)
        clauses, params = _where(scope, steps=True)
        grouped = ", ".join(by)
        head = ", ".join(keys) + ", " if keys else ""
        return self._rows(
            f"SELECT {head}count(*) AS calls, sum(coalesce(input_tokens, 0)) AS input_tokens, "
            "sum(coalesce(output_tokens, 0)) AS output_tokens FROM steps "
            f"WHERE {' AND '.join(clauses)} "
            "AND (input_tokens IS NOT NULL OR output_tokens IS NOT NULL) "
            + (f"GROUP BY {grouped} ORDER BY {grouped}" if by else "HAVING count(*) > 0"),
            params,
        )
