"""The write-ahead log that makes an ingest acknowledgement durable.

A record is acknowledged (``append`` returns its LSN) only once it is written and fsynced.
Concurrent appends share fsyncs (group commit): the first caller to find no flush in progress
becomes the leader, takes every queued record, writes them with one ``pwrite`` per segment and
fsyncs once, while later callers queue up for the next leader.

On disk the log is a directory of segment files named by the LSN of their first record
(``00000000000000000001.wal``), each a sequence of records::

    magic "FWL1" | crc32 u32 | payload length u32 | lsn u64 | unix time ns u64 | payload

all little-endian, the CRC covering the payload and then the three fields after it. Opening the log
reads every segment, cuts a torn or corrupt tail off the last one and continues the LSNs after the
last valid record. ``applied.lsn`` holds the last checkpoint, and ``LOCK`` keeps a second process
out. POSIX only (``pwrite``, ``flock``, fsync of a directory).
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import struct
import threading
import time
import zlib
from array import array
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

_log = logging.getLogger(__name__)

FAILURE_LOG_EVERY_S = 60.0
"""While appends keep failing (a full disk refuses every request), the log says so once, then at
most once a minute with how many failed since; `/metrics` counts each refused request."""

_MAGIC = b"FWL1"
_HEADER = struct.Struct("<4sIIQQ")  # magic, crc32, payload length, lsn, unix time ns
_CRC_FROM = 8  # the CRC covers the header from the length field on, after the payload
HEADER_BYTES = _HEADER.size
"""Bytes each record adds to its payload on disk (and in ``pending_bytes``)."""
_MAX_PAYLOAD = 2**32 - 1

_SEGMENT_NAME = re.compile(r"^(\d{20})\.wal$")
_CHECKPOINT_NAME = "applied.lsn"
_CHECKPOINT_MAGIC = b"FWA1"
_CHECKPOINT_BODY = struct.Struct("<4sQ")
_CHECKPOINT_CRC = struct.Struct("<I")
_LOCK_NAME = "LOCK"
_STARTS_KEPT = 4096  # record starts remembered for reads (a writer's reads need a few dozen)


class WalError(Exception):
    """The log could not make an append durable (failed write or fsync, full disk, closed log)."""


class WalFull(WalError):
    """The unapplied backlog is at its byte bound; the caller should answer 503 and retry later."""


class WalCorrupt(WalError):
    """A record the log had made durable no longer reads back intact."""


@dataclass
class _Segment:
    first_lsn: int
    path: Path
    size: int  # bytes of durable records in the file
    last_lsn: int  # first_lsn - 1 while empty


@dataclass
class _Run:
    """Consecutive records made durable at one time, for the backlog's size and age."""

    first_lsn: int
    stamp: float
    sizes: array[int]


class _Ticket:
    __slots__ = ("crc", "done", "error", "lsn", "payload")

    def __init__(self, payload: bytes) -> None:
        self.payload = payload
        self.crc = zlib.crc32(payload)
        self.lsn = 0
        self.error: BaseException | None = None
        self.done = False


@dataclass
class _Scan:
    end: int  # offset after the last valid record
    last_lsn: int
    runs: list[_Run]
    torn: bool  # bytes after ``end`` did not form a valid record


def _segment_path(directory: Path, first_lsn: int) -> Path:
    return directory / f"{first_lsn:020d}.wal"


def _record_crc(payload_crc: int, header: bytes) -> int:
    return zlib.crc32(header[_CRC_FROM:], payload_crc)


def _encode_header(payload_crc: int, length: int, lsn: int, stamp_ns: int) -> bytes:
    header = _HEADER.pack(_MAGIC, 0, length, lsn, stamp_ns)
    crc = _record_crc(payload_crc, header)
    return _HEADER.pack(_MAGIC, crc, length, lsn, stamp_ns)


