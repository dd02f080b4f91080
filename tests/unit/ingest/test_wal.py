"""The write-ahead log: durability, group commit, torn tails, checkpoints, backpressure."""

from __future__ import annotations

import errno
import logging
import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firstwatch.ingest import wal as wal_module
from firstwatch.ingest.wal import (
    HEADER_BYTES,
    WalCorrupt,
    WalError,
    WalFull,
    WriteAheadLog,
)

TIMEOUT = 30.0


class Fsync:
    """Calls ``os.fsync`` and counts; fails or holds chosen calls (numbered from 1)."""

    def __init__(self) -> None:
        self.calls = 0
        self.fail: Callable[[int], bool] = lambda n: False
        self.hold_call = 0
        self.held = threading.Event()
        self.release = threading.Event()
        self._lock = threading.Lock()

    def __call__(self, fd: int) -> None:
        with self._lock:
            self.calls += 1
            n = self.calls
        if n == self.hold_call:
            self.held.set()
            assert self.release.wait(TIMEOUT)
        if self.fail(n):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        os.fsync(fd)


def records(wal: WriteAheadLog, after: int = 0) -> list[tuple[int, bytes]]:
    return list(wal.read_from(after))


def segment_names(directory: Path) -> list[int]:
    return sorted(int(p.stem) for p in directory.glob("*.wal"))


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def run_threads(target: Callable[[int], None], count: int) -> None:
    threads = [threading.Thread(target=target, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
        assert not thread.is_alive()


def test_round_trip(tmp_path: Path) -> None:
    payloads = [b"", b"x", bytes(range(256)) * 40, b"last"]
    with WriteAheadLog(tmp_path) as wal:
        assert [wal.append(p) for p in payloads] == [1, 2, 3, 4]
        assert wal.last_lsn == 4
        assert records(wal) == list(enumerate(payloads, start=1))
        assert records(wal, after=2) == [(3, payloads[2]), (4, b"last")]
        assert records(wal, after=4) == []
        # max_bytes bounds the payload bytes read, but the first record always comes
        assert list(wal.read_from(1, max_bytes=1)) == [(2, b"x")]
        assert list(wal.read_from(0, max_bytes=1)) == [(1, b""), (2, b"x")]
        assert list(wal.read_from(2, max_bytes=1)) == [(3, payloads[2])]


def test_read_from_is_a_snapshot(tmp_path: Path) -> None:
    with WriteAheadLog(tmp_path) as wal:
        wal.append(b"one")
        reader = wal.read_from(0)
        wal.append(b"two")
        assert list(reader) == [(1, b"one")]


def test_lsns_continue_after_reopen(tmp_path: Path) -> None:
    with WriteAheadLog(tmp_path) as wal:
        for n in range(3):
            wal.append(b"before %d" % n)
    with WriteAheadLog(tmp_path) as wal:
        assert wal.last_lsn == 3
        assert wal.append(b"after") == 4
    with WriteAheadLog(tmp_path) as wal:
        assert [lsn for lsn, _ in records(wal)] == [1, 2, 3, 4]


def test_lsns_continue_when_every_record_was_checkpointed(tmp_path: Path) -> None:
    with WriteAheadLog(tmp_path, segment_bytes=256) as wal:
        for _ in range(10):
            wal.append(b"z" * 200)
        wal.checkpoint(10)
        assert segment_names(tmp_path) == [10]
    with WriteAheadLog(tmp_path, segment_bytes=256) as wal:
        assert (wal.last_lsn, wal.applied_lsn, wal.pending_bytes) == (10, 10, 0)
        assert records(wal, after=10) == []
        assert wal.append(b"next") == 11
        assert records(wal, after=10) == [(11, b"next")]


def _five_records(directory: Path) -> list[bytes]:
    payloads = [b"record %d " % n * 30 for n in range(1, 6)]
    with WriteAheadLog(directory) as wal:
        for payload in payloads:
            wal.append(payload)
    return payloads


def _cut(data: bytearray, last_start: int) -> bytearray:
    return data[: last_start + 10]


def _cut_payload(data: bytearray, last_start: int) -> bytearray:
    return data[:-5]


def _flip_payload(data: bytearray, last_start: int) -> bytearray:
    data[-1] ^= 0xFF
    return data


def _flip_length(data: bytearray, last_start: int) -> bytearray:
    data[last_start + 8] ^= 0x10
    return data


def _flip_lsn(data: bytearray, last_start: int) -> bytearray:
    data[last_start + 12] ^= 0x01
    return data


@pytest.mark.parametrize(
    "damage", [_cut, _cut_payload, _flip_payload, _flip_length, _flip_lsn], ids=lambda f: f.__name__
)
def test_torn_or_corrupt_last_record_is_cut_off(
    tmp_path: Path, damage: Callable[[bytearray, int], bytearray]
) -> None:
    payloads = _five_records(tmp_path)
    segment = tmp_path / f"{1:020d}.wal"
    last_start = sum(HEADER_BYTES + len(p) for p in payloads[:4])
    segment.write_bytes(damage(bytearray(segment.read_bytes()), last_start))

    with WriteAheadLog(tmp_path) as wal:
        assert wal.last_lsn == 4
        assert records(wal) == list(enumerate(payloads[:4], start=1))
        assert segment.stat().st_size == last_start
        assert wal.append(b"new fifth") == 5
    with WriteAheadLog(tmp_path) as wal:
        assert records(wal) == [*enumerate(payloads[:4], start=1), (5, b"new fifth")]


def test_garbage_after_the_last_record_is_cut_off(tmp_path: Path) -> None:
    payloads = _five_records(tmp_path)
    segment = tmp_path / f"{1:020d}.wal"
    size = segment.stat().st_size
    with segment.open("ab") as file:
        file.write(bytes(4096))
    with WriteAheadLog(tmp_path) as wal:
        assert records(wal) == list(enumerate(payloads, start=1))
        assert segment.stat().st_size == size
        assert wal.append(b"sixth") == 6


def test_damage_before_the_last_segment_refuses_to_open(tmp_path: Path) -> None:
    with WriteAheadLog(tmp_path, segment_bytes=300) as wal:
        for _ in range(6):
            wal.append(b"y" * 200)
    first = tmp_path / f"{1:020d}.wal"
    data = bytearray(first.read_bytes())
    data[HEADER_BYTES + 5] ^= 0xFF
    first.write_bytes(data)
    with pytest.raises(WalCorrupt):
        WriteAheadLog(tmp_path, segment_bytes=300)


def test_damage_found_while_reading_raises(tmp_path: Path) -> None:
    with WriteAheadLog(tmp_path) as wal:
        for n in range(3):
            wal.append(b"payload %d" % n)
        segment = tmp_path / f"{1:020d}.wal"
        data = bytearray(segment.read_bytes())
        data[HEADER_BYTES + 9 + HEADER_BYTES + 2] ^= 0xFF  # inside record 2's payload
        segment.write_bytes(data)
        reader = wal.read_from(0)
        assert next(reader) == (1, b"payload 0")
        with pytest.raises(WalCorrupt):
            next(reader)


def test_reading_on_seeks_past_the_records_already_read(tmp_path: Path) -> None:
    # A writer reads on from where it stopped, and reads its records twice: each read seeks to
    # its first record instead of reading every header before it in the segment again. Shown by
    # damage to the first record, which only a read from the segment's start comes across.
    with WriteAheadLog(tmp_path) as wal:
        for n in range(5):
            wal.append(b"payload %d" % n)
        assert list(wal.read_from(0, max_bytes=20)) == [(1, b"payload 0"), (2, b"payload 1")]
        segment = tmp_path / f"{1:020d}.wal"
        data = bytearray(segment.read_bytes())
        data[0] ^= 0xFF  # record 1's magic
        segment.write_bytes(data)
        assert records(wal, after=2) == [(3, b"payload 2"), (4, b"payload 3"), (5, b"payload 4")]
        assert records(wal, after=1)[0] == (2, b"payload 1")
        assert records(wal, after=3) == [(4, b"payload 3"), (5, b"payload 4")]
        with pytest.raises(WalCorrupt):
            records(wal, after=0)


def test_segments_rotate_and_checkpoint_deletes_only_applied_ones(tmp_path: Path) -> None:
    payload = b"s" * 200  # 4 records fill a segment of 1000 bytes
    with WriteAheadLog(tmp_path, segment_bytes=1000) as wal:
        for _ in range(20):
            wal.append(payload)
        assert segment_names(tmp_path) == [1, 5, 9, 13, 17]
        assert wal.pending_bytes == 20 * (HEADER_BYTES + 200)

        wal.checkpoint(10)
        assert segment_names(tmp_path) == [9, 13, 17]
        assert wal.applied_lsn == 10
        assert wal.pending_bytes == 10 * (HEADER_BYTES + 200)
        assert [lsn for lsn, _ in records(wal, after=10)] == list(range(11, 21))
        assert [lsn for lsn, _ in records(wal)] == list(range(9, 21))

        wal.checkpoint(3)  # going back changes nothing
        assert wal.applied_lsn == 10
        with pytest.raises(ValueError):
            wal.checkpoint(21)

        wal.checkpoint(20)
        assert segment_names(tmp_path) == [17]  # the segment being written stays
        assert wal.pending_bytes == 0
    with WriteAheadLog(tmp_path, segment_bytes=1000) as wal:
        assert (wal.applied_lsn, wal.last_lsn, wal.pending_bytes) == (20, 20, 0)
        assert wal.append(payload) == 21


def test_checkpoint_and_backlog_survive_reopen(tmp_path: Path) -> None:
    with WriteAheadLog(tmp_path, segment_bytes=1000) as wal:
        for n in range(12):
            wal.append(b"%d" % n * 100)
        wal.checkpoint(7)
        pending = wal.pending_bytes
        age = wal.oldest_pending_age_s(now=2e9)
    with WriteAheadLog(tmp_path, segment_bytes=1000) as wal:
        assert wal.applied_lsn == 7
        assert wal.pending_bytes == pending
        assert wal.oldest_pending_age_s(now=2e9) == pytest.approx(age, abs=1e-3)
        assert [lsn for lsn, _ in records(wal, after=wal.applied_lsn)] == list(range(8, 13))


def test_oldest_pending_age(tmp_path: Path) -> None:
    with WriteAheadLog(tmp_path) as wal:
        assert wal.oldest_pending_age_s() == 0.0
        before = time.time()
        wal.append(b"a")
        after = time.time()
        wal.append(b"b")
        age = wal.oldest_pending_age_s(now=after + 60.0)
        assert 60.0 <= age <= 60.0 + (after - before) + 1e-3
        wal.checkpoint(2)
        assert wal.oldest_pending_age_s(now=after + 60.0) == 0.0


def test_concurrent_appends_share_fsyncs(tmp_path: Path) -> None:
    fsync = Fsync()
    acked: dict[int, bytes] = {}
    lock = threading.Lock()
    start = threading.Barrier(16)
    with WriteAheadLog(tmp_path, segment_bytes=64 * 1024, fsync=fsync) as wal:
        opened_with = fsync.calls

        def work(thread: int) -> None:
            start.wait(TIMEOUT)
            for n in range(200):
                payload = b"%d:%d:" % (thread, n) + bytes([thread]) * (n % 50 * 7)
                lsn = wal.append(payload)
                with lock:
                    assert lsn not in acked
                    acked[lsn] = payload

        run_threads(work, 16)
        assert sorted(acked) == list(range(1, 3201))
        assert dict(records(wal)) == acked
        appends_fsyncs = fsync.calls - opened_with
    assert appends_fsyncs < 3200 / 4
    with WriteAheadLog(tmp_path, segment_bytes=64 * 1024) as wal:
        assert dict(records(wal)) == acked


def test_failed_fsync_fails_every_caller_of_its_group(tmp_path: Path) -> None:
    fsync = Fsync()
    wal = WriteAheadLog(tmp_path, fsync=fsync)
    opened_with = fsync.calls
    fsync.hold_call = opened_with + 1  # the first append's fsync waits while others queue
    fsync.fail = lambda n: n == opened_with + 2  # the fsync of the queued group fails
    outcomes: dict[int, int | BaseException] = {}

    def work(thread: int) -> None:
        try:
            outcomes[thread] = wal.append(b"p%d" % thread)
        except WalError as err:
            outcomes[thread] = err

    leader = threading.Thread(target=work, args=(0,))
    leader.start()
    assert fsync.held.wait(TIMEOUT)
    followers = [threading.Thread(target=work, args=(n,)) for n in range(1, 8)]
    for thread in followers:
        thread.start()
    wait_until(lambda: wal.queued_bytes == 8 * (HEADER_BYTES + 2))
    fsync.release.set()
    for thread in [leader, *followers]:
        thread.join(TIMEOUT)
        assert not thread.is_alive()

    assert outcomes[0] == 1
    for n in range(1, 8):
        error = outcomes[n]
        assert isinstance(error, WalError)
        assert isinstance(error.__cause__, OSError)
        assert error.__cause__.errno == errno.ENOSPC
    # one fsync for the leader, one failed for all seven followers, one to cut them off again
    assert fsync.calls == opened_with + 3
    assert wal.queued_bytes == 0
    assert wal.append(b"later") == 2
    wal.close()
    with WriteAheadLog(tmp_path) as wal:
        assert records(wal) == [(1, b"p0"), (2, b"later")]


def test_log_that_cannot_be_made_consistent_refuses_appends(tmp_path: Path) -> None:
    fsync = Fsync()
    wal = WriteAheadLog(tmp_path, fsync=fsync)
    assert wal.append(b"kept") == 1
    fsync.fail = lambda n: True
    with pytest.raises(WalError) as failed:
        wal.append(b"lost")
    assert isinstance(failed.value.__cause__, OSError)
    with pytest.raises(WalError):
        wal.append(b"refused")
    assert records(wal) == [(1, b"kept")]
    wal.close()
    with WriteAheadLog(tmp_path) as wal:
        assert records(wal) == [(1, b"kept")]
        assert wal.append(b"again") == 2


@pytest.mark.parametrize("failing", ["for good", "now and then"])
def test_enospc_under_load_loses_no_acknowledged_record(tmp_path: Path, failing: str) -> None:
    fsync = Fsync()
    acked: dict[int, bytes] = {}
    failures: list[WalError] = []
    lock = threading.Lock()
    with WriteAheadLog(tmp_path, segment_bytes=8 * 1024, fsync=fsync) as wal:
        first_failure = fsync.calls + 20
        if failing == "for good":
            fsync.fail = lambda n: n >= first_failure
        else:
            fsync.fail = lambda n: n >= first_failure and n % 7 == 0

        def work(thread: int) -> None:
            for n in range(100):
                payload = b"%d-%d" % (thread, n) * 20
                try:
                    lsn = wal.append(payload)
                except WalError as err:
                    with lock:
                        failures.append(err)
                else:
                    with lock:
                        acked[lsn] = payload

        run_threads(work, 8)
        assert failures
        assert len(acked) + len(failures) == 800
        assert wal.queued_bytes == 0
    with WriteAheadLog(tmp_path, segment_bytes=8 * 1024) as wal:
        # every acknowledged record is there, and nothing that was refused
        assert dict(records(wal)) == acked
        assert sorted(acked) == list(range(1, len(acked) + 1))


def test_backlog_bound_refuses_appends_until_a_checkpoint(tmp_path: Path) -> None:
    record = HEADER_BYTES + 100
    with WriteAheadLog(tmp_path, max_pending_bytes=10 * record) as wal:
        for _ in range(10):
            wal.append(b"b" * 100)
        with pytest.raises(WalFull):
            wal.append(b"b" * 100)
        assert wal.last_lsn == 10
        assert wal.pending_bytes == 10 * record
        wal.checkpoint(4)
        for _ in range(4):
            wal.append(b"b" * 100)
        with pytest.raises(WalFull):
            wal.append(b"b")
        with pytest.raises(ValueError):
            wal.append(b"b" * 10 * record)  # could never fit
        assert wal.last_lsn == 14


def test_one_process_at_a_time_and_closed_log_refuses(tmp_path: Path) -> None:
    wal = WriteAheadLog(tmp_path)
    with pytest.raises(WalError):
        WriteAheadLog(tmp_path)
    wal.append(b"a")
    wal.close()
    with pytest.raises(WalError):
        wal.append(b"b")
    with pytest.raises(WalError):
        wal.read_from(0)
    with WriteAheadLog(tmp_path) as again:
        assert again.last_lsn == 1


CHILD = """
import sys, threading
from pathlib import Path
from firstwatch.ingest.wal import WriteAheadLog

wal = WriteAheadLog(Path(sys.argv[1]), segment_bytes=16 * 1024)
lock = threading.Lock()

def work(thread):
    n = 0
    while True:
        lsn = wal.append(b"%d:%d;" % (thread, n) * 40)
        with lock:
            sys.stdout.write(f"{lsn} {thread} {n}\\n")
            sys.stdout.flush()
        n += 1

for thread in range(4):
    threading.Thread(target=work, args=(thread,), daemon=True).start()
threading.Event().wait()
"""


def test_every_acknowledged_record_survives_sigkill(tmp_path: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert child.stdout is not None
        for line in child.stdout:
            lines.put(line)
        lines.put(None)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    acked: list[str] = []
    try:
        while len(acked) < 400:
            line = lines.get(timeout=TIMEOUT)
            assert line is not None, "the child stopped on its own"
            acked.append(line)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(TIMEOUT)
    reader.join(TIMEOUT)
    while (line := lines.get_nowait()) is not None:
        acked.append(line)
    child.stdout.close()

    with WriteAheadLog(tmp_path, segment_bytes=16 * 1024) as wal:
        found = dict(records(wal))
    assert sorted(found) == list(range(1, len(found) + 1))
    assert len(segment_names(tmp_path)) > 1
    for line in acked:
        if not line.endswith("\n"):
            continue  # cut by the kill
        lsn, thread, n = (int(field) for field in line.split())
        assert found[lsn] == b"%d:%d;" % (thread, n) * 40


@settings(max_examples=60, deadline=None)
@given(
    payloads=st.lists(st.binary(max_size=3000), max_size=40),
    segment_bytes=st.integers(min_value=1, max_value=8192),
    reopen_at=st.integers(min_value=0, max_value=40),
    after=st.integers(min_value=0, max_value=45),
    max_bytes=st.none() | st.integers(min_value=0, max_value=20_000),
)
def test_random_payloads_round_trip(
    payloads: list[bytes], segment_bytes: int, reopen_at: int, after: int, max_bytes: int | None
) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory)
        lsns: list[int] = []
        with WriteAheadLog(path, segment_bytes=segment_bytes) as wal:
            lsns += [wal.append(p) for p in payloads[:reopen_at]]
        with WriteAheadLog(path, segment_bytes=segment_bytes) as wal:
            lsns += [wal.append(p) for p in payloads[reopen_at:]]
            assert lsns == list(range(1, len(payloads) + 1))
        with WriteAheadLog(path, segment_bytes=segment_bytes) as wal:
            expected = list(enumerate(payloads, start=1))
            assert records(wal) == expected
            for name in segment_names(path)[:-1]:
                assert next(wal.read_from(name - 1))[0] == name
            chunk = list(wal.read_from(after, max_bytes))
            rest = expected[after:]
            assert chunk == rest[: len(chunk)]
            if max_bytes is None or not rest:
                assert chunk == rest
            else:
                assert chunk
                assert len(chunk) == 1 or sum(len(p) for _, p in chunk) <= max_bytes
                if len(chunk) < len(rest):
                    taken = sum(len(p) for _, p in chunk)
                    assert taken + len(rest[len(chunk)][1]) > max_bytes


def _failing_appends(fsync: Fsync, wal: WriteAheadLog, count: int) -> None:
    """`count` appends whose fsync fails (each failure's roll-back fsync succeeds)."""
    for _ in range(count):
        failing = fsync.calls + 1
        fsync.fail = lambda n, failing=failing: n == failing
        with pytest.raises(WalError):
            wal.append(b"refused")
    fsync.fail = lambda n: False


def _errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]


def test_a_run_of_failed_appends_is_logged_once_and_its_end_too(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fsync = Fsync()
    caplog.set_level(logging.WARNING, logger="firstwatch.ingest.wal")
    with WriteAheadLog(tmp_path, fsync=fsync) as wal:
        _failing_appends(fsync, wal, 10)
        errors = _errors(caplog)
        assert len(errors) == 1
        assert os.strerror(errno.ENOSPC) in errors[0]
        assert wal.append(b"taken") == 1
        assert records(wal) == [(1, b"taken")]
    messages = [r.getMessage() for r in caplog.records]
    assert "write-ahead log appends succeed again (9 more failed since the last report)" in messages


def test_failed_appends_go_on_being_logged_every_interval(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(wal_module, "FAILURE_LOG_EVERY_S", 0.0)
    fsync = Fsync()
    caplog.set_level(logging.WARNING, logger="firstwatch.ingest.wal")
    with WriteAheadLog(tmp_path, fsync=fsync) as wal:
        _failing_appends(fsync, wal, 3)
    errors = _errors(caplog)
    assert len(errors) == 3
    assert all("failed 1 times in the last" in message for message in errors[1:])
