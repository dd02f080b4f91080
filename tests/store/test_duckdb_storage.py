"""How the DuckDB file lays spans out (ZSTD for the long JSON columns); the memory it reports."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pyarrow as pa

from firstwatch.settings import DUCKDB_MEMORY_LIMIT, Settings
from firstwatch.store.duckdb import DuckDBStore
from firstwatch.store.schema import SPAN_COLUMN_NAMES, SPAN_SCHEMA

ATTRIBUTES = json.dumps({"input.value": "terms of payment " * 40})


def _runs(count: int) -> pa.Table:
    spans = [
        {
            **dict.fromkeys(SPAN_COLUMN_NAMES),
            "project": "default",
            "trace_id": f"{t:032x}",
            "span_id": f"{1:016x}",
            "name": "run",
            "kind": "run",
            "agent_marked": True,
            "start_ns": 10**18 + t,
            "end_ns": 10**18 + t + 5,
            "duration_ms": 0.0,
            "status": "ok",
            "agent": "extractor",
            "attributes": ATTRIBUTES,
            "resource": '{"service.name": "extractor"}',
            "received_ns": 0,
        }
        for t in range(1, count + 1)
    ]
    return pa.Table.from_pylist(spans, schema=SPAN_SCHEMA)


def test_json_columns_are_written_with_zstd(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    store = DuckDBStore(path)
    store.apply(_runs(9000), 1)
    store.close()
    con = duckdb.connect(str(path), read_only=True)
    try:
        methods = dict(
            con.execute(
                "SELECT column_name, any_value(compression) FROM pragma_storage_info('spans') "
                "WHERE segment_type = 'VARCHAR' GROUP BY ALL"
            ).fetchall()
        )
        assert methods["attributes"] == "ZSTD"
        assert methods["resource"] == "ZSTD"
        assert methods["agent"] != "ZSTD"  # filtered and grouped on: DuckDB's default
        stored = con.execute("SELECT attributes FROM spans LIMIT 1").fetchone()
        assert stored is not None and json.loads(stored[0]) == json.loads(ATTRIBUTES)
    finally:
        con.close()


def test_memory_bytes_reports_the_buffer_manager_by_kind(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "s.duckdb")
    try:
        before = sum(store.memory_bytes().values())
        store.apply(_runs(20_000), 1)
        store.count_spans()  # reads the table back through the buffer manager
        memory = store.memory_bytes()
        assert memory and all(kind == kind.lower() for kind in memory)
        assert all(isinstance(used, int) and used > 0 for used in memory.values())
        # 20,000 spans of about 700 characters each: megabytes of table blocks now in memory.
        assert sum(memory.values()) > before + 2**20
        assert "base_table" in memory or "in_memory_table" in memory
    finally:
        store.close()


def _duckdb_reads(limit: str) -> str:
    """How DuckDB itself shows a memory_limit once set (e.g. '122.0 MiB' for '128MB')."""
    con = duckdb.connect(config={"memory_limit": limit})
    try:
        row = con.execute("SELECT current_setting('memory_limit')").fetchone()
        assert row is not None
        return str(row[0])
    finally:
        con.close()


def test_memory_limit_is_the_setting_default_or_the_one_given(tmp_path: Path) -> None:
    for given, expected in ((None, Settings().duckdb_memory_limit), ("96MB", "96MB")):
        store = (
            DuckDBStore(tmp_path / "a.duckdb")
            if given is None
            else DuckDBStore(tmp_path / "b.duckdb", memory_limit=given)
        )
        try:
            row = store._reader().execute("SELECT current_setting('memory_limit')").fetchone()
            assert row is not None and row[0] == _duckdb_reads(expected)
        finally:
            store.close()
    assert Settings().duckdb_memory_limit == DUCKDB_MEMORY_LIMIT
