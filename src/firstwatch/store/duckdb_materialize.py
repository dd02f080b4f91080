"""Runs and steps from spans, in SQL (design.md §2 and §5 "Runs and names").

A run is the outermost agent-marked span of a trace, else the trace's root. Spans arrive in any
order, so a trace's runs and steps are rebuilt from all the spans it has so far whenever new ones
arrive: a late child still counts, and spans whose run span never arrived show as one `incomplete`
run, keyed by the missing parent's span id, so nothing is lost. When a trace has both, the
incomplete parts belong to its earliest complete run.

Everything runs inside DuckDB, over a relation of spans with `project` and the columns of
`firstwatch.store.schema.MATERIALIZE_COLUMNS` (each span once): no row becomes a Python object.
`tests/reference_materialize.py` states the same rules in plain Python, and a property test holds
the two to the same answers.
"""

from __future__ import annotations

import duckdb
import nanoarrow as na

INCOMPLETE = "incomplete"

# Ancestor chains longer than this are cut there (a guard against parent cycles, which would
# otherwise walk for ever; real traces are a few levels deep).
MAX_DEPTH = 256

_TRACE = "project, trace_id"


# The temporary tables `materialize` makes; the caller drops them with its own.
TEMPORARY = ("tree", "link", "walk", "flags", "owned", "new_runs", "new_steps")


def _placement_sql(source: str) -> list[str]:
    """Statements that work out where every span of `source` belongs, into temporary tables of
    narrow rows: `owned` holds each span's `owner`, the span id of its run (itself for a run, a
    missing parent's id for an incomplete one, NULL for a span above every run).

    Several statements rather than one: DuckDB keeps every hash table of a statement until the
    statement ends, with blocks for each thread and partition whatever its input. As one statement
    this took about 96 MB for 17,000 spans; in these steps at most 44 MB (docs/benchmarks.md).
    """
    return [
        # The tree is worked out on integer ids.
        f"""CREATE OR REPLACE TEMP TABLE tree AS
SELECT project, trace_id, span_id, nullif(parent_span_id, '') AS parent, agent_marked, start_ns,
    kind, name, dependency, status, row_number() OVER () AS id
FROM {source}""",
        """CREATE OR REPLACE TEMP TABLE link AS
SELECT c.id, p.id AS up, p.agent_marked AS up_marked,
    CASE WHEN p.id IS NULL THEN c.parent END AS missing
FROM tree c LEFT JOIN tree p
    ON p.project = c.project AND p.trace_id = c.trace_id AND p.span_id = c.parent""",
        f"""CREATE OR REPLACE TEMP TABLE walk AS
WITH RECURSIVE steps (id, anc, marked, depth) AS (
    SELECT id, id, false, 0 FROM link
    UNION ALL
    SELECT w.id, l.up, l.up_marked, w.depth + 1
    FROM steps w JOIN link l ON l.id = w.anc
    -- Back at its start, a walk round a cycle of parents has seen every ancestor.
    WHERE l.up IS NOT NULL AND l.up <> w.id AND w.depth < {MAX_DEPTH}
)
SELECT * FROM steps""",
        f"""CREATE OR REPLACE TEMP TABLE flags AS
WITH chain AS (
    SELECT id, bool_or(marked) AS marked_above, arg_max(anc, depth) AS top FROM walk GROUP BY id
),
marks AS (SELECT {_TRACE}, bool_or(agent_marked) AS any_marked FROM tree GROUP BY ALL)
SELECT s.id, s.project, s.trace_id, s.span_id, s.start_ns, t.missing,
    CASE WHEN m.any_marked THEN s.agent_marked AND NOT c.marked_above
        ELSE s.parent IS NULL END AS is_run
FROM tree s JOIN marks m USING ({_TRACE}) JOIN chain c USING (id) JOIN link t ON t.id = c.top""",
        f"""CREATE OR REPLACE TEMP TABLE owned AS
WITH nearest AS (
    SELECT w.id, arg_min(r.span_id, w.depth) AS run_above
    FROM walk w JOIN flags r ON r.id = w.anc AND r.is_run
    WHERE w.depth > 0
    GROUP BY w.id
),
first_run AS (
    SELECT {_TRACE}, arg_min(span_id, (start_ns, span_id)) AS run_id
    FROM flags WHERE is_run GROUP BY ALL
)
SELECT f.id, f.project, f.trace_id, f.span_id, f.is_run,
    CASE
        WHEN f.is_run THEN f.span_id
        WHEN n.run_above IS NOT NULL THEN n.run_above
        -- The chain ends at a parent that has not arrived: an incomplete part.
        WHEN f.missing IS NOT NULL THEN coalesce(r.run_id, f.missing)
    END AS owner
FROM flags f
LEFT JOIN nearest n USING (id)
LEFT JOIN first_run r USING ({_TRACE})""",
    ]


