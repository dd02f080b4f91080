"""Benchmark of the read path: latency and error queries on 10 million stored spans in DuckDB.

Builds a store of 1,000,000 runs of 20 agents over 7 days, each with 9 steps (10,000,000 span
rows in the runs and steps tables), written in time order as ingest writes them, with the store's
own row groups. Then times, each on a freshly opened store (cold: DuckDB's buffers empty, the
operating system's file cache as it is) and then again (warm: DuckDB's caches, never a result
cache):

- the agents overview: run and error counts and p50/p99 per agent, version and environment;
- a 1-minute p50/p90/p95/p99 series (with first-attempt latency) of one agent over 24 h;
- error classes by agent (all time);

and, for reference, plain `quantile_cont` p50/p99 by agent × minute over 24 h and 1 h.

    python bench/queries.py [--runs 1000000] [--store PATH] [--repeat 5] [--shuffled]

`--shuffled` writes the rows in random order instead, to measure what time order is worth.
The raw spans table (attributes as JSON) is left empty: none of these queries reads it.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import duckdb

from firstwatch.settings import DUCKDB_MEMORY_LIMIT
from firstwatch.store.base import RunFilter, SpanFilter
from firstwatch.store.duckdb import ROW_GROUP_SIZE, DuckDBStore

TARGET_MS = 100.0
AGENTS = 20
STEPS_PER_RUN = 9
DAYS = 7
SECOND = 10**9
MINUTE = 60 * SECOND
HOUR = 3600 * SECOND
END_NS = 1_800_000_000 * SECOND  # the end of the generated week
START_NS = END_NS - DAYS * 24 * HOUR
PROJECT = "default"

# A uniform number in (0, 1) and a standard normal one, from a row number and a salt.
_WEEK_NS = DAYS * 24 * HOUR
MACROS = f"""
CREATE OR REPLACE TEMP MACRO unif(i, salt) AS (hash(i, salt) % 1000003 + 0.5) / 1000003.0;
CREATE OR REPLACE TEMP MACRO gauss(i, salt) AS
    sqrt(-2 * ln(unif(i, salt))) * cos(2 * pi() * unif(i, salt + 1));
CREATE OR REPLACE TEMP MACRO run_start(i, n) AS
    {START_NS} + CAST(i * ({_WEEK_NS} / n) AS BIGINT) + CAST(unif(i, 3) * 1e9 AS BIGINT);
"""

RUNS_SQL = """
INSERT INTO runs (project, trace_id, span_id, name, agent, version, environment, start_ns, end_ns,
    duration_ms, status, error_class, complete, step_count, error_step_count, retry_count,
    retry_wait_ms, first_attempt_ms, silent_failure, trace_key)
SELECT 'default', printf('%032x', i), printf('%016x', i * 16), 'run', agent, version,
    environment, start_ns, start_ns + CAST(duration_ms * 1e6 AS BIGINT), duration_ms, status,
    error_class, TRUE, 9, CASE WHEN status = 'error' THEN 1 ELSE 0 END, retries, wait_ms,
    duration_ms - wait_ms, FALSE, i
FROM (
    SELECT i, 'agent-' || lpad(CAST(hash(i, 1) % {agents} AS VARCHAR), 2, '0') AS agent,
        '1.' || CAST(hash(i, 2) % 3 AS VARCHAR) AS version,
        CASE WHEN unif(i, 4) < 0.1 THEN 'staging' ELSE 'production' END AS environment,
        run_start(i, {runs}) AS start_ns,
        CASE WHEN unif(i, 5) < 0.05 THEN 1 + CAST(unif(i, 6) * 3 AS INTEGER) ELSE 0 END
            AS retries,
        CASE WHEN unif(i, 5) < 0.05 THEN 1000 + 30000 * unif(i, 7) ELSE 0 END AS wait_ms,
        900 * exp(0.8 * gauss(i, 8)) + wait_ms AS duration_ms,
        CASE WHEN unif(i, 10) < 0.04 THEN 'error' ELSE 'ok' END AS status,
        CASE WHEN unif(i, 10) < 0.04 THEN ['rate_limited', 'timeout', 'upstream_unavailable',
            'output_invalid', 'agent_bug'][1 + CAST(unif(i, 11) * 5 AS INTEGER)] END AS error_class
    FROM range({first}, {last}) r(i)
) ORDER BY {order}
"""

STEPS_SQL = """
INSERT INTO steps (project, trace_id, span_id, parent_span_id, run_span_id, name, kind, agent,
    version, environment, start_ns, end_ns, duration_ms, status, error_class, dependency,
    http_status, retry_count, retry_wait_ms, model, input_tokens, output_tokens, trace_key)
