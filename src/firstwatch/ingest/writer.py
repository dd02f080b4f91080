"""The single writer: replays the write-ahead log into the store in large batches."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

import pyarrow as pa

from firstwatch.ingest.pipeline import decode_batch, decode_batches
from firstwatch.ingest.wal import WriteAheadLog
from firstwatch.store.base import Store
from firstwatch.store.schema import NARROW_SPAN_SCHEMA

log = logging.getLogger(__name__)


BATCH_BYTES = 27 * 2**20
"""Most bytes of logged batches applied in one transaction (at least one batch): what bounds the
writer's memory, as a batch takes about a third of its logged size in the writer (without its
`INSERT_ONLY_COLUMNS`), then twice its logged size in the store's insert and in rebuilding runs.
About 17,000 spans of 1.3 KB (as OTLP protobuf). With half as many a transaction the writer fell
behind a full ingest (18,000 spans/s end to end, and answers of 503); 19 or 22 MiB gave no lower
peak than 27 at a lower rate."""


HAND_BACK_SHARE = 4
"""After a transaction of at least 1/HAND_BACK_SHARE of `batch_bytes` of log, the store hands back
its cache (`Store.settle`): large transactions come when the writer is behind, and their working
memory would stack on the cache. After smaller ones the cache stays warm for queries."""


DECODED_TOGETHER = 4
"""Log records decoded in one go when the writer reads its batch (`decode_batches`): fewer calls
that give up the GIL, each of which waits for it while requests are being mapped, for a few
records' bytes held at once. The insert's second read takes one record at a time: it runs at the
writer's peak of memory, and four at a time there took 5–15 MB more."""


RELAX_AFTER = 64
"""Transactions applied after a failure before the writer tries its full batch size again."""


RETRY_FAST = 4
"""Failures in a row the writer retries after a second, each with half the batch: what a store
short of memory needs."""

RETRY_MAX_S = 30.0
"""Longest wait in seconds before a failed transaction is tried again: after `RETRY_FAST`
failures in a row the wait doubles up to this (a full disk fails every try until room is made)."""

IDLE_SETTLE_S = 30.0
"""Seconds with nothing to apply after which the writer has the store do its upkeep anyway
(`Store.settle`): what queries leave behind is handed back on a server nobody writes to."""


def _narrow(table: pa.Table) -> pa.Table:
    """A copy of `table` without `INSERT_ONLY_COLUMNS`; a decoded record's columns are views of
    its payload, which the copy lets go."""
    narrow = table.select(NARROW_SPAN_SCHEMA.names)
    return narrow.take(pa.array(range(narrow.num_rows), pa.int32()))


