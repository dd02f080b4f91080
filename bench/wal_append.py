"""Append throughput of the write-ahead log: appends/s and MB/s by thread count and payload size.

Each run appends from N threads for a fixed time into a fresh log in a temporary directory (on the
disk of ``--dir``), while a checkpointer frees applied segments as the batch writer would. Every
append is fsynced before it returns; the appends-per-fsync column shows group commit at work.

    python bench/wal_append.py [--seconds 3] [--dir /var/tmp]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from pathlib import Path

from firstwatch.ingest.wal import WalFull, WriteAheadLog

THREADS = (1, 8, 32)
PAYLOADS = (512 * 1024, 4 * 1024)


def run(directory: Path, threads: int, payload_size: int, seconds: float) -> tuple[int, int, float]:
    """Appends for ``seconds`` from ``threads`` threads; returns (appends, fsyncs, elapsed)."""
    fsyncs = 0
    lock = threading.Lock()

    def counting_fsync(fd: int) -> None:
        nonlocal fsyncs
        with lock:
            fsyncs += 1
        os.fsync(fd)

    payload = os.urandom(payload_size)
    counts = [0] * threads
    stop = threading.Event()
    with WriteAheadLog(directory, fsync=counting_fsync) as wal:

        def append(index: int) -> None:
            while not stop.is_set():
                try:
                    wal.append(payload)
                except WalFull:
                    time.sleep(0.001)
                    continue
                counts[index] += 1

        def checkpoint() -> None:
            while not stop.wait(0.05):
                wal.checkpoint(wal.last_lsn)

        workers = [threading.Thread(target=append, args=(n,)) for n in range(threads)]
        workers.append(threading.Thread(target=checkpoint))
        started = time.perf_counter()
        for worker in workers:
            worker.start()
        time.sleep(seconds)
        stop.set()
        for worker in workers:
            worker.join()
        elapsed = time.perf_counter() - started
    return sum(counts), fsyncs, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each run")
    parser.add_argument("--dir", type=Path, default=None, help="where to put the temporary logs")
    args = parser.parse_args()
    print(f"{'threads':>7} {'payload':>9} {'appends/s':>10} {'MB/s':>8} {'appends/fsync':>13}")
    for payload_size in PAYLOADS:
        for threads in THREADS:
            with tempfile.TemporaryDirectory(dir=args.dir) as directory:
                appends, fsyncs, elapsed = run(Path(directory), threads, payload_size, args.seconds)
            rate = appends / elapsed
            label = f"{payload_size // 1024} KiB"
            print(
                f"{threads:>7} {label:>9} {rate:>10.0f} {rate * payload_size / 1e6:>8.1f} "
                f"{appends / max(fsyncs, 1):>13.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