def _placed_sql(source: str) -> str:
    """Every span of `source` (each span once) that belongs to a run, with its `owner` and
    `is_run` from `_placement_sql`'s tables, and `retried`: a failed call that a later call of the
    same name and dependency under the same parent sent again."""
    return f"""
WITH calls AS MATERIALIZED (
    SELECT s.id, s.project, s.trace_id, o.owner, s.parent, s.name, s.dependency, s.start_ns,
        s.span_id, s.status
    FROM tree s JOIN owned o USING (id)
    WHERE NOT o.is_run AND o.owner IS NOT NULL AND s.kind IN ('http', 'llm')
),
retried AS (
    SELECT DISTINCT f.project, f.trace_id, f.span_id FROM calls f JOIN calls c
        ON c.project = f.project AND c.trace_id = f.trace_id AND c.owner = f.owner
        AND c.parent IS NOT DISTINCT FROM f.parent AND c.name IS NOT DISTINCT FROM f.name
        AND c.dependency IS NOT DISTINCT FROM f.dependency
        AND (c.start_ns, c.span_id) > (f.start_ns, f.span_id)
    WHERE f.status = 'error'
)
SELECT s.*, o.owner, o.is_run, r.span_id IS NOT NULL AS retried
FROM {source} s JOIN owned o USING ({_TRACE}, span_id)
LEFT JOIN retried r USING ({_TRACE}, span_id)
WHERE o.owner IS NOT NULL
"""


# The earliest failed step of a class other than `unknown`, as (class, fingerprint).
_FAILED_KNOWN = "m.status = 'error' AND m.error_class IS NOT NULL AND m.error_class <> 'unknown'"
_STEP_FACTS = f"""
    count(m.span_id) AS step_count,
    count(m.span_id) FILTER (WHERE m.status = 'error') AS error_step_count,
    coalesce(sum(CASE WHEN m.kind = 'http' THEN (coalesce(m.retry_count, 0) > 0)::INTEGER
        ELSE coalesce(m.retry_count, 0) END), 0) AS step_retries,
    coalesce(sum(coalesce(m.retry_wait_ms, 0.0)), 0.0) AS step_wait_ms,
    coalesce(sum(coalesce(m.duration_ms, 0.0)) FILTER (WHERE m.retried), 0.0) AS lost_ms,
    bool_or(m.status = 'error') AS any_failed,
    bool_or(m.agent_marked AND m.status = 'error') AS nested_failed,
    arg_min({{'c': m.error_class, 'f': m.error_fingerprint}}, m.start_ns)
        FILTER (WHERE {_FAILED_KNOWN} AND NOT m.retried) AS failed_kept,
    arg_min({{'c': m.error_class, 'f': m.error_fingerprint}}, m.start_ns)
        FILTER (WHERE {_FAILED_KNOWN} AND m.retried) AS failed_retried,
    flatten(list(from_json(m.failed_checks, '["VARCHAR"]'))
        FILTER (WHERE m.failed_checks IS NOT NULL)) AS step_checks,
    arg_min(m.agent, m.start_ns) FILTER (WHERE m.agent_marked AND m.agent <> '') AS inner_agent
"""


def _checks(names: str) -> str:
    """The stored form of a list of check names: JSON text, NULL when there are none."""
    return (
        f"CASE WHEN len(list_distinct({names})) > 0 "
        f"THEN to_json(list_sort(list_distinct({names})))::VARCHAR END"
    )