def _pwrite_all(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    done = 0
    while done < len(view):
        done += os.pwrite(fd, view[done:], offset + done)


class WriteAheadLog:
    """A durable, append-only log of opaque records with group commit.

    Args:
        directory: Where the segments live; created if missing. One process at a time.
        segment_bytes: Size at which a new segment is started (a single larger record still fits).
        max_pending_bytes: Bound on the bytes of unapplied records, those queued for writing
            included; ``append`` raises ``WalFull`` rather than exceed it.
        fsync: Makes a file descriptor durable; every fsync of a segment, of the directory and of
            the checkpoint goes through it.

    Raises:
        WalError: The directory is locked by another process, or it could not be recovered.
        WalCorrupt: A segment before the last one is damaged, or LSNs do not follow each other.
    """

    def __init__(
        self,
        directory: Path,
        *,
        segment_bytes: int = 64 * 2**20,
        max_pending_bytes: int = 512 * 2**20,
        fsync: Callable[[int], None] = os.fsync,
    ) -> None:
        if segment_bytes <= 0 or max_pending_bytes <= 0:
            raise ValueError("segment_bytes and max_pending_bytes must be positive")
        self._dir = Path(directory)
        self._segment_bytes = segment_bytes
        self._max_pending_bytes = max_pending_bytes
        self._fsync = fsync
        self._cond = threading.Condition(threading.Lock())
        self._checkpoint_lock = threading.Lock()
        self._queue: list[_Ticket] = []
        self._queued_bytes = 0
        self._flushing = False
        self._closed = False
        self._broken: BaseException | None = None
        # Failed appends not yet logged, and when one last was (None: appends succeed).
        self._failed_unlogged = 0
        self._failure_logged_at: float | None = None
        self._segments: list[_Segment] = []
        self._runs: deque[_Run] = deque()
        self._head = 0  # records of _runs[0] already applied
        self._pending_bytes = 0
        self._last_lsn = 0
        self._applied_lsn = 0
        # Where recently read records start, by LSN: (their segment's first LSN, offset). A read
        # from one of them seeks to it instead of over every record before it in the segment
        # (each seek and header read a system call, which under load waits for the GIL on its
        # way back).
        self._starts: dict[int, tuple[int, int]] = {}
        self._fd = -1
        self._dir.mkdir(parents=True, exist_ok=True)
        self._lock_fd = self._lock_directory()
        try:
            self._recover()
        except BaseException:
            if self._fd >= 0:
                os.close(self._fd)
            os.close(self._lock_fd)
            raise

    def __enter__(self) -> WriteAheadLog:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def directory(self) -> Path:
        """The directory holding the segments."""
        return self._dir

    @property
    def last_lsn(self) -> int:
        """The LSN of the last durable record (0 for a log that never held one)."""
        with self._cond:
            return self._last_lsn

    @property
    def applied_lsn(self) -> int:
        """The last value given to ``checkpoint``: every record up to it is in the store.

        The log persists it in ``applied.lsn``, cheaply: that file is fsynced only when a
        checkpoint deletes segments. After a crash it may therefore read back lower than the last
        checkpoint (never below a deleted record), and replay resends records the store already
        holds, which its idempotent writes absorb.
        """
        with self._cond:
            return self._applied_lsn

    @property
    def pending_bytes(self) -> int:
        """Bytes on disk (headers included) of the durable records after ``applied_lsn``."""
        with self._cond:
            return self._pending_bytes

    @property
    def queued_bytes(self) -> int:
        """Bytes of appends accepted but not yet durable (held in memory)."""
        with self._cond:
            return self._queued_bytes

    def oldest_pending_age_s(self, now: float | None = None) -> float:
        """Seconds since the oldest record after ``applied_lsn`` was made durable.

        Args:
            now: The current Unix time (``time.time()`` when omitted).

        Returns:
            The age, 0.0 when nothing is pending; the time is stored in each record, so the age
            survives a restart.
        """
        with self._cond:
            if not self._runs:
                return 0.0
            stamp = self._runs[0].stamp
        current = time.time() if now is None else now
        return max(0.0, current - stamp)

    def append(self, payload: bytes) -> int:
        """Appends one record and returns its LSN once the record is fsynced.

        Thread-safe. Callers that arrive while a flush is in progress are written and fsynced
        together by the next one. A record is acknowledged only if it is durable: when a write or
        fsync fails, every caller whose record it covered gets ``WalError``, the segment is cut
        back to its last durable record and the log stays usable; if even that fails, every later
        append raises ``WalError`` until the log is reopened.

        Args:
            payload: The record, opaque bytes.

        Returns:
            The record's LSN.

        Raises:
            WalFull: The unapplied and queued bytes would exceed ``max_pending_bytes``; nothing
                was written.
            WalError: The record could not be made durable, or the log is closed or unusable.
            ValueError: The record is larger than ``max_pending_bytes`` (or 4 GiB) and could never
                be accepted.
        """
        size = HEADER_BYTES + len(payload)
        if len(payload) > _MAX_PAYLOAD or size > self._max_pending_bytes:
            raise ValueError(f"a record of {len(payload)} bytes can never fit in this log")
        ticket = _Ticket(payload)
        batch: list[_Ticket] | None = None
        with self._cond:
            self._raise_if_unusable()
            backlog = self._pending_bytes + self._queued_bytes
            if backlog + size > self._max_pending_bytes:
                raise WalFull(
                    f"write-ahead log backlog of {backlog} bytes is at its bound of "
                    f"{self._max_pending_bytes}"
                )
            self._queue.append(ticket)
            self._queued_bytes += size
            while not ticket.done and batch is None:
                if self._flushing:
                    self._cond.wait()
                else:
                    self._flushing = True
                    batch, self._queue = self._queue, []
        if batch is not None:
            self._lead(batch)
        if ticket.error is not None:
            raise WalError(f"record not made durable: {ticket.error}") from ticket.error
        return ticket.lsn

    def read_from(
        self, after_lsn: int, max_bytes: int | None = None
    ) -> Iterator[tuple[int, bytes]]:
        """Iterates over the durable records with an LSN above ``after_lsn``, in order.

        The set of records is fixed when this is called; later appends are not included.
        Records at or below ``applied_lsn`` may already be deleted by a checkpoint: reading
        starts at the oldest record still held.

        Args:
            after_lsn: Yield only records after this LSN (``applied_lsn`` for a replay).
            max_bytes: Stop before the payloads yielded would exceed this many bytes; the first
                record is always yielded, however large.

        Returns:
            An iterator of ``(lsn, payload)``.

        Raises:
            WalError: The log is closed.
            WalCorrupt: (while iterating) a durable record no longer reads back intact.
        """
        with self._cond:
            if self._closed:
                raise WalError("write-ahead log is closed")
            segments = [
                (s.first_lsn, s.path, s.size) for s in self._segments if s.last_lsn > after_lsn
            ]
        return self._read(segments, after_lsn, max_bytes)

    def checkpoint(self, applied_lsn: int) -> None:
        """Records that everything up to ``applied_lsn`` is in the store, and frees its segments.

        Deletes the segments that hold only such records (never the one being written). A value
        at or below the current ``applied_lsn`` changes nothing.

        Args:
            applied_lsn: The last LSN the store holds.

        Raises:
            ValueError: ``applied_lsn`` is beyond ``last_lsn``.
            WalError: The log is closed, or the checkpoint could not be written.
        """
        with self._checkpoint_lock:
            with self._cond:
                if self._closed:
                    raise WalError("write-ahead log is closed")
                if applied_lsn > self._last_lsn:
                    raise ValueError(
                        f"cannot checkpoint LSN {applied_lsn}: the last durable LSN is "
                        f"{self._last_lsn}"
                    )
                if applied_lsn <= self._applied_lsn:
                    return
                doomed = [s for s in self._segments[:-1] if s.last_lsn <= applied_lsn]
            try:
                self._write_checkpoint(applied_lsn, durable=bool(doomed))
            except OSError as err:
                raise WalError(f"could not write the checkpoint: {err}") from err
            with self._cond:
                self._applied_lsn = applied_lsn
                self._release_pending(applied_lsn)
                del self._segments[: len(doomed)]
            if doomed:
                try:
                    for segment in doomed:
                        segment.path.unlink(missing_ok=True)
                    self._sync_directory()
                except OSError as err:
                    raise WalError(f"could not delete applied segments: {err}") from err

    def close(self) -> None:
        """Waits for the flush in progress, fails queued appends and releases the directory."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            while self._flushing:
                self._cond.wait()
            closed = WalError("write-ahead log is closed")
            for ticket in self._queue:
                ticket.error = closed
                ticket.done = True
            self._queue = []
            self._queued_bytes = 0
            self._cond.notify_all()
        os.close(self._fd)
        os.close(self._lock_fd)

    # Writing

    def _raise_if_unusable(self) -> None:
        if self._closed:
            raise WalError("write-ahead log is closed")
        if self._broken is not None:
            raise WalError(
                f"write-ahead log unusable since an earlier failure: {self._broken}"
            ) from self._broken

    def _lead(self, batch: list[_Ticket]) -> None:
        try:
            self._write_batch(batch)
        except BaseException as err:
            self._fail(batch, err)
            raise
        finally:
            with self._cond:
                self._flushing = False
                self._cond.notify_all()

    def _write_batch(self, batch: list[_Ticket]) -> None:
        stamp_ns = time.time_ns()
        start = 0
        while start < len(batch):
            if self._broken is not None:
                self._fail(batch[start:], self._broken)
                return
            with self._cond:
                segment = self._segments[-1]
            first_size = HEADER_BYTES + len(batch[start].payload)
            if segment.size > 0 and segment.size + first_size > self._segment_bytes:
                try:
                    segment = self._rotate()
                except Exception as err:
                    self._fail(batch[start:], err)
                    return
            room = self._segment_bytes - segment.size
            parts: list[bytes] = []
            sizes = array("Q")
            lsn = self._last_lsn + 1
            end = start
            used = 0
            while end < len(batch):
                ticket = batch[end]
                size = HEADER_BYTES + len(ticket.payload)
                if end > start and used + size > room:
                    break
                parts.append(
                    _encode_header(ticket.crc, len(ticket.payload), lsn + len(sizes), stamp_ns)
                )
                parts.append(ticket.payload)
                sizes.append(size)
                used += size
                end += 1
            try:
                _pwrite_all(self._fd, b"".join(parts), segment.size)
                self._fsync(self._fd)
            except Exception as err:
                self._roll_back(segment, err)
                self._fail(batch[start:], err)
                return
            with self._cond:
                segment.size += used
                segment.last_lsn = lsn + len(sizes) - 1
                self._last_lsn = segment.last_lsn
                self._pending_bytes += used
                self._queued_bytes -= used
                self._runs.append(_Run(lsn, stamp_ns / 1e9, sizes))
                for offset, ticket in enumerate(batch[start:end]):
                    ticket.lsn = lsn + offset
                    ticket.done = True
                self._cond.notify_all()
            self._note_success()
            start = end

    def _fail(self, tickets: list[_Ticket], error: BaseException) -> None:
        with self._cond:
            for ticket in tickets:
                if not ticket.done:
                    ticket.error = error
                    ticket.done = True
                    self._queued_bytes -= HEADER_BYTES + len(ticket.payload)
            self._cond.notify_all()

    def _roll_back(self, segment: _Segment, error: BaseException) -> None:
        """Cuts the active segment back to its durable records after a failed write or fsync."""
        try:
            os.ftruncate(self._fd, segment.size)
            self._fsync(self._fd)
        except Exception as again:
            _log.error(
                "write-ahead log unusable: %s, then could not cut %s back to %d bytes: %s",
                error,
                segment.path,
                segment.size,
                again,
            )
            with self._cond:
                self._broken = again
        else:
            self._note_failure(error)

    def _note_failure(self, error: BaseException) -> None:
        """Log a failed append: the first of a run of them, then once a `FAILURE_LOG_EVERY_S`
        with how many failed since."""
        now = time.monotonic()
        if self._failure_logged_at is None:
            _log.error("write-ahead log append failed, records not acknowledged: %s", error)
        elif now - self._failure_logged_at >= FAILURE_LOG_EVERY_S:
            _log.error(
                "write-ahead log appends failed %d times in the last %.0f s, records not "
                "acknowledged: %s",
                self._failed_unlogged + 1,
                now - self._failure_logged_at,
                error,
            )
        else:
            self._failed_unlogged += 1
            return
        self._failure_logged_at = now
        self._failed_unlogged = 0

    def _note_success(self) -> None:
        """After failed appends, say that appends succeed again."""
        if self._failure_logged_at is not None:
            _log.warning(
                "write-ahead log appends succeed again (%d more failed since the last report)",
                self._failed_unlogged,
            )
            self._failure_logged_at = None
            self._failed_unlogged = 0

    def _rotate(self) -> _Segment:
        first_lsn = self._last_lsn + 1
        path = _segment_path(self._dir, first_lsn)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        try:
            self._sync_directory()
        except BaseException:
            os.close(fd)
            try:
                path.unlink()
                self._sync_directory()
            except Exception as again:
                with self._cond:
                    self._broken = again
            raise
        segment = _Segment(first_lsn, path, 0, first_lsn - 1)
        with self._cond:
            self._segments.append(segment)
        os.close(self._fd)
        self._fd = fd
        return segment

    def _sync_directory(self) -> None:
        fd = os.open(self._dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            self._fsync(fd)
        finally:
            os.close(fd)

    # Checkpoint and backlog

    def _write_checkpoint(self, lsn: int, *, durable: bool) -> None:
        body = _CHECKPOINT_BODY.pack(_CHECKPOINT_MAGIC, lsn)
        data = body + _CHECKPOINT_CRC.pack(zlib.crc32(body))
        final = self._dir / _CHECKPOINT_NAME
        temporary = self._dir / (_CHECKPOINT_NAME + ".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        try:
            _pwrite_all(fd, data, 0)
            if durable:
                self._fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, final)
        if durable:
            self._sync_directory()

    def _read_checkpoint(self) -> int | None:
        try:
            data = (self._dir / _CHECKPOINT_NAME).read_bytes()
        except FileNotFoundError:
            return None
        expected = _CHECKPOINT_BODY.size + _CHECKPOINT_CRC.size
        if len(data) == expected:
            magic, lsn = _CHECKPOINT_BODY.unpack_from(data)
            (crc,) = _CHECKPOINT_CRC.unpack_from(data, _CHECKPOINT_BODY.size)
            if magic == _CHECKPOINT_MAGIC and crc == zlib.crc32(data[: _CHECKPOINT_BODY.size]):
                return int(lsn)
        _log.warning("ignoring damaged checkpoint file %s", self._dir / _CHECKPOINT_NAME)
        return None

    def _release_pending(self, applied_lsn: int) -> None:
        while self._runs:
            run = self._runs[0]
            count = min(applied_lsn, run.first_lsn + len(run.sizes) - 1) - run.first_lsn + 1
            if count <= self._head:
                return
            self._pending_bytes -= sum(run.sizes[self._head : count])
            if count < len(run.sizes):
                self._head = count
                return
            self._runs.popleft()
            self._head = 0

    # Reading and recovery

    def _read(
        self, segments: list[tuple[int, Path, int]], after_lsn: int, max_bytes: int | None
    ) -> Iterator[tuple[int, bytes]]:
        total = 0
        yielded = False
        for first_lsn, path, size in segments:
            try:
                file = path.open("rb", buffering=0)
            except FileNotFoundError:
                continue  # deleted by a checkpoint since: its records are all applied
            with file:
                fd = file.fileno()
                offset = 0
                expected = first_lsn
                segment, start = self._starts.get(after_lsn + 1, (0, 0))
                if segment == first_lsn:
                    offset, expected = start, after_lsn + 1
                header = os.pread(fd, HEADER_BYTES, offset)
                while offset < size:
                    if len(header) < HEADER_BYTES:
                        raise WalCorrupt(f"{path} is shorter than its durable records")
                    magic, crc, length, lsn, _ = _HEADER.unpack(header)
                    start, offset = offset, offset + HEADER_BYTES + length
                    if magic != _MAGIC or lsn != expected or offset > size:
                        raise WalCorrupt(f"{path}: damaged record where LSN {expected} was")
                    expected += 1
                    if lsn <= after_lsn:
                        header = os.pread(fd, HEADER_BYTES, offset) if offset < size else b""
                        continue
                    if max_bytes is not None and yielded and total + length > max_bytes:
                        return
                    # The payload and the next record's header in one read.
                    more = HEADER_BYTES if offset < size else 0
                    chunk = os.pread(fd, length + more, start + HEADER_BYTES)
                    payload = chunk[:length]
                    if len(payload) != length or crc != _record_crc(zlib.crc32(payload), header):
                        raise WalCorrupt(f"{path}: record {lsn} fails its checksum")
                    header = chunk[length:]
                    total += length
                    yielded = True
                    if len(self._starts) >= _STARTS_KEPT:
                        self._starts.clear()
                    self._starts[lsn] = (first_lsn, start)
                    self._starts[lsn + 1] = (first_lsn, offset)
                    yield lsn, payload

    def _lock_directory(self) -> int:
        fd = os.open(self._dir / _LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            os.close(fd)
            raise WalError(f"write-ahead log {self._dir} is in use by another process") from err
        return fd

    def _recover(self) -> None:
        (self._dir / (_CHECKPOINT_NAME + ".tmp")).unlink(missing_ok=True)
        found = sorted(
            (int(match.group(1)), path)
            for path in self._dir.iterdir()
            if (match := _SEGMENT_NAME.match(path.name))
        )
        stored = self._read_checkpoint()
        applied = stored or 0
        if found:
            floor = found[0][0] - 1
            if stored is not None and stored < floor:
                _log.warning(
                    "write-ahead log %s: records %d to %d are missing", self._dir, stored + 1, floor
                )
            applied = max(applied, floor)
        # Segments that hold only applied records: a checkpoint died before deleting them.
        dropped = False
        while len(found) > 1 and found[1][0] - 1 <= applied:
            found.pop(0)[1].unlink()
            dropped = True
        if dropped:
            self._sync_directory()

        for index, (first_lsn, path) in enumerate(found):
            last = index == len(found) - 1
            scan = self._scan(path, first_lsn, applied)
            if scan.torn and not last:
                raise WalCorrupt(f"{path} is damaged after LSN {scan.last_lsn}")
            if self._segments and first_lsn != self._segments[-1].last_lsn + 1:
                raise WalCorrupt(
                    f"{path} starts at LSN {first_lsn}, expected {self._segments[-1].last_lsn + 1}"
                )
            if scan.torn:
                discarded = path.stat().st_size - scan.end
                _log.warning(
                    "write-ahead log %s: cutting %d bytes of torn or corrupt records after LSN %d",
                    path,
                    discarded,
                    scan.last_lsn,
                )
                fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
                try:
                    os.ftruncate(fd, scan.end)
                    self._fsync(fd)
                finally:
                    os.close(fd)
            self._segments.append(_Segment(first_lsn, path, scan.end, scan.last_lsn))
            for run in scan.runs:
                self._runs.append(run)
                self._pending_bytes += sum(run.sizes)

        last_lsn = self._segments[-1].last_lsn if self._segments else applied
        if applied > last_lsn:
            _log.warning(
                "write-ahead log %s: checkpoint %d is past the last record %d; continuing after it",
                self._dir,
                applied,
                last_lsn,
            )
            last_lsn = applied
        self._applied_lsn = applied
        self._last_lsn = last_lsn
        if not self._segments or self._segments[-1].last_lsn != last_lsn:
            path = _segment_path(self._dir, last_lsn + 1)
            self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
            self._sync_directory()
            self._segments.append(_Segment(last_lsn + 1, path, 0, last_lsn))
        else:
            self._fd = os.open(self._segments[-1].path, os.O_WRONLY | os.O_CLOEXEC)

    def _scan(self, path: Path, first_lsn: int, applied_lsn: int) -> _Scan:
        """Reads a segment's valid records, up to the first torn or corrupt one."""
        size = path.stat().st_size
        runs: list[_Run] = []
        offset = 0
        expected = first_lsn
        with path.open("rb") as file:
            while offset < size:
                header = file.read(HEADER_BYTES)
                if len(header) < HEADER_BYTES:
                    break
                magic, crc, length, lsn, stamp_ns = _HEADER.unpack(header)
                if magic != _MAGIC or offset + HEADER_BYTES + length > size:
                    break
                payload = file.read(length)
                if len(payload) != length or crc != _record_crc(zlib.crc32(payload), header):
                    break
                if lsn != expected:
                    raise WalCorrupt(f"{path}: record with LSN {lsn} where {expected} belongs")
                record = HEADER_BYTES + length
                if lsn > applied_lsn:
                    stamp = stamp_ns / 1e9
                    if not runs or runs[-1].stamp != stamp:
                        runs.append(_Run(lsn, stamp, array("Q")))
                    runs[-1].sizes.append(record)
                offset += record
                expected += 1
        return _Scan(end=offset, last_lsn=expected - 1, runs=runs, torn=offset < size)
