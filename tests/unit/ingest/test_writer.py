"""The writer: a store short of memory gets smaller transactions, and everything is applied."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pyarrow as pa

from arrowtables import SPAN_SCHEMA
from firstwatch.ingest.logformat import (
    CURRENT_SCHEMA,
    LoggedRecords,
    encode_batch,
    record_rows,
    schema_message,
)
from firstwatch.ingest.wal import WriteAheadLog
from firstwatch.ingest.writer import Writer
from firstwatch.store.duckdb import DuckDBStore
from firstwatch.store.schema import SPAN_COLUMN_NAMES
from logrecords import run_record

RECORDS = 64
SPANS = 512


def _apply_all(writer: Writer, timeout_s: float = 60) -> None:
    """Run `writer` until the log is applied; stopping it waits for the store's upkeep."""
    writer.start()
    try:
        deadline = time.monotonic() + timeout_s
        while writer.lag_lsn() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert writer.lag_lsn() == 0, writer.last_error
    finally:
        writer.stop()


def test_a_batch_too_large_for_the_store_is_applied_in_smaller_ones(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path / "wal")
    for number in range(RECORDS):
        wal.append(run_record(number))
    # A store this small cannot take the whole log (about 130 MB) in one transaction.
    store = DuckDBStore(tmp_path / "s.duckdb", memory_limit="32MB")
    writer = Writer(store, wal, batch_spans=10**9, batch_bytes=2**30)
    try:
        _apply_all(writer, timeout_s=120)
        assert writer.spans_applied == RECORDS * SPANS
        assert store.count_spans("default") == RECORDS * SPANS
    finally:
        wal.close()
        store.close()


def _read(payload: bytes) -> pa.Table:
    with pa.ipc.open_stream(payload) as reader:
        return reader.read_all()


def test_logged_records_read_as_one_stream_as_each_alone() -> None:
    records = [run_record(number, spans=100 + number) for number in range(3)]
    alone = pa.concat_tables([_read(record) for record in records])
    source = LoggedRecords(lambda: records)
    for _ in range(2):  # each read reads the records again
        together = pa.RecordBatchReader.from_stream(source).read_all()
        assert together.schema == SPAN_SCHEMA and together.equals(alone)
    assert together["resource"].to_pylist() == [
        json.dumps({"service.name": f"svc-{number}"})
        for number in range(3)
        for _ in range(100 + number)
    ]
    assert [record_rows(record) for record in records] == [100, 101, 102]
    earlier = run_record(7, spans=33, earlier=True)
    assert schema_message(earlier) != CURRENT_SCHEMA == schema_message(records[0])
    empty = encode_batch({name: [] for name in SPAN_COLUMN_NAMES}, 0)
    assert record_rows(earlier) == 33 and record_rows(empty) == 0
    assert (
        pa.RecordBatchReader.from_stream(LoggedRecords(lambda: [earlier]))
        .read_all()
        .equals(_read(earlier))
    )


def test_records_logged_by_an_earlier_version_are_applied_with_todays(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path / "wal")
    wal.append(run_record(0, earlier=True))
    wal.append(run_record(1))
    wal.append(run_record(2))
    store = DuckDBStore(tmp_path / "s.duckdb")
    try:
        # The earlier record alone (a stream has one schema), then today's together.
        writer = Writer(store, wal)
        assert writer.apply_pending() == 1 and writer.apply_pending() == 2
        assert store._fetch("SELECT DISTINCT resource FROM spans ORDER BY 1") == [
            ('{"service.name": "svc-0"}',),
            ('{"service.name": "svc-1"}',),
            ('{"service.name": "svc-2"}',),
        ]
    finally:
        wal.close()
        store.close()


