"""Run inside a private mount namespace by `test_store_disk.py`: the server's writer and a DuckDB
store on a small tmpfs (`sys.argv[1]`), its log elsewhere (`sys.argv[2]`), until the disk is
full, then given room again. With `sys.argv[3]` "commit" the store is fed until a commit meets
the full disk; with "checkpoint" some spans are committed, the disk is filled up, and then the
store is told to checkpoint. Prints what it saw as JSON."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from firstwatch.ingest.wal import WriteAheadLog
from firstwatch.ingest.writer import Writer
from firstwatch.store.duckdb import DuckDBStore
from logrecords import run_record

SPANS = 64
BALLAST_BYTES = 12 * 2**20


def wait(check: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def fill(path: Path) -> None:
    """Write zeros to `path` until the disk has no room left."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, bytes(2**16))
    except OSError:
        pass
    finally:
        os.close(fd)


class Repeats(logging.Handler):
    """Counts the writer's reports of a failure seen before."""

    count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if ", again: " in record.getMessage():
            self.count += 1


def main() -> None:
    disk, log_dir, failing = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    ballast = disk / "ballast"
    ballast.write_bytes(b"\0" * BALLAST_BYTES)
    never = 2**62
    store = DuckDBStore(
        disk / "store.duckdb", checkpoint_bytes=never, checkpoint_transactions=never
    )
    wal = WriteAheadLog(log_dir)
    writer = Writer(store, wal, retry_max_s=0.5, idle_settle_s=0.5)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    repeats = Repeats()
    logging.getLogger("firstwatch.ingest.writer").addHandler(repeats)
    writer.start()
    seen: dict[str, object] = {}
    try:
        records = 0
        while records < (400 if failing == "commit" else 8) and not writer.last_error:
            wal.append(run_record(records, spans=SPANS, varied=True))
            records += 1
            writer.wake()
            wait(lambda: writer.lag_lsn() == 0 or bool(writer.last_error), 30)
        if failing == "checkpoint":
            fill(disk / "filler")
            store.checkpoint_bytes = 1  # the writer's next upkeep checkpoints
            wait(lambda: bool(writer.last_error), 30)
        seen["records"] = records
        seen["error_while_full"] = writer.last_error
        # Let it fail a few more times: each is reported in one line.
        seen["failed_again"] = wait(lambda: repeats.count >= 3, 60)
        try:
            store.count_spans()
            seen["readable_while_full"] = True
        except Exception as exc:
            seen["readable_while_full"] = False
            seen["read_error"] = f"{type(exc).__name__}: {exc}"
        ballast.unlink()
        (disk / "filler").unlink(missing_ok=True)
        seen["caught_up"] = wait(lambda: writer.lag_lsn() == 0 and not writer.last_error, 120)
        seen["stored"] = store.count_spans()
        seen["sent"] = records * SPANS
    finally:
        writer.stop()
        store.close()
        wal.close()
    print(json.dumps(seen))


if __name__ == "__main__":
    main()
