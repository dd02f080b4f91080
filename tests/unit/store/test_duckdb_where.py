"""The WHERE clauses built from a filter, run against DuckDB on known rows."""

from __future__ import annotations

import duckdb

from firstwatch.store.base import RunFilter
from firstwatch.store.duckdb_where import runs_where, where

ROWS = [
    ("p", "a", "1", "production", "ok", 100),
    ("p", "a", "2", "production", "error", 200),
    ("p", "b", "1", "staging", "ok", 300),
    ("q", "a", "1", "production", "ok", 150),
]


def _matching(clauses: list[str], params: list[object], table: str = "runs") -> list[int]:
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE runs (project VARCHAR, agent VARCHAR, version VARCHAR, "
        "environment VARCHAR, status VARCHAR, start_ns BIGINT)"
    )
    con.executemany("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?)", ROWS)
    sql = f"SELECT start_ns FROM {table} WHERE {' AND '.join(clauses)} ORDER BY start_ns"
    return [row[0] for row in con.execute(sql, params).fetchall()]


def test_a_project_alone_and_a_window_from_since_to_before_until() -> None:
    assert _matching(*where("p")) == [100, 200, 300]
    assert _matching(*where("p", since_ns=200)) == [200, 300]
    assert _matching(*where("p", since_ns=100, until_ns=300)) == [100, 200]


def test_columns_given_none_are_not_compared() -> None:
    clauses, params = where("p", [("agent", "a"), ("version", None)])
    assert clauses == ["project = ?", "agent = ?"] and params == ["p", "a"]
    assert _matching(clauses, params) == [100, 200]


def test_an_alias_qualifies_every_column() -> None:
    clauses, params = where("p", [("agent", "a")], since_ns=150, alias="r")
    assert clauses == ["r.project = ?", "r.agent = ?", "r.start_ns >= ?"]
    assert _matching(clauses, params, table="runs r") == [200]


def test_a_run_filter_compares_its_columns() -> None:
    both = RunFilter("p", agent="a", status="error")
    assert _matching(*runs_where(both)) == [200]
    assert _matching(*runs_where(RunFilter("p", agent="a"))) == [100, 200]
    assert _matching(*runs_where(RunFilter("p", environment="staging", until_ns=301))) == [300]
