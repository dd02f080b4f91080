"""The store contract, run on every backend."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

from arrowtables import SPAN_SCHEMA, Shrinking
from firstwatch.store import ApiKey, RunFilter, Store
from firstwatch.store.schema import SPAN_COLUMN_NAMES

BASE = 1_800_000_000_000_000_000


def row(trace: int, span: int, parent: int | None, **over: Any) -> dict[str, Any]:
    values: dict[str, Any] = dict.fromkeys(SPAN_COLUMN_NAMES)
    start = over.pop("start", BASE + trace * 1_000_000_000 + span)
    values.update(
        project="default",
        trace_id=f"{trace:032x}",
        span_id=f"{span:016x}",
        parent_span_id=f"{parent:016x}" if parent is not None else None,
        name=f"s{span}",
        span_kind=1,
        kind="step",
        agent_marked=False,
        start_ns=start,
        end_ns=start + 2_000_000,
        duration_ms=2.0,
        status="ok",
        agent="extractor",
        version="1",
        environment="production",
        received_ns=0,
    )
    values.update(over)
    return values


def table(*rows: dict[str, Any]) -> pa.Table:
    return pa.Table.from_pylist(list(rows), schema=SPAN_SCHEMA)


def runs(store: Store, **filters: Any) -> list[dict[str, Any]]:
    return store.list_runs(
        RunFilter(project=filters.pop("project", "default"), **filters), 100, None
    )


def test_apply_is_idempotent_and_records_the_lsn(store: Store) -> None:
    batch = table(row(1, 1, None, agent_marked=True, kind="run"), row(1, 2, 1))
    assert store.apply(batch, 1) == 2
    assert store.apply(batch, 2) == 0
    assert store.count_spans() == 2
    assert store.applied_lsn() == 2
    (run,) = runs(store)
    assert run["step_count"] == 1


def test_duplicates_inside_one_batch_count_once(store: Store) -> None:
    one = row(1, 1, None, agent_marked=True, kind="run")
    assert store.apply(table(one, one, one), 1) == 1


def test_a_batch_in_several_chunks_stores_the_first_copy_of_each_new_span(store: Store) -> None:
    def span(number: int, text: str) -> dict[str, Any]:
        # Each span its own run, so that `run_spans` shows every stored span's full row.
        return row(6, number, None, agent_marked=True, attributes=text, events=f"[{number}]")

    store.apply(table(span(1, "stored")), 1)
    # A copy of a stored span, and a new one twice, amid new spans, in two chunks: the store reads
    # the batch twice (its narrow columns, then every column as it inserts) and picks by position.
    first = table(span(1, "again"), span(2, "first"), span(2, "second"))
    batch = pa.concat_tables([first, table(span(3, "x"), span(4, "y"))])
    assert batch.column("span_id").num_chunks == 2
    assert store.apply(batch, 2) == 3
    stored = store.run_spans("default", f"{6:032x}")
    assert {s["span_id"]: (s["attributes"], s["events"]) for s in stored} == {
        f"{1:016x}": ("stored", "[1]"),
        f"{2:016x}": ("first", "[2]"),
        f"{3:016x}": ("x", "[3]"),
        f"{4:016x}": ("y", "[4]"),
    }
    assert len(runs(store)) == 4 and store.applied_lsn() == 2


@pytest.mark.parametrize("stored_first", [False, True])
def test_a_batch_read_short_the_second_time_stores_nothing(
    store: Store, stored_first: bool
) -> None:
    if stored_first:  # then the fresh spans are picked by position
        store.apply(table(row(7, 9, None)), 1)
    before = store.count_spans()
    batch = table(row(7, 1, None), row(7, 2, 1), row(7, 9, None))
    with pytest.raises(Exception, match="read again"):
        store.apply(Shrinking(batch), 2)
    assert store.count_spans() == before and store.applied_lsn() == (1 if stored_first else 0)
    assert store.apply(batch, 2) == 3 - before


def test_late_root_completes_an_incomplete_run(store: Store) -> None:
    store.apply(table(row(3, 2, 1), row(3, 3, 1)), 1)
    (early,) = runs(store)
    assert early["status"] == "incomplete" and early["span_id"] == f"{1:016x}"
    store.apply(table(row(3, 1, None, agent_marked=True, kind="run", start=BASE)), 2)
    (late,) = runs(store)
    assert late["status"] == "ok" and late["complete"] and late["step_count"] == 2
    _, steps = store.trace("default", f"{3:032x}")
    assert {s["run_span_id"] for s in steps} == {f"{1:016x}"}


def test_filters_and_pagination(store: Store) -> None:
    rows = []
    for t in range(1, 26):
        rows.append(
            row(
                t,
                1,
                None,
                agent_marked=True,
                kind="run",
                environment="staging" if t % 2 else "production",
                status="error" if t % 5 == 0 else "ok",
                error_class="timeout" if t % 5 == 0 else None,
            )
        )
    store.apply(table(*rows), 1)
    assert len(runs(store)) == 25
    assert len(runs(store, environment="staging")) == 13
    assert [r["error_class"] for r in runs(store, status="error")] == ["timeout"] * 5
    assert runs(store, agent="nobody") == []
    assert runs(store, project="other") == []
    since = BASE + 20 * 1_000_000_000
    assert len(runs(store, since_ns=since)) == 6
    seen: list[str] = []
    after = None
    while True:
        page = store.list_runs(RunFilter(project="default"), 7, after)
        if not page:
            break
        seen.extend(r["trace_id"] for r in page)
        last = page[-1]
        after = (last["start_ns"], last["trace_id"], last["span_id"])
    assert seen == [f"{t:032x}" for t in range(25, 0, -1)]


def test_agents_summary(store: Store) -> None:
    store.apply(
        table(
            row(1, 1, None, agent_marked=True, kind="run"),
            row(2, 1, None, agent_marked=True, kind="run", status="error", error_class="timeout"),
            row(3, 1, None, agent_marked=True, kind="run", agent="other", version="2"),
        ),
        1,
    )
    summary = {(a["agent"], a["version"]): a for a in store.agents("default", None, None)}
    assert summary[("extractor", "1")]["runs"] == 2
    assert summary[("extractor", "1")]["errors"] == 1
    assert summary[("other", "2")]["runs"] == 1


def test_projects_are_isolated(store: Store) -> None:
    store.apply(table(row(1, 1, None, project="a"), row(1, 1, None, project="b")), 1)
    assert store.count_spans("a") == 1 and store.count_spans("b") == 1
    assert len(runs(store, project="a")) == 1
    assert store.trace("a", f"{1:032x}")[0][0]["trace_id"] == f"{1:032x}"


def test_keys(store: Store) -> None:
    assert store.key_count() == 0
    store.add_key(ApiKey("k1", "acme", "read", "fw_abcdefgh", 1), "hash1")
    assert store.key_by_hash("hash1") == ApiKey("k1", "acme", "read", "fw_abcdefgh", 1)
    assert store.key_by_hash("nope") is None
    assert "acme" in store.projects()
    assert store.key_count() == 1


def test_runs_carry_checks_fingerprints_and_first_attempt(store: Store) -> None:
    run = row(
        7,
        1,
        None,
        agent_marked=True,
        kind="run",
        duration_ms=10_000.0,
        failed_checks='["date_is_iso"]',
    )
    failed_call = row(
        7,
        2,
        1,
        kind="http",
        name="POST",
        dependency="llm",
        status="error",
        error_class="rate_limited",
        error_fingerprint="f1",
        duration_ms=200.0,
        start=BASE + 7_000_000_000 + 10,
    )
    resent = row(
        7,
        3,
        1,
        kind="http",
        name="POST",
        dependency="llm",
        retry_count=1,
        retry_wait_ms=3000.0,
        duration_ms=500.0,
        model="gpt-4o-mini",
        input_tokens=12,
        output_tokens=3,
        start=BASE + 7_000_000_000 + 20,
    )
    store.apply(table(run, failed_call, resent), 1)
    (stored,) = runs(store)
    assert stored["status"] == "ok"
    assert stored["silent_failure"] is True
    assert stored["failed_checks"] == '["date_is_iso"]'
    assert stored["retry_count"] == 1 and stored["retry_wait_ms"] == 3000.0
    assert stored["first_attempt_ms"] == 10_000.0 - 3000.0 - 200.0
    detail, steps = store.trace("default", f"{7:032x}")
    assert detail[0]["span_id"] == f"{1:016x}"
    by_id = {s["span_id"]: s for s in steps}
    assert by_id[f"{3:016x}"]["model"] == "gpt-4o-mini"
    assert by_id[f"{3:016x}"]["input_tokens"] == 12


def test_new_columns_are_added_to_an_older_file(tmp_path: Any) -> None:
    import duckdb

    from firstwatch.store import open_store

    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE runs (project VARCHAR, trace_id VARCHAR)").fetchall()
    con.close()
    opened = open_store(str(path))
    try:
        assert opened.list_runs(RunFilter(project="default"), 10, None) == []
    finally:
        opened.close()
