"""The writer: a store short of memory gets smaller transactions, and everything is applied."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import pyarrow as pa

from firstwatch.ingest.pipeline import decode_batch, decode_batches
from firstwatch.ingest.wal import WriteAheadLog
from firstwatch.ingest.writer import Writer
from firstwatch.store.duckdb import DuckDBStore
from firstwatch.store.schema import INSERT_ONLY_COLUMNS, SPAN_SCHEMA
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


def test_records_decoded_together_read_as_each_alone() -> None:
    # Each record brings its own dictionary of resources, which replaces the one before.
    records = [run_record(number) for number in range(3)]
    alone = pa.concat_tables([decode_batch(record) for record in records])
    together = decode_batches(records)
    assert together.schema == SPAN_SCHEMA and together.equals(alone)
    assert together["resource"].to_pylist() == [
        json.dumps({"service.name": f"svc-{number}"}) for number in range(3) for _ in range(SPANS)
    ]
    # A record of an earlier version among them is cast, in its place.
    earlier = SPAN_SCHEMA.set(
        SPAN_SCHEMA.get_field_index("resource"), pa.field("resource", pa.string())
    )
    mixed = [records[0], run_record(7, schema=earlier), records[2]]
    assert decode_batches(mixed).equals(
        pa.concat_tables([decode_batch(record) for record in mixed])
    )
    assert decode_batches(mixed)["resource"][SPANS].as_py() == json.dumps({"service.name": "svc-7"})
    assert decode_batches([]).num_rows == 0


def test_records_logged_by_an_earlier_version_are_applied_with_todays(tmp_path: Path) -> None:
    # Before, `resource` was logged as plain text; today it is dictionary-encoded.
    earlier = pa.schema(
        [
            field.with_type(pa.string()) if field.name == "resource" else field
            for field in SPAN_SCHEMA
        ]
    )
    assert earlier != SPAN_SCHEMA
    wal = WriteAheadLog(tmp_path / "wal")
    wal.append(run_record(0, schema=earlier))
    wal.append(run_record(1))
    store = DuckDBStore(tmp_path / "s.duckdb")
    try:
        # Both in one transaction, which a batch of two schemas could not be.
        assert Writer(store, wal).apply_pending() == 2
        assert store._fetch("SELECT DISTINCT resource FROM spans ORDER BY 1") == [
            ('{"service.name": "svc-0"}',),
            ('{"service.name": "svc-1"}',),
        ]
    finally:
        wal.close()
        store.close()


class _Watched(DuckDBStore):
    """A store that notes the columns of each batch the writer hands it."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.handed: list[tuple[str, ...]] = []

    def apply(
        self, spans: pa.Table, lsn: int, rows: Callable[[], Iterable[pa.Table]] | None = None
    ) -> int:
        self.handed.append(tuple(spans.column_names))
        return super().apply(spans, lsn, rows)


def test_the_writer_holds_its_batch_without_the_columns_only_the_insert_reads(
    tmp_path: Path,
) -> None:
    wal = WriteAheadLog(tmp_path / "wal")
    for number in range(3):
        wal.append(run_record(number, varied=True))
    wal.append(run_record(0, varied=True))  # a copy of spans already logged: skipped
    store = _Watched(tmp_path / "s.duckdb")
    try:
        writer = Writer(store, wal, batch_spans=2 * SPANS)
        assert writer.apply_pending() == 2 and writer.apply_pending() == 2
        assert writer.spans_applied == 3 * SPANS
        assert store.handed and not any(
            set(INSERT_ONLY_COLUMNS) & set(columns) for columns in store.handed
        )
        # Every span's full row is stored, from the first copy logged.
        for number in range(3):
            logged = pa.ipc.open_stream(_nth(wal, number)).read_all()
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