class Writer:
    """Applies logged batches to the store; at start it replays what the store has not applied."""

    def __init__(
        self,
        store: Store,
        wal: WriteAheadLog,
        *,
        batch_spans: int = 50_000,
        batch_bytes: int = BATCH_BYTES,
        idle_settle_s: float = IDLE_SETTLE_S,
        retry_max_s: float = RETRY_MAX_S,
    ) -> None:
        self.store = store
        self.idle_settle_s = idle_settle_s
        self.retry_max_s = retry_max_s
        self._failures = 0
        self.wal = wal
        self.batch_spans = batch_spans
        self.batch_bytes = batch_bytes
        self.applied_lsn = store.applied_lsn()
        if self.applied_lsn > wal.last_lsn:
            log.warning(
                "the store has applied log position %d but the log ends at %d: the log was "
                "replaced; continuing from the log's end",
                self.applied_lsn,
                wal.last_lsn,
            )
            self.applied_lsn = wal.last_lsn
        self.wal.checkpoint(self.applied_lsn)
        self.last_error: str | None = None
        self.spans_applied = 0
        self.last_apply_s = 0.0
        self._last_bytes = 0
        # Bytes of log read for the next transaction: halved after a failed one (a store short of
        # memory fails a large batch every time; smaller ones go through) and kept at most there
        # for the next RELAX_AFTER transactions, so that it does not fail every other one.
        self._budget = batch_bytes
        self._ceiling = batch_bytes
        self._successes = 0
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="firstwatch-writer", daemon=True)

    def start(self) -> None:
        """Start the writer thread."""
        self._thread.start()

    def wake(self) -> None:
        """Tell the writer new records are in the log."""
        self._wake.set()

    def lag_lsn(self) -> int:
        """How many log records are not yet applied."""
        return max(0, self.wal.last_lsn - self.applied_lsn)

    def apply_pending(self) -> int:
        """Apply one batch of pending records; returns how many records were applied.

        The batch is held without its spans' `INSERT_ONLY_COLUMNS`, two thirds of its bytes: the
        store's insert reads the records from the log a second time for them.
        """
        tables: list[pa.Table] = []
        group: list[bytes] = []
        rows = logged = per_record = 0
        first = last = self.applied_lsn
        for lsn, payload in self.wal.read_from(first, max_bytes=self._budget):
            group.append(payload)
            logged += len(payload)
            last = lsn
            # Decode a few records together, but no more than `batch_spans` leaves room for.
            room = (self.batch_spans - rows) // per_record if per_record else 1
            if len(group) >= min(DECODED_TOGETHER, max(1, room)):
                table = _narrow(decode_batches(group))
                tables.append(table)
                rows += table.num_rows
                per_record = max(1, table.num_rows // len(group))
                group = []
                if rows >= self.batch_spans:
                    break
        if group:
            tables.append(_narrow(decode_batches(group)))
        if not tables:
            return 0

        def full_rows() -> Iterator[pa.Table]:
            # One record at a time: these are held while the insert runs, at its peak of memory.
            for lsn, payload in self.wal.read_from(first, max_bytes=logged):
                if lsn > last:  # not expected: the same records, and as many bytes, as above
                    return
                yield decode_batch(payload)

        started = time.perf_counter()
        added = self.store.apply(pa.concat_tables(tables), last, full_rows)
        self.last_apply_s = time.perf_counter() - started
        self._last_bytes = logged
        self.spans_applied += added
        count = last - self.applied_lsn
        self.applied_lsn = last
        self.wal.checkpoint(last)
        self._successes += 1
        if self._successes >= RELAX_AFTER:
            self._ceiling = self.batch_bytes
        self._budget = min(self._ceiling, self._budget * 2)
        return count

    def _loop(self) -> None:
        settled = time.monotonic()
        while not self._stop.is_set():
            try:
                if self.apply_pending():
                    self.last_error = None
                    self._failures = 0
                    self._settle()
                    settled = time.monotonic()
                    continue
            except Exception as exc:  # keep going: the log still holds the records
                wait_s = min(self.retry_max_s, 2.0 ** max(0, self._failures - RETRY_FAST))
                self._failed(
                    exc,
                    f"writer failed to apply a batch of up to {self._budget} bytes; will retry "
                    f"with half in {wait_s:g} s",
                )
                self._failures += 1
                self._budget = self._ceiling = max(1, self._budget // 2)
                self._successes = 0
                self._stop.wait(wait_s)
                continue
            self._wake.wait(0.05)
            self._wake.clear()
            if time.monotonic() - settled >= self.idle_settle_s:
                self._settle(hand_back_cache=False)
                settled = time.monotonic()

    def _settle(self, *, hand_back_cache: bool | None = None) -> None:
        """The store's upkeep, once the batch just applied is released; by default it hands back
        the cache after a large transaction."""
        if hand_back_cache is None:
            hand_back_cache = self._last_bytes >= self.batch_bytes // HAND_BACK_SHARE
        try:
            self.store.settle(hand_back_cache=hand_back_cache)
        except Exception as exc:  # the batch is stored; upkeep is tried again after the next
            self._failed(exc, "store upkeep after a write failed")
        else:
            self.last_error = None

    def _failed(self, exc: Exception, what: str) -> None:
        """Report a failure (with its traceback the first time in a row, in one line after), then
        have the store made usable again if the failure broke it."""
        error = f"{type(exc).__name__}: {exc}"
        if error == self.last_error:
            log.warning("%s, again: %s", what, error)
        else:
            log.error("%s", what, exc_info=exc)
        try:
            if self.store.recover():
                log.warning("the store was opened again after: %s", error)
        except Exception as again:
            log.warning(
                "the store could not be opened again (%s: %s); will try after the next failure",
                type(again).__name__,
                again,
            )
        self.last_error = error

    def drain(self, timeout_s: float = 30.0) -> bool:
        """Apply everything in the log (used at shutdown); True when nothing is left."""
        deadline = time.monotonic() + timeout_s
        while self.lag_lsn() and time.monotonic() < deadline:
            self._wake.set()
            time.sleep(0.01)
        return self.lag_lsn() == 0

    def stop(self) -> None:
        """Stop the thread after its current batch."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=60)
