"""The single writer: replays the write-ahead log into the store in large batches."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

from firstwatch.ingest.logformat import CURRENT_SCHEMA, LoggedRecords, record_rows, schema_message
from firstwatch.ingest.wal import WriteAheadLog
from firstwatch.store.base import Store

log = logging.getLogger(__name__)


BATCH_BYTES = 32 * 2**20
"""Most bytes of logged batches applied in one transaction (at least one batch): what bounds the
writer's memory. The store reads them from the log as it goes, twice (`LoggedRecords`); what it
holds meanwhile is in the database, within its memory limit. About 17,000 spans of 1.3 KB (as
OTLP protobuf; a logged span is about 2 KB): two whole row groups of the store's. 27 MiB gave
14,000 spans, and the rows short of a whole group went through DuckDB's own log: the insert took
twice as long a span. With half as many a transaction the writer fell behind a full ingest."""


HAND_BACK_SHARE = 4
"""After a transaction of at least 1/HAND_BACK_SHARE of `batch_bytes` of log, the store hands back
its cache (`Store.settle`): large transactions come when the writer is behind, and their working
memory would stack on the cache. After smaller ones the cache stays warm for queries."""


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

        A batch is records in a row that share their schema (a record an earlier version logged
        goes alone), up to the byte budget or `batch_spans`. The store reads them from the log
        itself (`LoggedRecords`), so the writer holds only their positions.
        """
        first = last = self.applied_lsn
        rows = logged = 0
        schema = None
        for lsn, payload in self.wal.read_from(first, max_bytes=self._budget):
            head = schema_message(payload)
            if schema is not None and (head != schema or schema != CURRENT_SCHEMA):
                break
            schema = head
            logged += len(payload)
            last = lsn
            rows += record_rows(payload)
            if rows >= self.batch_spans:
                break
        if last == first:
            return 0

        def records() -> Iterator[bytes]:
            for lsn, payload in self.wal.read_from(first, max_bytes=logged):
                if lsn > last:  # not expected: the same records, and as many bytes, as above
                    return
                yield payload

        started = time.perf_counter()
        added = self.store.apply(LoggedRecords(records), last)
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