SELECT 'default', printf('%032x', i), printf('%016x', i * 16 + j + 1),
    -- each HTTP call sits under the model or tool step before it, as the SDK records them
    printf('%016x', i * 16 + CASE WHEN j IN (2, 4, 6) THEN j ELSE 0 END),
    printf('%016x', i * 16), name, kind,
    'agent-' || lpad(CAST(hash(i, 1) % {agents} AS VARCHAR), 2, '0'),
    '1.' || CAST(hash(i, 2) % 3 AS VARCHAR),
    CASE WHEN unif(i, 4) < 0.1 THEN 'staging' ELSE 'production' END,
    run_start(i, {runs}) + j * 50000000, run_start(i, {runs}) + j * 50000000
        + CAST(ms * 1e6 AS BIGINT), ms,
    CASE WHEN http_status >= 400 THEN 'error' ELSE 'ok' END,
    CASE WHEN http_status = 429 THEN 'rate_limited' WHEN http_status >= 500
        THEN 'upstream_unavailable' END,
    dependency, http_status, NULL, NULL,
    CASE WHEN kind = 'llm' THEN 'model-' || CAST(hash(i, 1) % 3 AS VARCHAR) END,
    CASE WHEN kind = 'llm' THEN 500 + CAST(unif(i * 16 + j, 13) * 3000 AS BIGINT) END,
    CASE WHEN kind = 'llm' THEN 50 + CAST(unif(i * 16 + j, 14) * 500 AS BIGINT) END,
    i
