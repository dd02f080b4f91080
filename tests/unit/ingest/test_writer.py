"""The writer: a store short of memory gets smaller transactions, and everything is applied."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pyarrow as pa

from firstwatch.ingest.wal import WriteAheadLog
from firstwatch.ingest.writer import Writer
from firstwatch.store.duckdb import DuckDBStore
from firstwatch.store.schema import SPAN_COLUMN_NAMES, SPAN_SCHEMA

RECORDS = 64
SPANS = 512


def _record(number: int) -> bytes:
    """One logged batch: 512 one-span traces with about 4 KB of attributes each."""
    text = json.dumps({"input.value": " ".join(f"word{i}-{number}" for i in range(400))})
    rows = [
        {
            **dict.fromkeys(SPAN_COLUMN_NAMES),
            "project": "default",
            "trace_id": f"{number:016x}{i:016x}",
            "span_id": f"{i + 1:016x}",
            "name": "run",
            "kind": "run",
            "agent_marked": True,
            "start_ns": 10**18 + number * SPANS + i,
            "end_ns": 10**18 + number * SPANS + i + 1000,
            "duration_ms": 0.001,
            "status": "ok",
            "agent": "extractor",
            "attributes": text,
            "received_ns": number,
        }
        for i in range(SPANS)
    ]
    table = pa.Table.from_pylist(rows, schema=SPAN_SCHEMA)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, SPAN_SCHEMA) as stream:
        stream.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def test_a_batch_too_large_for_the_store_is_applied_in_smaller_ones(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path / "wal")
    for number in range(RECORDS):
        wal.append(_record(number))
    # A store this small cannot take the whole log (about 130 MB) in one transaction.
    store = DuckDBStore(tmp_path / "s.duckdb", memory_limit="32MB")
    writer = Writer(store, wal, batch_spans=10**9, batch_bytes=2**30)
    writer.start()
    try:
        deadline = time.monotonic() + 120
        while writer.lag_lsn() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert writer.lag_lsn() == 0, writer.last_error
        assert writer.spans_applied == RECORDS * SPANS
        assert store.count_spans("default") == RECORDS * SPANS
    finally:
        writer.stop()
        wal.close()
        store.close()


def test_after_each_write_the_store_checkpoints_and_hands_back_its_cache(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path / "wal")
    for number in range(4):
        wal.append(_record(number))
    path = tmp_path / "s.duckdb"
    store = DuckDBStore(path, checkpoint_bytes=0)
    duckdb_log = path.with_name(path.name + ".wal")

    def logged() -> int:
        return duckdb_log.stat().st_size if duckdb_log.exists() else 0

    writer = Writer(store, wal, batch_spans=SPANS)  # one transaction a record
    writer.start()
    try:
        deadline = time.monotonic() + 60
        while (writer.lag_lsn() or logged()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert writer.lag_lsn() == 0, writer.last_error
        assert logged() == 0  # every write checkpointed by `settle`
        assert store.count_spans("default") == 4 * SPANS
        assert sum(store.memory_bytes().values()) <= 8 * 2**20
    finally:
        writer.stop()
        wal.close()
        store.close()
