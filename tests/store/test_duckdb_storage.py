"""How the DuckDB file lays spans out (ZSTD for the long JSON columns); the memory it reports."""

from __future__ import annotations

import json
import random
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from arrowtables import SPAN_SCHEMA, Shrinking
from firstwatch.settings import DUCKDB_MEMORY_LIMIT, Settings
from firstwatch.store.base import ApiKey
from firstwatch.store.duckdb import DuckDBStore
from firstwatch.store.schema import SPAN_COLUMN_NAMES

ATTRIBUTES = json.dumps({"input.value": "terms of payment " * 40})


def _runs(count: int, varied: bool = False, first: int = 1) -> pa.Table:
    """`count` one-span runs, of traces `first`...; `varied` gives each its own attributes, which
    hardly compress."""
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
            "attributes": json.dumps({"input.value": random.randbytes(350).hex()})
            if varied
            else ATTRIBUTES,
            "resource": '{"service.name": "extractor"}',
            "received_ns": 0,
        }
        for t in range(first, first + count)
    ]
    return pa.Table.from_pylist(spans, schema=SPAN_SCHEMA)


def test_first_copies_are_picked_by_position_across_many_chunks(tmp_path: Path) -> None:
    # 25 chunks of up to 700 one-span runs (more than two of the store's row groups), the last
    # a second copy of the first, and a copy of a stored run in the middle: the store numbers
    # the batch's rows as they come, in both of its reads, and inserts the first copies only.
    store = DuckDBStore(tmp_path / "s.duckdb")
    try:
        store.apply(_runs(1, first=20_000), 1)
        chunks = [_runs(700, first=1 + 700 * n) for n in range(23)]
        again = _runs(700, first=1)
        chunks[11] = pa.concat_tables([chunks[11].slice(0, 350), _runs(1, first=20_000)])
        chunks.append(
            again.set_column(
                again.schema.get_field_index("attributes"), "attributes", pa.array(["again"] * 700)
            )
        )
        batch = pa.concat_tables(chunks)
        assert batch.column("span_id").num_chunks == 25
        assert store.apply(batch, 2) == 23 * 700 - 350
        assert store._fetch("SELECT count(*) FROM spans WHERE attributes = 'again'") == [(0,)]
        assert store._fetch("SELECT count(*), count(DISTINCT trace_id) FROM spans") == [
            (23 * 700 - 350 + 1, 23 * 700 - 350 + 1)
        ]
    finally:
        store.close()


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
            rows = store._fetch("SELECT current_setting('memory_limit')")
            assert rows[0][0] == _duckdb_reads(expected)
        finally:
            store.close()
    assert Settings().duckdb_memory_limit == DUCKDB_MEMORY_LIMIT


def _wal_bytes(path: Path) -> int:
    wal = path.with_name(path.name + ".wal")
    return wal.stat().st_size if wal.exists() else 0


def test_settle_checkpoints_duckdbs_log_once_it_has_grown(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    store = DuckDBStore(path, checkpoint_bytes=2**30)
    try:
        store.apply(_runs(9000), 1)  # one whole row group goes to the file, the rest to the log
        logged = _wal_bytes(path)
        assert logged > 0  # the commit left it to `settle`
        store.settle()
        assert _wal_bytes(path) == logged  # below checkpoint_bytes: kept
        store.checkpoint_bytes = logged
        store.settle()
        assert _wal_bytes(path) == 0
    finally:
        store.close()
    reopened = DuckDBStore(path)
    try:
        assert reopened.count_spans() == 9000
        assert reopened.applied_lsn() == 1
    finally:
        reopened.close()


def test_settle_hands_back_the_cache_and_keeps_the_limit(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "s.duckdb", memory_limit="96MB", checkpoint_bytes=0)
    try:
        store.apply(_runs(30_000, varied=True), 1)
        store.settle()  # checkpointed: every block is in the file
        # Reading every span's attributes caches the blocks they are in.
        assert store._fetch("SELECT sum(length(attributes)) FROM spans")[0][0] > 10**7
        cached = sum(store.memory_bytes().values())
        assert cached > 10 * 2**20
        store.checkpoint_bytes = 2**30  # no checkpoint: the cache is cut back to its floor
        store.settle()
        # The 8MB floor, and the few KB the query that reads the figures takes.
        assert sum(store.memory_bytes().values()) <= 9 * 2**20
        limit = store._fetch("SELECT current_setting('memory_limit')")[0][0]
        assert limit == _duckdb_reads("96MB")
    finally:
        store.close()


def test_settle_keeps_rows_not_yet_checkpointed_in_memory(tmp_path: Path) -> None:
    """Evicting them would write them to DuckDB's temporary files, to read back at the
    checkpoint."""
    store = DuckDBStore(tmp_path / "s.duckdb", checkpoint_bytes=0)
    try:
        store.apply(_runs(20_000, varied=True), 1)
        store.settle()  # checkpointed
        store.checkpoint_bytes = 2**30
        later = _runs(28_000, varied=True).slice(20_000)  # not a whole row group: kept in memory
        store.apply(later, 2)
        for _ in range(3):
            assert store._fetch("SELECT sum(length(attributes)) FROM spans")[0][0] > 10**7
            store.settle()
            assert store._fetch("SELECT count(*) FROM duckdb_temporary_files()")[0][0] == 0
        unsaved = store.memory_bytes().get("in_memory_table", 0)
        assert unsaved > 2**20
        assert sum(store.memory_bytes().values()) <= unsaved + 9 * 2**20
    finally:
        store.close()


def test_queries_never_fail_for_the_cache_being_handed_back(tmp_path: Path) -> None:
    """Evicting means lowering DuckDB's memory_limit for a moment: a query that needed memory
    then would run out of it, unless upkeep waits for the queries and they for it."""
    store = DuckDBStore(tmp_path / "s.duckdb", checkpoint_bytes=0)
    store.apply(_runs(20_000, varied=True), 1)
    errors: list[BaseException] = []
    stop = threading.Event()

    def query() -> None:
        try:
            while not stop.is_set():
                # Sorting 14 MB of text needs more than the 8MB the cache is cut back to.
                rows = store._fetch("SELECT attributes FROM spans ORDER BY start_ns DESC LIMIT 1")
                assert rows
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=query) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        for _ in range(1000):
            store.settle()
            if errors:
                break
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)
        store.close()
    assert not errors, errors[0]


