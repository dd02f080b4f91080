"""The embedded store: one DuckDB file, written by one thread (design.md §1, §6).

Applying a batch looks up only the traces it continues, so its cost does not grow with the store:
`trace_index` holds, per stored trace, a numeric `trace_key` and the ranges of `received_ns` and
`start_ns` its rows lie in. The rows of a continued trace are found by its key within those ranges,
which DuckDB checks against each row group's min and max (rows are stored in arrival order), then
fetched by rowid. The span, run and step tables carry `trace_key` as a last column for that lookup.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import duckdb

from firstwatch.settings import DUCKDB_MEMORY_LIMIT
from firstwatch.store.base import ApiKey, ArrowStreamSource, Row, RunFilter
from firstwatch.store.duckdb_drift import DriftQueries
from firstwatch.store.duckdb_errors import ErrorQueries
from firstwatch.store.duckdb_latency import LatencyQueries
from firstwatch.store.duckdb_materialize import TEMPORARY as MATERIALIZE_TEMPORARY
from firstwatch.store.duckdb_materialize import materialize
from firstwatch.store.duckdb_where import runs_where, where
from firstwatch.store.query_gate import QueryGate
from firstwatch.store.schema import (
    MATERIALIZE_COLUMNS,
    NARROW_SPAN_COLUMN_NAMES,
    RUN_COLUMNS,
    RUN_ONLY_COLUMNS,
    SPAN_COLUMN_NAMES,
    SPAN_COLUMNS,
    STEP_COLUMNS,
    TRACE_INDEX_COLUMNS,
)

CHECKPOINT_BYTES = 16 * 2**20
"""DuckDB's own log size at which the writer has DuckDB move it into the file (DuckDB's default).
The writer does so between transactions (`DuckDBStore.settle`), holding no batch: done by the
commit that crossed the size, it took that transaction 230 ms longer and 25 MB more memory."""

CHECKPOINT_TRANSACTIONS = 256
"""Transactions after which `settle` checkpoints even if DuckDB's log is still small, so that what
is handed back after a checkpoint (`DuckDBStore.settle`) is handed back under a light load too."""

CHECKPOINT_EVERY_S = 600.0
"""Seconds after which `settle` checkpoints whatever came since: queries leave DuckDB's records of
freed buffers too (about 2 KB a query), and a server only read from checkpoints no other way."""

REATTACH_SPANS = 500_000
"""Spans written after which `settle`, after a checkpoint, detaches the file and attaches it again.
DuckDB keeps the metadata of every row group written or read (about 1 KB a column segment) until
the file is detached: 22 MB more for every million spans the writer wrote, 16 MB for a million a
query read, outside `memory_limit`. Attaching again takes about 12 ms; what a query needs of the
metadata is read again as it goes."""

# How long attaching the file again is retried (`DuckDBStore._attach_again`).
_REATTACH_WAIT_S = 30.0

# DuckDB still checkpoints at commit beyond this, should nothing call `settle` for a while.
_AUTO_CHECKPOINT = "64MB"
# What DuckDB's cache of the file is cut back to after a large write (`DuckDBStore.settle`), beyond
# the rows written since the last checkpoint (evicting those would write them to temporary files).
_CACHE_FLOOR_BYTES = 8 * 2**20
# A query whose result `settle` leaves unread while it lowers the limit: its list (3 MB) stays in
# memory until the cursor is closed, more than DuckDB's per-core memory counters may be off by.
_HELD_QUERY = "SELECT list(range) AS held FROM range(100000)"

# Rows per row group. DuckDB writes an appended row group straight to the file once it is full; what
# is left of a transaction goes through DuckDB's own log and is rewritten, with the table's last row
# group, at each checkpoint. With the default (122,880 rows), larger than a writer batch, everything
# took that path: ingest ran three to four times slower and held hundreds of megabytes at commit.
# Small groups also give the range lookups finer min/max statistics.
ROW_GROUP_SIZE = 8_192
# A trace's key: the last 15 hex digits of its id as a number (0 for an id that is not hex). Equal
# keys are always confirmed on (project, trace_id).
_TRACE_KEY = "coalesce(TRY_CAST('0x' || substr(trace_id, 18, 15) AS BIGINT), 0)"
# Tables that carry a trace key.
_KEYED = {"spans": SPAN_COLUMNS, "runs": RUN_COLUMNS, "steps": STEP_COLUMNS}
# At most this many separate ranges in one lookup; the closest are merged beyond it.
_MAX_RANGES = 8
_CATALOG = "store"
_META_SQL = "CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value BIGINT)"
# Arrow sources a batch registers with DuckDB while it is applied.
_VIEWS = ("batch", "placed")
# Temporary tables a batch makes while it is applied (dropped before it commits): what the
# statements share stays in DuckDB. A statement that scans an Arrow source needs the GIL to start,
# and waits for it while the request threads are busy mapping spans (`bench/writer.py`).
_TEMPORARY = (
    "incoming",
    "touched",
    "known",
    "stored",
    "fresh",
    "continued",
    *MATERIALIZE_TEMPORARY,
)
_RUN_NAMES = [name for name, _ in RUN_COLUMNS]
_STEP_NAMES = [name for name, _ in STEP_COLUMNS]


# Long JSON text, read only for one trace at a time: ZSTD stores it in three quarters of the space
# DuckDB's default string compression takes, and writes it faster (7 against 9 µs a span).
_ZSTD_COLUMNS = frozenset(("attributes", "resource", "events"))


def _column_sql(column: str, typ: str) -> str:
    zstd = " USING COMPRESSION zstd" if column in _ZSTD_COLUMNS else ""
    return f"{column} {typ}{zstd}"


def _table_sql(name: str, columns: Sequence[tuple[str, str]], keyed: bool = False) -> str:
    cols = ", ".join(_column_sql(col, typ) for col, typ in columns)
    return f"CREATE TABLE IF NOT EXISTS {name} ({cols}{', trace_key BIGINT' if keyed else ''})"


_RUN_LIST_COLUMNS = (
    "trace_id, span_id, name, agent, version, environment, status, error_class, complete, "
    "start_ns, end_ns, duration_ms, step_count, error_step_count, retry_count, retry_wait_ms, "
    "input_preview, output_preview, error_fingerprint, failed_checks, silent_failure, "
    "first_attempt_ms"
)


def _is_duckdb_file(path: Path) -> bool:
    """Whether `path` starts as every DuckDB database file does ("DUCK" at byte 8)."""
    with path.open("rb") as file:
        return file.read(12)[8:12] == b"DUCK"


def _run(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | None = None) -> None:
    """Execute a statement and consume its result (DuckDB wants results finished)."""
    con.execute(sql, list(params) if params is not None else None).fetchall()


def _one(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[Any, ...]:
    """The one row a statement gives."""
    rows = con.execute(sql).fetchall()
    return tuple(rows[0])


def _insert_keyed(table: str, source: str) -> str:
    """Insert the rows of `source` into `table` by column name, with their trace key."""
    return f"INSERT INTO {table} BY NAME SELECT *, {_TRACE_KEY} AS trace_key FROM {source}"


def _trace_ranges_sql(source: str) -> str:
    """Rows of `trace_index` for the spans in `source`."""
    return (
        f"SELECT project, trace_id, {_TRACE_KEY} AS trace_key, "
        "min(received_ns) AS first_received_ns, max(received_ns) AS last_received_ns, "
        "min(start_ns) AS first_start_ns, max(start_ns) AS last_start_ns "
        f"FROM {source} GROUP BY project, trace_id"
    )


def _ranges(pairs: Sequence[tuple[int, int]], limit: int = _MAX_RANGES) -> list[tuple[int, int]]:
    """Merge (low, high) ranges that overlap, then the closest ones until `limit` are left."""
    merged: list[tuple[int, int]] = []
    for low, high in sorted(pairs):
        if merged and low <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    while len(merged) > limit:
        gap = min(range(len(merged) - 1), key=lambda i: merged[i + 1][0] - merged[i][1])
        merged[gap : gap + 2] = [(merged[gap][0], merged[gap + 1][1])]
    return merged


def _rows_of(table: str, view: str, ranges: Sequence[tuple[int, int]]) -> str:
    """A filter on `table` for the rows of the traces in `view` (rows of `trace_index`), whose
    (first, last) arrival (spans) or start (runs and steps) times are `ranges`: found by key
    within those ranges, taken by rowid, and confirmed on (project, trace_id)."""
    if not ranges:
        return "FALSE"
    column = "received_ns" if table == "spans" else "start_ns"
    within = " OR ".join(
        f"{column} BETWEEN {int(low)} AND {int(high)}" for low, high in _ranges(list(ranges))
    )
    return (
        f"rowid IN (SELECT rowid FROM {table} WHERE ({within}) "
        f"AND trace_key IN (SELECT trace_key FROM {view})) "
        f"AND (project, trace_id) IN (SELECT project, trace_id FROM {view})"
    )


class DuckDBStore(DriftQueries, ErrorQueries, LatencyQueries):
    """A `Store` on a DuckDB file."""

    def __init__(
        self,
        path: Path,
        *,
        memory_limit: str = DUCKDB_MEMORY_LIMIT,
        checkpoint_bytes: int = CHECKPOINT_BYTES,
        checkpoint_transactions: int = CHECKPOINT_TRANSACTIONS,
        checkpoint_every_s: float = CHECKPOINT_EVERY_S,
        reattach_spans: int = REATTACH_SPANS,
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.memory_limit = memory_limit
        self.checkpoint_bytes = checkpoint_bytes
        self.checkpoint_transactions = checkpoint_transactions
        self.checkpoint_every_s = checkpoint_every_s
        self.reattach_spans = reattach_spans
        self._since_checkpoint = 0
        self._checkpointed_at = time.monotonic()
        self._written_since_attach = 0
        self._attach_sql: str | None = None
        if path.is_file() and path.stat().st_size > 0 and not _is_duckdb_file(path):
            raise RuntimeError(
                f"cannot open {path}: it is not a DuckDB database file; choose another --store"
            )
        try:
            self._connect()
        except duckdb.Error as exc:
            owned = "lock" in str(exc).lower()
            raise RuntimeError(
                f"cannot open {path}: {exc}"
                + (
                    ". A DuckDB file has one owning process: stop the other firstwatch serve, "
                    "or choose another --store."
                    if owned
                    else ""
                )
            ) from None
        self._write_lock = threading.Lock()
        self._local = threading.local()
        # Bumped when the file is opened again (`recover`): each thread's cursor belongs to one.
        self._opened = 0
        self._keys: dict[str, ApiKey] = {}  # by hash: the keys requests came with
        self._gate = QueryGate()
        indexed = self._has_table("trace_index")
        for name, columns in _KEYED.items():
            _run(self._con, _table_sql(name, columns, keyed=True))
            # A file made by an older version gains the columns added since.
            for column, typ in columns:
                _run(
                    self._con,
                    f"ALTER TABLE {name} ADD COLUMN IF NOT EXISTS {_column_sql(column, typ)}",
                )
        _run(self._con, _table_sql("trace_index", TRACE_INDEX_COLUMNS))
        _run(
            self._con,
            "CREATE TABLE IF NOT EXISTS api_keys (key_id VARCHAR PRIMARY KEY, key_hash VARCHAR "
            "UNIQUE, project VARCHAR, scope VARCHAR, prefix VARCHAR, created_ns BIGINT)",
        )
        _run(self._con, "CREATE TABLE IF NOT EXISTS projects (name VARCHAR PRIMARY KEY)")
        _run(self._con, _META_SQL)
        _run(self._con, "INSERT OR IGNORE INTO projects VALUES ('default')")
        self._create_drift_tables()
        if not indexed:
            self._index_existing()

    def _connect(self) -> None:
        """Open a new in-memory DuckDB as `_con`, with the file attached and in use."""
        # Checkpoints merge small row groups ("vacuum"); unbounded, one merge could take more
        # memory than the whole ingest path. A few per checkpoint keep up. Inserts need not keep
        # a batch's rows in order (every query that needs an order asks for it): both threads
        # then write at once, 6.8 against 8.6 µs a span. DuckDB's allocator hands freed memory
        # back after a task that peaked above 16MB (not 128MB): about 10 MB less held under load.
        # What does not fit in memory_limit spills beside the file (DuckDB's own place for a file
        # it opens; an in-memory instance would spill to `.tmp` in the working directory).
        # DuckDB would fetch an extension from the internet to read a file of another format
        # (SQLite, say); the store needs none beyond those built in (json, parquet).
        self._con = duckdb.connect(
            config={
                "autoinstall_known_extensions": False,
                "autoload_known_extensions": False,
                "memory_limit": self.memory_limit,
                "temp_directory": str(self.path) + ".tmp",
                "max_vacuum_tasks": 4,
                "preserve_insertion_order": False,
                "allocator_flush_threshold": "16MB",
                "checkpoint_threshold": _AUTO_CHECKPOINT,
            }
        )
        try:
            self._attach(self.path)
        except duckdb.Error:
            self._con.close()
            raise

    def _attach(self, path: Path) -> None:
        """Attach the file with the row group size it was made with.

        A new file gets `ROW_GROUP_SIZE`, recorded in `meta`. A file made without one (by an older
        version) keeps DuckDB's default: DuckDB 2.0 fails to commit appends to a column added with
        ALTER TABLE when the file's row groups and the attached size differ. The size is read
        once: attaching again needs no DETACH, which checkpoints (and fails on a full disk).
        """
        if self._attach_sql is not None:
            _run(self._con, self._attach_sql)
            _run(self._con, f"USE {_CATALOG}")
            return
        quoted = str(path).replace("'", "''")
        new = not path.exists() or path.stat().st_size == 0
        size = ROW_GROUP_SIZE if new else None
        if not new:
            _run(self._con, f"ATTACH '{quoted}' AS {_CATALOG}")
            if self._has_table("meta"):
                rows = self._con.execute(
                    f"SELECT value FROM {_CATALOG}.meta WHERE key = 'row_group_size'"
                ).fetchall()
                size = int(rows[0][0]) if rows else None
            if size is not None:
                _run(self._con, f"DETACH {_CATALOG}")
        if new or size is not None:
            _run(self._con, f"ATTACH '{quoted}' AS {_CATALOG} (ROW_GROUP_SIZE {size})")
        _run(self._con, f"USE {_CATALOG}")
        self._attach_sql = f"ATTACH '{quoted}' AS {_CATALOG}" + (
            f" (ROW_GROUP_SIZE {size})" if size is not None else ""
        )
        if new:
            _run(self._con, _META_SQL)
            _run(self._con, "INSERT INTO meta VALUES ('row_group_size', ?)", [size])

    def _has_table(self, name: str) -> bool:
        rows = self._con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE database_name = ? AND table_name = ?",
            [_CATALOG, name],
        ).fetchall()
        return bool(rows[0][0])

    def _index_existing(self) -> None:
        """Key and index the traces of a store written before `trace_index` existed."""
        for name in _KEYED:
            columns = self._con.execute(
                "SELECT column_name FROM duckdb_columns() WHERE database_name = ? "
                "AND table_name = ?",
                [_CATALOG, name],
            ).fetchall()
            if ("trace_key",) not in columns:
                _run(self._con, f"ALTER TABLE {name} ADD COLUMN trace_key BIGINT")
            _run(self._con, f"UPDATE {name} SET trace_key = {_TRACE_KEY}")
        _run(self._con, f"INSERT INTO trace_index BY NAME {_trace_ranges_sql('spans')}")

    # -- reading connections: one cursor per thread --------------------------------------------
    @contextlib.contextmanager
    def _reading(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """This thread's cursor, for queries whose results are fetched inside the block."""
        with self._gate.query():
            cursor = getattr(self._local, "cursor", None)
            if cursor is None or self._local.opened != self._opened:
                cursor = self._con.cursor()
                _run(cursor, f"USE {_CATALOG}")
                self._local.cursor, self._local.opened = cursor, self._opened
            yield cursor

    def _fetch(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._reading() as con:
            return con.execute(sql, list(params)).fetchall()

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        with self._reading() as con:
            cur = con.execute(sql, list(params))
            names = [d[0] for d in cur.description or []]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    # -- writing ---------------------------------------------------------------------------------
    def apply(self, spans: ArrowStreamSource, lsn: int) -> int:
        """See `Store.apply`. `spans` is read twice: its narrow columns into a temporary table,
        then every column straight into `spans` as it is inserted."""
        with self._write_lock:
            con = self._con
            _run(con, "BEGIN TRANSACTION")
            try:
                self._since_checkpoint += 1
                added = self._apply(con, spans)
                self._written_since_attach += added
                _run(con, "INSERT OR REPLACE INTO meta VALUES ('applied_lsn', ?)", [lsn])
                con.execute("; ".join(f"DROP TABLE IF EXISTS temp.{name}" for name in _TEMPORARY))
                _run(con, "COMMIT")
            except BaseException:
                # A COMMIT that failed has ended the transaction already: its error is the one
                # to report, not ROLLBACK's.
                with contextlib.suppress(duckdb.TransactionException):
                    _run(con, "ROLLBACK")
                raise
            finally:
                for view in _VIEWS:
                    con.unregister(view)
        return added

    def _apply(self, con: duckdb.DuckDBPyConnection, spans: ArrowStreamSource) -> int:
        con.register("batch", spans)
        # The batch's position of each span: row_number() over a scan with no order counts the
        # rows as they come (DuckDB's streaming window, on one thread).
        _run(
            con,
            "CREATE OR REPLACE TEMP TABLE incoming AS SELECT "
            f"{', '.join(NARROW_SPAN_COLUMN_NAMES)}, row_number() OVER () - 1 AS pos FROM batch",
        )
        _run(
            con,
            "CREATE OR REPLACE TEMP TABLE touched AS SELECT project, trace_id, "
            f"{_TRACE_KEY} AS trace_key FROM incoming GROUP BY project, trace_id",
        )
        # The traces that already have spans in the store, and where their rows lie.
        _run(
            con,
            "CREATE OR REPLACE TEMP TABLE known AS SELECT x.* FROM trace_index x "
            "SEMI JOIN touched t ON x.trace_key = t.trace_key AND x.project = t.project "
            "AND x.trace_id = t.trace_id",
        )
        received = con.execute("SELECT first_received_ns, last_received_ns FROM known").fetchall()
        columns = ", ".join(
            f"CASE WHEN agent_marked OR coalesce(parent_span_id, '') = '' THEN {c} END AS {c}"
            if c in RUN_ONLY_COLUMNS
            else c
            for c in ("project", *MATERIALIZE_COLUMNS)
        )
        _run(
            con,
            f"CREATE OR REPLACE TEMP TABLE stored AS SELECT {columns} FROM spans "
            f"WHERE {_rows_of('spans', 'known', received)}",
        )
        # The first copy of each span the store does not have yet: usually every span, and then
        # they are read from `incoming` itself rather than from a copy of it.
        firsts = (
            "SELECT min(pos) AS pos FROM incoming i WHERE NOT EXISTS (SELECT 1 FROM stored s "
            "WHERE i.project = s.project AND i.trace_id = s.trace_id AND i.span_id = s.span_id) "
            "GROUP BY project, trace_id, span_id"
        )
        fresh, total = _one(
            con, f"SELECT count(*), (SELECT count(*) FROM incoming) FROM ({firsts})"
        )
        if not fresh:
            return 0
        new = "incoming" if fresh == total else "fresh"
        if new == "fresh":
            _run(
                con,
                "CREATE OR REPLACE TEMP TABLE fresh AS SELECT i.* FROM incoming i "
                f"SEMI JOIN ({firsts}) k ON i.pos = k.pos",
            )
        # Every column, read from the batch again as it is inserted; when some of its spans are
        # not fresh, the fresh ones are picked by position.
        source = (
            "batch"
            if new == "incoming"
            else "(SELECT * FROM (SELECT *, row_number() OVER () - 1 AS pos FROM batch) "
            "SEMI JOIN fresh USING (pos))"
        )
        (inserted,) = _one(
            con,
            f"INSERT INTO spans BY NAME SELECT {', '.join(SPAN_COLUMN_NAMES)}, "
            f"{_TRACE_KEY} AS trace_key FROM {source}",
        )
        if inserted != fresh:
            raise ValueError(f"the batch gave {inserted} fresh spans when read again, not {fresh}")
        # Rebuild the runs and steps of every trace that gained spans, from all its spans.
        materialize(
            con,
            f"(SELECT {columns} FROM {new} UNION ALL SELECT {columns} FROM stored "
            f"WHERE (project, trace_id) IN (SELECT project, trace_id FROM {new}))",
            _RUN_NAMES,
            _STEP_NAMES,
        )
        _run(
            con,
            "CREATE OR REPLACE TEMP TABLE continued AS SELECT * FROM known "
            f"WHERE (project, trace_id) IN (SELECT project, trace_id FROM {new})",
        )
        started = con.execute("SELECT first_start_ns, last_start_ns FROM continued").fetchall()
        if started:
            for table in ("runs", "steps"):
                _run(con, f"DELETE FROM {table} WHERE {_rows_of(table, 'continued', started)}")
            _run(
                con,
                "UPDATE trace_index x SET "
                "first_received_ns = least(x.first_received_ns, n.first_received_ns), "
                "last_received_ns = greatest(x.last_received_ns, n.last_received_ns), "
                "first_start_ns = least(x.first_start_ns, n.first_start_ns), "
                "last_start_ns = greatest(x.last_start_ns, n.last_start_ns) "
                f"FROM ({_trace_ranges_sql(new)}) n "
                "WHERE x.trace_key = n.trace_key AND x.project = n.project "
                "AND x.trace_id = n.trace_id",
            )
        _run(
            con,
            f"INSERT INTO trace_index BY NAME SELECT n.* FROM ({_trace_ranges_sql(new)}) n "
            "ANTI JOIN continued c ON n.project = c.project AND n.trace_id = c.trace_id",
        )
        _run(con, _insert_keyed("runs", "new_runs"))
        _run(con, _insert_keyed("steps", "new_steps"))
        return int(fresh)

    def settle(self, *, hand_back_cache: bool = True) -> None:
        """See `Store.settle`: checkpoint DuckDB's log once it reaches `checkpoint_bytes` (or after
        `checkpoint_transactions`, or `checkpoint_every_s`), then cut DuckDB's cache of the file
        back (`hand_back_cache`, and after every checkpoint), unless a query is running.

        DuckDB keeps the blocks a write touched cached, up to `memory_limit`, so under steady
        ingest its cache grew with the store; the file's pages stay in the system's page cache
        anyway. Lowering the limit for a moment is how DuckDB is told to evict. A query needing
        memory in that moment would fail, hence the gate; queries that start then wait the few
        milliseconds it takes (4–11 ms measured).

        DuckDB also keeps a record of every buffer a statement let go, in the queue it evicts
        from, until an eviction passes it: about 90 KB a transaction, outside `memory_limit`, for
        as long as nothing is evicted (42 MB after 800 transactions of 512 spans). Right after a
        checkpoint nothing is left unsaved, so the limit goes down to nothing for a moment: the
        eviction passes every queue and drops those records with the cache. Then, once
        `reattach_spans` were written or a checkpoint came by time (`checkpoint_every_s`: queries
        load row group metadata too), the file is attached again (`REATTACH_SPANS`).
        """
        with self._write_lock:
            checkpointed = False
            wal = self.path.with_name(self.path.name + ".wal")
            logged = wal.stat().st_size if wal.exists() else None
            timely = time.monotonic() - self._checkpointed_at >= self.checkpoint_every_s
            if (
                (logged is not None and logged >= self.checkpoint_bytes)
                or self._since_checkpoint >= self.checkpoint_transactions
                or timely
            ):
                _run(self._con, "CHECKPOINT")
                self._since_checkpoint = 0
                self._checkpointed_at = time.monotonic()
                checkpointed = True
            if not (hand_back_cache or checkpointed):
                return
            with self._gate.alone() as alone:
                if not alone:
                    return
                unsaved = self._con.execute(
                    "SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory() "
                    "WHERE tag = 'IN_MEMORY_TABLE'"
                ).fetchall()[0][0]
                floor = 0 if checkpointed else _CACHE_FLOOR_BYTES
                # DuckDB evicts queue by queue (the file's blocks first, then its buffers) and
                # stops at the first queue after which memory is under the limit: with nothing
                # else in use, evicting the file's blocks often ended it before the queues that
                # hold the records. After a checkpoint, when they are to go, a query left open
                # keeps memory in use meanwhile.
                held = self._con.cursor()
                try:
                    if checkpointed:
                        held.execute(_HELD_QUERY)
                    _run(self._con, f"SET memory_limit = '{unsaved + floor}B'")
                except duckdb.OutOfMemoryException:
                    pass  # blocks still in use; what could be evicted was
                finally:
                    _run(self._con, f"SET memory_limit = '{self.memory_limit}'")
                    held.close()
                if checkpointed and (timely or self._written_since_attach >= self.reattach_spans):
                    self._attach_again()

    def _attach_again(self) -> None:
        """Detach the file and attach it again (nothing unsaved, no query running).

        If DuckDB refuses to detach, the file stays attached as before. Attaching again fails
        while another connection still holds a transaction on the file (none should, as no query
        runs): it is tried again until that ends, for at most `_REATTACH_WAIT_S`.
        """
        _run(self._con, "USE memory")
        try:
            _run(self._con, f"DETACH {_CATALOG}")
        except duckdb.Error:
            _run(self._con, f"USE {_CATALOG}")
            raise
        deadline = time.monotonic() + _REATTACH_WAIT_S
        while True:
            try:
                self._attach(self.path)
                break
            except duckdb.Error:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.05)
        self._written_since_attach = 0

    def applied_lsn(self) -> int:
        """See `Store.applied_lsn`."""
        row = self._fetch("SELECT value FROM meta WHERE key = 'applied_lsn'")
        return int(row[0][0]) if row else 0

    # -- reading ---------------------------------------------------------------------------------
    def list_runs(
        self, where: RunFilter, limit: int, after: tuple[int, str, str] | None
    ) -> list[Row]:
        """See `Store.list_runs`."""
        clauses, params = runs_where(where)
        if after is not None:
            clauses.append("(start_ns, trace_id, span_id) < (?, ?, ?)")
            params.extend(after)
        sql = (
            f"SELECT {_RUN_LIST_COLUMNS} FROM runs WHERE {' AND '.join(clauses)} "
            "ORDER BY start_ns DESC, trace_id DESC, span_id DESC LIMIT ?"
        )
        params.append(limit)
        return self._rows(sql, params)

    def trace(self, project: str, trace_id: str) -> tuple[list[Row], list[Row]]:
        """See `Store.trace`."""
        runs = self._rows(
            f"SELECT {_RUN_LIST_COLUMNS} FROM runs WHERE project = ? AND trace_id = ? "
            "ORDER BY start_ns",
            [project, trace_id],
        )
        steps = self._rows(
            "SELECT st.trace_id, st.span_id, st.parent_span_id, st.run_span_id, st.name, st.kind, "
            "st.status, st.error_class, st.start_ns, st.end_ns, st.duration_ms, st.dependency, "
            "st.http_status, st.retry_count, st.retry_wait_ms, sp.error_type, sp.error_message, "
            "sp.model, sp.input_tokens, sp.output_tokens, sp.resource_key, sp.resource_op, "
            "sp.attributes, sp.events "
            "FROM steps st JOIN spans sp ON sp.project = st.project AND sp.trace_id = st.trace_id "
            "AND sp.span_id = st.span_id WHERE st.project = ? AND st.trace_id = ? "
            "ORDER BY st.start_ns",
            [project, trace_id],
        )
        return runs, steps

    def run_spans(self, project: str, trace_id: str) -> list[Row]:
        """The stored span rows of the runs of one trace (their attributes and resource)."""
        return self._rows(
            "SELECT sp.span_id, sp.attributes, sp.resource, sp.events, sp.error_type, "
            "sp.error_message FROM spans sp SEMI JOIN runs r ON r.project = sp.project "
            "AND r.trace_id = sp.trace_id AND r.span_id = sp.span_id "
            "WHERE sp.project = ? AND sp.trace_id = ?",
            [project, trace_id],
        )

    def agents(self, project: str, since_ns: int | None, until_ns: int | None) -> list[Row]:
        """See `Store.agents`."""
        clauses, params = where(project, since_ns=since_ns, until_ns=until_ns)
        return self._rows(
            "SELECT agent, version, environment, count(*) AS runs, "
            "count(*) FILTER (WHERE status = 'error') AS errors, "
            "count(*) FILTER (WHERE status = 'incomplete') AS incomplete, "
            "min(start_ns) AS first_seen_ns, max(start_ns) AS last_seen_ns "
            f"FROM runs WHERE {' AND '.join(clauses)} "
            "GROUP BY agent, version, environment ORDER BY agent, version, environment",
            params,
        )

    def count_spans(self, project: str | None = None) -> int:
        """See `Store.count_spans`."""
        if project is None:
            row = self._fetch("SELECT count(*) FROM spans")
        else:
            row = self._fetch("SELECT count(*) FROM spans WHERE project = ?", [project])
        return int(row[0][0]) if row else 0

    def memory_bytes(self) -> dict[str, int]:
        """See `Store.memory_bytes`: DuckDB's buffer manager by tag (`base_table` is the cache of
        the file's blocks, which grows up to `memory_limit` and is cut back after large writes;
        `in_memory_table` is data written since the last checkpoint)."""
        rows = self._fetch(
            "SELECT lower(tag), memory_usage_bytes FROM duckdb_memory() "
            "WHERE memory_usage_bytes > 0 ORDER BY tag"
        )
        return {str(tag): int(used) for tag, used in rows}

    # -- keys ------------------------------------------------------------------------------------
    def add_key(self, key: ApiKey, key_hash: str) -> None:
        """See `Store.add_key`."""
        with self._write_lock:
            _run(self._con, "INSERT OR IGNORE INTO projects VALUES (?)", [key.project])
            _run(
                self._con,
                "INSERT INTO api_keys VALUES (?, ?, ?, ?, ?, ?)",
                [key.key_id, key_hash, key.project, key.scope, key.prefix, key.created_ns],
            )

    def key_by_hash(self, key_hash: str) -> ApiKey | None:
        """See `Store.key_by_hash`. A key never changes once made (and only this process writes
        the file), so one found is kept in memory: requests with a known key do not wait for the
        database, nor fail when it cannot be read."""
        known = self._keys.get(key_hash)
        if known is not None:
            return known
        rows = self._rows(
            "SELECT key_id, project, scope, prefix, created_ns FROM api_keys WHERE key_hash = ?",
            [key_hash],
        )
        if not rows:
            return None
        found = self._keys[key_hash] = ApiKey(**rows[0])
        return found

    def key_count(self) -> int:
        """See `Store.key_count`."""
        row = self._fetch("SELECT count(*) FROM api_keys")
        return int(row[0][0]) if row else 0

    def projects(self) -> Sequence[str]:
        """See `Store.projects`."""
        return [r["name"] for r in self._rows("SELECT name FROM projects ORDER BY name")]

    def recover(self) -> bool:
        """See `Store.recover`: open the file again if DuckDB no longer reads it.

        A checkpoint that fails (on a full disk, say) leaves the attached file invalidated: every
        query on it fails, even once there is room again, and DETACH fails too. Only a new
        DuckDB instance attaching it reads it again (replaying DuckDB's own log); writes
        committed before are all there. Skipped while a query runs (on an invalidated file
        queries fail at once, so the next call finds none).
        """
        with self._write_lock:
            try:
                _run(self._con, "SELECT count(*) FROM meta")
                return False
            except duckdb.Error:
                pass
            with self._gate.alone() as alone:
                if not alone:
                    return False
                with contextlib.suppress(duckdb.Error):
                    self._con.close()
                self._connect()
                self._opened += 1
                self._written_since_attach = 0
                return True

    def close(self) -> None:
        """See `Store.close`."""
        with self._write_lock:
            self._con.close()