FROM (
    SELECT k // 9 AS i, k % 9 AS j,
        ['plan', 'classify', 'POST', 'search', 'GET', 'extract', 'POST', 'save', 'check'][k % 9 + 1]
            AS name,
        ['step', 'llm', 'http', 'tool', 'http', 'llm', 'http', 'tool', 'step'][k % 9 + 1] AS kind,
        [NULL, 'llm-api', 'llm-api', 'search-api', 'search-api', 'llm-api', 'llm-api', 'crm',
            NULL][k % 9 + 1] AS dependency,
        CASE WHEN k % 9 IN (2, 4, 6) THEN
            CASE WHEN unif(k, 12) < 0.02 THEN 429 WHEN unif(k, 12) < 0.025 THEN 503 ELSE 200 END
        END AS http_status,
        200 * exp(0.9 * gauss(k, 15)) AS ms
    FROM range({first} * 9, {last} * 9) r(k)
) ORDER BY {order}
"""


def build(path: Path, runs: int, shuffled: bool) -> float:
    """Create the store's tables, then fill them in batches of a day; returns seconds taken."""
    DuckDBStore(path).close()
    began = time.perf_counter()
    con = duckdb.connect()
    con.execute(f"ATTACH '{path}' AS store (ROW_GROUP_SIZE {ROW_GROUP_SIZE})")
    con.execute("USE store")
    con.execute(MACROS)
    batches = DAYS if not shuffled else 1
    step = -(-runs // batches)
    for first in range(0, runs, step):
        last = min(runs, first + step)
        for sql, order, scattered in (
            (RUNS_SQL, "start_ns", "hash(i, 99)"),
            (STEPS_SQL, "i, j", "hash(i, j, 99)"),
        ):
            con.execute(
                sql.format(
                    agents=AGENTS,
                    runs=runs,
                    first=first,
                    last=last,
                    order=scattered if shuffled else order,
                )
            )
    con.execute("CHECKPOINT")
    con.close()
    return time.perf_counter() - began


def timed(call: Callable[[], Any], repeat: int) -> tuple[float, list[float], Any]:
    """Cold (first call) and warm (the next `repeat`) times in ms, and the last result."""
    began = time.perf_counter()
    result = call()
    cold = (time.perf_counter() - began) * 1000
    warm = []
    for _ in range(repeat):
        began = time.perf_counter()
        result = call()
        warm.append((time.perf_counter() - began) * 1000)
    return cold, warm, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--store", type=Path, default=None, help="reuse or create this file")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--shuffled", action="store_true")
    parser.add_argument(
        "--duckdb-memory-limit",
        default=DUCKDB_MEMORY_LIMIT,
        help="DuckDB memory_limit of the store (setting duckdb_memory_limit; default: its default)",
    )
    args = parser.parse_args()

    path = args.store or Path(tempfile.mkdtemp()) / "bench-queries.duckdb"
    if not path.exists():
        seconds = build(path, args.runs, args.shuffled)
        print(f"built {path} in {seconds:.0f} s ({path.stat().st_size / 2**20:,.0f} MiB)")
    day = 24 * HOUR
    one_agent = SpanFilter(
        project=PROJECT, agent="agent-07", since_ns=END_NS - day, until_ns=END_NS
    )
    last_day = SpanFilter(project=PROJECT, since_ns=END_NS - day, until_ns=END_NS)
    cases: list[tuple[str, Callable[[DuckDBStore], Any]]] = [
        (
            "agents overview (counts + p50/p99, all time)",
            lambda s: (s.agents(PROJECT, None, None), s.latency_summary(PROJECT, None, None)),
        ),
        (
            "  of which p50/p99 per agent, version, environment",
            lambda s: s.latency_summary(PROJECT, None, None),
        ),
        (
            "agents overview, last 24 h",
            lambda s: (
                s.agents(PROJECT, END_NS - day, END_NS),
                s.latency_summary(PROJECT, END_NS - day, END_NS),
            ),
        ),
        (
            "one agent, 1-minute p50–p99 series over 24 h",
            lambda s: s.latency(one_agent, bucket_ns=MINUTE),
        ),
        ("error classes by agent (all time)", lambda s: s.error_counts(RunFilter(PROJECT))),
        (
            "also: dependencies, hourly, 24 h",
            lambda s: s.dependency_latency(last_day, HOUR),
        ),
        (
            "also: runs in flight per agent, 1-minute buckets, 24 h",
            lambda s: s.in_flight(last_day, bucket_ns=MINUTE),
        ),
        (
            "also: calls by concurrency band per dependency, 24 h",
            lambda s: s.concurrency_bands(last_day, of="calls"),
        ),
        (
            "also: tokens by agent and model, 24 h",
            lambda s: s.usage(last_day),
        ),
        (
            "reference: plain p50/p99, agent × minute, 24 h (runs)",
            lambda s: _plain(s, "runs", day),
        ),
        (
            "reference: plain p50/p99, agent × minute, 24 h (steps)",
            lambda s: _plain(s, "steps", day),
        ),
        (
            "reference: plain p50/p99, agent × minute, 1 h (steps)",
            lambda s: _plain(s, "steps", HOUR),
        ),
    ]
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"duckdb {duckdb.__version__} (memory_limit {args.duckdb_memory_limit}), "
        f"load average {load}; cold = first query on a freshly "
        f"opened store, warm = median (best) of {args.repeat}"
    )
    print(f"{'query':<56} {'rows':>7} {'cold ms':>9} {'warm ms':>16}")
    for name, case in cases:
        store = DuckDBStore(path, memory_limit=args.duckdb_memory_limit)
        try:
            cold, warm, result = timed(partial(case, store), args.repeat)
        finally:
            store.close()
        rows = sum(len(r) for r in result) if isinstance(result, tuple) else len(result)
        targeted = not name.startswith(("ref", "also"))
        flag = "  over" if targeted and statistics.median(warm) > TARGET_MS else ""
        print(
            f"{name:<56} {rows:>7} {cold:>9.1f} "
            f"{statistics.median(warm):>7.1f} ({min(warm):.1f}){flag}"
        )


def _plain(store: DuckDBStore, table: str, window_ns: int) -> list[Any]:
    return store._fetch(
        f"SELECT agent, start_ns // {MINUTE} AS minute, "
        "quantile_cont(duration_ms, [0.5, 0.99]) FROM "
        f"{table} WHERE project = ? AND start_ns >= ? AND start_ns < ? GROUP BY ALL",
        [PROJECT, END_NS - window_ns, END_NS],
    )


if __name__ == "__main__":
    main()