def test_a_write_leaves_no_tables_or_views_of_its_own_behind(tmp_path: Path) -> None:
    # Its working tables hold a batch's spans, runs and steps: kept, they would hold memory.
    def leftovers(store: DuckDBStore) -> list[tuple[str]]:
        # Temporary tables and views belong to a connection: the writer's.
        return store._con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE temporary UNION ALL "
            "SELECT view_name FROM duckdb_views() WHERE temporary AND NOT internal"
        ).fetchall()

    store = DuckDBStore(tmp_path / "s.duckdb")
    try:
        store.apply(_runs(10), 1)
        store.apply(_runs(20), 2)  # ten traces continued, ten new
        assert store.count_spans("default") == 20 and leftovers(store) == []
        # A write that fails after its working tables are made: the batch reads short.
        with pytest.raises(Exception, match="read again"):
            store.apply(Shrinking(_runs(30)), 3)
        assert leftovers(store) == [] and store.applied_lsn() == 2
    finally:
        store.close()


def _buffer_records(store: DuckDBStore) -> int:
    """DuckDB's records of the buffers statements let go, not yet passed by an eviction."""
    return int(
        store._con.execute(
            "SELECT coalesce(sum(dead_nodes), 0) FROM duckdb_eviction_queues()"
        ).fetchall()[0][0]
    )


def test_settle_drops_duckdbs_records_of_buffers_let_go(tmp_path: Path) -> None:
    # DuckDB keeps a record of every buffer a statement let go until an eviction passes it: kept,
    # they piled up with every write, outside memory_limit, for as long as the server ran.
    store = DuckDBStore(tmp_path / "s.duckdb", checkpoint_transactions=20)
    try:
        piled = []
        for lsn in range(1, 41):
            store.apply(_runs(50, first=lsn * 100), lsn)
            piled.append(_buffer_records(store))
            store.settle(hand_back_cache=False)  # as the writer does after a small write
        assert store._con.execute("SELECT count(*) FROM spans").fetchall()[0][0] == 40 * 50
        # They pile up between checkpoints, and every 20 writes the checkpoint drops them.
        assert piled[18] > 10 * piled[0] > 0
        assert piled[20] < 2 * piled[0] and piled[39] > 10 * piled[20]
        assert _buffer_records(store) < piled[0]
    finally:
        store.close()


def test_settle_drops_the_records_queries_left_every_time(tmp_path: Path) -> None:
    # DuckDB evicts queue by queue and stops once memory is under the limit. With nothing else in
    # use, evicting the file's blocks stopped it before the queues holding the records queries
    # left, in about one case in three (which depends on how DuckDB's per-core memory counters
    # stand): repeated, every case must drop them.
    for case in range(12):
        store = DuckDBStore(tmp_path / f"s{case}.duckdb", checkpoint_transactions=1)
        try:
            store.apply(_runs(200, varied=True), 1)
            store.settle(hand_back_cache=False)
            for _ in range(20):
                store.agents("default", None, None)
                store._fetch("SELECT agent, quantile_cont(duration_ms, 0.9) FROM runs GROUP BY 1")
            left = _buffer_records(store)
            assert left > 50
            store.checkpoint_every_s = 0  # a checkpoint by time, as on an idle server
            store.settle(hand_back_cache=False)
            assert _buffer_records(store) < 10, (case, left)
        finally:
            store.close()


