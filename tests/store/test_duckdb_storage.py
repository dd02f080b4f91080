"""How the DuckDB file lays spans out: ZSTD for the long JSON columns."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pyarrow as pa

from firstwatch.store.duckdb import DuckDBStore
from firstwatch.store.schema import SPAN_COLUMN_NAMES, SPAN_SCHEMA


def test_json_columns_are_written_with_zstd(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    store = DuckDBStore(path)
    attributes = json.dumps({"input.value": "terms of payment " * 40})
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
            "attributes": attributes,
            "resource": '{"service.name": "extractor"}',
            "received_ns": 0,
        }
        for t in range(1, 9001)
    ]
    store.apply(pa.Table.from_pylist(spans, schema=SPAN_SCHEMA), 1)
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
        assert stored is not None and json.loads(stored[0]) == json.loads(attributes)
    finally:
        con.close()