def test_the_writer_applies_up_to_its_span_bound_and_stores_first_copies(
    tmp_path: Path,
) -> None:
    wal = WriteAheadLog(tmp_path / "wal")
    for number in range(3):
        wal.append(run_record(number, varied=True))
    wal.append(run_record(0, varied=True))  # a copy of spans already logged: skipped
    store = DuckDBStore(tmp_path / "s.duckdb")
    try:
        writer = Writer(store, wal, batch_spans=2 * SPANS)
        assert writer.apply_pending() == 2 and writer.apply_pending() == 2
        assert writer.spans_applied == 3 * SPANS
        # Every span's full row is stored, from the first copy logged.
        for number in range(3):
            logged = _read(_nth(wal, number))
            stored = store._fetch(
                "SELECT span_id, attributes, resource FROM spans WHERE received_ns = ? "
                "ORDER BY span_id",
                [number],
            )
            assert stored == sorted(
                zip(
                    logged["span_id"].to_pylist(),
                    logged["attributes"].to_pylist(),
                    logged["resource"].to_pylist(),
                    strict=True,
                )
            )
    finally:
        wal.close()
        store.close()


def _nth(wal: WriteAheadLog, number: int) -> bytes:
    return next(payload for lsn, payload in wal.read_from(0) if lsn == number + 1)


def _cached(store: DuckDBStore) -> int:
    """Read every span's attributes (which caches their blocks); DuckDB's memory after it."""
    assert store._fetch("SELECT sum(length(attributes)) FROM spans")[0][0] > 0
    return sum(store.memory_bytes().values())


def _logged(tmp_path: Path, records: int) -> tuple[WriteAheadLog, DuckDBStore]:
    """A log of `records` varied records and an empty store that checkpoints after every write."""
    wal = WriteAheadLog(tmp_path / "wal")
    for number in range(records):
        wal.append(run_record(number, varied=True))
    return wal, DuckDBStore(tmp_path / "s.duckdb", checkpoint_bytes=0)


def test_after_a_large_write_the_store_hands_back_its_cache(tmp_path: Path) -> None:
    wal, store = _logged(tmp_path, 8)
    try:
        # One transaction a record (2 MB of log), more than a quarter of `batch_bytes`: large.
        _apply_all(Writer(store, wal, batch_spans=SPANS, batch_bytes=4 * 2**20))
        assert store.count_spans("default") == 8 * SPANS
        assert _cached(store) > 8 * 2**20
        wal.append(run_record(8, varied=True))
        _apply_all(Writer(store, wal, batch_spans=SPANS, batch_bytes=4 * 2**20))
        # Checkpointed, so nothing is unsaved and nothing is kept: the cache is all handed back.
        assert sum(store.memory_bytes().values()) <= 2**20
    finally:
        wal.close()
        store.close()


def test_after_a_small_write_the_cache_stays_warm_for_queries(tmp_path: Path) -> None:
    wal, store = _logged(tmp_path, 16)
    try:
        _apply_all(Writer(store, wal, batch_spans=8 * SPANS))
        cached = _cached(store)
        assert cached > 12 * 2**20
        wal.append(run_record(16, varied=True))
        store.checkpoint_bytes = 2**30  # (after a checkpoint the cache is handed back anyway)
        # 2 MB of log in one transaction, less than a quarter of the default 27 MiB: small.
        _apply_all(Writer(store, wal, batch_spans=SPANS))
        assert store.count_spans("default") == 17 * SPANS
        assert sum(store.memory_bytes().values()) >= cached
    finally:
        wal.close()
        store.close()


def test_an_idle_writer_has_the_store_hand_back_what_queries_left(tmp_path: Path) -> None:
    # Queries leave DuckDB's records of the buffers they let go; only an eviction drops them,
    # and a server nobody writes to would otherwise keep them for as long as it runs.
    def records(store: DuckDBStore) -> int:
        return int(
            store._fetch("SELECT coalesce(sum(dead_nodes), 0) FROM duckdb_eviction_queues()")[0][0]
        )

    wal = WriteAheadLog(tmp_path / "wal")
    wal.append(run_record(0, varied=True))
    store = DuckDBStore(tmp_path / "s.duckdb", checkpoint_every_s=0.5)
    writer = Writer(store, wal, idle_settle_s=0.2)
    try:
        writer.apply_pending()
        for _ in range(20):
            store.agents("default", None, None)
            store._fetch("SELECT agent, quantile_cont(duration_ms, 0.99) FROM runs GROUP BY ALL")
        left = records(store)
        assert left > 100
        writer.start()
        deadline = time.monotonic() + 30
        while records(store) >= left and time.monotonic() < deadline:
            time.sleep(0.1)
        assert records(store) < left, writer.last_error
    finally:
        writer.stop()
        wal.close()
        store.close()