def test_settle_attaches_the_file_again_after_many_spans(tmp_path: Path) -> None:
    # DuckDB keeps the metadata of every row group written or read until the file is detached:
    # attached for good, a long-lived server held it all, outside memory_limit.
    def attached() -> int:
        rows = store._fetch(
            "SELECT database_oid FROM duckdb_databases() WHERE database_name = 'store'"
        )
        return int(rows[0][0])

    store = DuckDBStore(tmp_path / "s.duckdb", checkpoint_bytes=0, reattach_spans=150)
    try:
        first = attached()  # this thread's cursor exists from here on
        store.apply(_runs(100), 1)
        store.settle(hand_back_cache=False)  # checkpointed, 100 spans written: kept
        assert attached() == first
        store.apply(_runs(100, first=1000), 2)
        store.settle(hand_back_cache=False)  # 200 written: attached again
        again = attached()
        assert again != first
        # Queries through the cursor made before, and writes, go on as before.
        assert store.count_spans("default") == 200 and store.applied_lsn() == 2
        store.apply(_runs(100, first=2000), 3)
        assert store.count_spans("default") == 300
        store.settle(hand_back_cache=False)  # 100 since: kept
        assert attached() == again
    finally:
        store.close()
    reopened = DuckDBStore(tmp_path / "s.duckdb")
    try:
        assert reopened.count_spans("default") == 300 and reopened.applied_lsn() == 3
    finally:
        reopened.close()


def test_attaching_again_waits_for_a_transaction_still_open_on_the_file(tmp_path: Path) -> None:
    # No query runs while the file is attached again; should a connection still hold a
    # transaction on it, the store attaches the file once that ends instead of losing it.
    store = DuckDBStore(tmp_path / "s.duckdb")
    try:
        store.apply(_runs(10), 1)
        other = store._con.cursor()
        other.execute("USE store")
        other.execute("BEGIN TRANSACTION")
        assert other.execute("SELECT count(*) FROM spans").fetchall() == [(10,)]
        closing = threading.Timer(0.3, other.execute, ["COMMIT"])
        closing.start()
        store._attach_again()
        closing.join()
        assert store.count_spans("default") == 10 and store.applied_lsn() == 1
        store.apply(_runs(10, first=100), 2)
        assert store.count_spans("default") == 20
    finally:
        store.close()


def test_work_larger_than_the_memory_limit_spills_beside_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    store = DuckDBStore(tmp_path / "data" / "store.duckdb", memory_limit="64MB")
    try:
        # Four million groups do not fit in 64MB: DuckDB writes part of them to its temp directory.
        groups = store._fetch(
            "SELECT count(*) FROM (SELECT md5(i::VARCHAR) AS x, count(*) FROM range(4000000) t(i) "
            "GROUP BY x)"
        )
        assert groups == [(4_000_000,)]
        assert (tmp_path / "data" / "store.duckdb.tmp").is_dir()
        assert not (cwd / ".tmp").exists()
    finally:
        store.close()


def test_a_file_of_another_format_is_refused_as_it_is(tmp_path: Path) -> None:
    wrong = tmp_path / "agents.db"
    con = sqlite3.connect(wrong)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()
    before = wrong.read_bytes()
    with pytest.raises(RuntimeError, match="is not a DuckDB database file") as raised:
        DuckDBStore(wrong)
    assert "owning process" not in str(raised.value)
    assert wrong.read_bytes() == before


def test_a_store_another_process_holds_is_refused_naming_the_owner(tmp_path: Path) -> None:
    path = tmp_path / "store.duckdb"
    script = (
        "import sys; from pathlib import Path; from firstwatch.store.duckdb import DuckDBStore;"
        f" store = DuckDBStore(Path({str(path)!r})); print('open', flush=True); sys.stdin.read()"
    )
    with subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as holder:
        assert holder.stdin is not None and holder.stdout is not None
        try:
            assert holder.stdout.readline().strip() == "open"
            with pytest.raises(RuntimeError, match="one owning process"):
                DuckDBStore(path)
        finally:
            holder.stdin.close()
            holder.wait(60)


def test_the_store_never_fetches_extensions(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "store.duckdb")
    try:
        assert store._fetch(
            "SELECT current_setting('autoinstall_known_extensions'), "
            "current_setting('autoload_known_extensions')"
        ) == [(False, False)]
    finally:
        store.close()


def test_a_key_once_found_is_answered_without_the_database(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "store.duckdb")
    key = ApiKey("k1", "acme", "ingest", "fw_abcdefgh", 1)
    store.add_key(key, "hash1")
    assert store.key_by_hash("hash1") == key
    store.close()
    # Nothing reads the file now: the key seen before is still known, no other one is guessed.
    assert store.key_by_hash("hash1") == key
    with pytest.raises(duckdb.Error):
        store.key_by_hash("hash2")