def _runs_sql(placed: str) -> str:
    """The runs of the spans in `placed` (rows of `_placed_sql`), complete and incomplete."""
    complete = f"""
SELECT r.project, r.trace_id, r.span_id, r.name, r.version, r.start_ns, r.end_ns, r.duration_ms,
    r.input_preview, r.output_preview,
    coalesce(nullif(r.agent, ''), f.inner_agent, nullif(r.service, '')) AS agent,
    coalesce(nullif(r.environment, ''), 'unknown') AS environment,
    CASE WHEN r.status = 'error' OR coalesce(f.nested_failed, false) THEN 'error' ELSE 'ok' END
        AS status,
    CASE WHEN r.error_class IS NOT NULL AND r.error_class <> 'unknown'
        THEN {{'c': r.error_class, 'f': r.error_fingerprint}} END AS own_known,
    {{'c': coalesce(r.error_class, 'unknown'), 'f': r.error_fingerprint}} AS own,
    TRUE AS complete,
    coalesce(r.retry_count, 0) AS own_retries,
    coalesce(r.retry_wait_ms, 0.0) AS own_wait_ms,
    list_concat(coalesce(from_json(r.failed_checks, '["VARCHAR"]'), []),
        coalesce(f.step_checks, [])) AS checks,
    f.* EXCLUDE (project, trace_id, owner, step_checks, inner_agent)
FROM {placed} r
LEFT JOIN (SELECT m.project, m.trace_id, m.owner, {_STEP_FACTS}
    FROM {placed} m WHERE NOT m.is_run GROUP BY ALL) f
    ON f.project = r.project AND f.trace_id = r.trace_id AND f.owner = r.span_id
WHERE r.is_run
"""
    # Identity comes from the earliest member naming an agent (the agent attributes usually sit
    # on the resource of every span), else from the earliest member.
    incomplete = f"""
SELECT project, trace_id, span_id, NULL AS name,
    coalesce(named, earliest).v AS version,
    coalesce(nullif(coalesce(named, earliest).e, ''), 'unknown') AS environment,
    coalesce(named.a, service) AS agent,
    start_ns, end_ns, (end_ns - start_ns) / 1e6 AS duration_ms,
    NULL AS input_preview, NULL AS output_preview,
    '{INCOMPLETE}' AS status, NULL AS own_known, {{'c': 'unknown', 'f': NULL::VARCHAR}} AS own,
    FALSE AS complete, 0 AS own_retries, 0.0 AS own_wait_ms,
    coalesce(step_checks, []) AS checks,
    * EXCLUDE (project, trace_id, span_id, named, earliest, service, start_ns, end_ns,
        step_checks, inner_agent)
FROM (
    SELECT m.project, m.trace_id, m.owner AS span_id,
        arg_min({{'v': m.version, 'e': m.environment, 'a': m.agent}}, m.start_ns)
            FILTER (WHERE m.agent <> '') AS named,
        arg_min({{'v': m.version, 'e': m.environment, 'a': m.agent}}, (m.start_ns, m.span_id))
            AS earliest,
        arg_min(m.service, m.start_ns) FILTER (WHERE m.service <> '') AS service,
        min(m.start_ns) AS start_ns, max(m.end_ns) AS end_ns,
        {_STEP_FACTS}
    FROM {placed} m
    WHERE NOT EXISTS (SELECT 1 FROM {placed} r WHERE r.is_run AND r.project = m.project
        AND r.trace_id = m.trace_id AND r.span_id = m.owner)
    GROUP BY m.project, m.trace_id, m.owner
)
"""
    facts = f"""
SELECT *,
    CASE WHEN status = 'error' OR (status = '{INCOMPLETE}' AND any_failed)
        THEN coalesce(failed_kept, own_known, failed_retried, own) END AS failure
FROM ({complete} UNION ALL BY NAME {incomplete})
"""
    return f"""
SELECT project, trace_id, span_id, name, agent, version, environment, start_ns, end_ns,
    duration_ms, status, struct_extract(failure, 'c') AS error_class, complete,
    coalesce(step_count, 0)::INTEGER AS step_count,
    coalesce(error_step_count, 0)::INTEGER AS error_step_count,
    (own_retries + coalesce(step_retries, 0))::INTEGER AS retry_count,
    own_wait_ms + coalesce(step_wait_ms, 0.0) AS retry_wait_ms,
    input_preview, output_preview,
    struct_extract(failure, 'f') AS error_fingerprint,
    {_checks("checks")} AS failed_checks,
    status = 'ok' AND len(checks) > 0 AS silent_failure,
    greatest(0.0, duration_ms - own_wait_ms - coalesce(step_wait_ms, 0.0)
        - coalesce(lost_ms, 0.0)) AS first_attempt_ms
FROM ({facts})
"""


def _steps_sql(placed: str, runs: str) -> str:
    """The steps of the spans in `placed`, with their run's agent, version and environment."""
    return f"""
SELECT m.project, m.trace_id, m.span_id, nullif(m.parent_span_id, '') AS parent_span_id,
    m.owner AS run_span_id, m.name, m.kind, r.agent, r.version, r.environment,
    m.start_ns, m.end_ns, m.duration_ms,
    CASE WHEN m.status = 'error' THEN 'error' ELSE 'ok' END AS status,
    CASE WHEN m.status = 'error' THEN m.error_class END AS error_class,
    m.dependency, m.http_status, m.retry_count, m.retry_wait_ms,
    CASE WHEN m.status = 'error' THEN m.error_fingerprint END AS error_fingerprint,
    m.failed_checks, m.model, m.input_tokens, m.output_tokens
FROM {placed} m JOIN {runs} r
    ON r.project = m.project AND r.trace_id = m.trace_id AND r.span_id = m.owner
WHERE NOT m.is_run
"""


def materialize(
    con: duckdb.DuckDBPyConnection, source: str, run_columns: list[str], step_columns: list[str]
) -> None:
    """Runs and steps of every trace in the relation `source`, into the temporary tables
    `new_runs` and `new_steps` with `run_columns` and `step_columns` (in that order).

    Registers the Arrow array `placed` on `con`; the caller unregisters it and drops the tables
    of `TEMPORARY`, which replace any of their names. The runs and steps stay in DuckDB: a
    statement that scans an Arrow table needs the GIL, and waits for it as long as a busy thread
    keeps it. `placed`, every span with its run, is the exception: as a DuckDB table it took
    twice its size in Arrow.
    """
    for statement in _placement_sql(source):
        _run(con, statement)
    con.register("placed", na.ArrayStream(con.sql(_placed_sql(source))).read_all())
    _run(
        con,
        f"CREATE OR REPLACE TEMP TABLE new_runs AS SELECT {', '.join(run_columns)} "
        f"FROM ({_runs_sql('placed')})",
    )
    _run(
        con,
        f"CREATE OR REPLACE TEMP TABLE new_steps AS SELECT {', '.join(step_columns)} "
        f"FROM ({_steps_sql('placed', 'new_runs')})",
    )


def _run(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    con.execute(sql).fetchall()
