"""The writer alone, and beside a thread busy in Python: how much waiting for the GIL costs it.

Maps ``--requests`` OTLP requests of 512 spans (those of ``bench/ingest.py``) into a fresh
write-ahead log, then applies the log to a fresh DuckDB store with the server's writer, twice: once
alone and once while another thread runs a Python loop, as the server's request threads do while
they decode and map spans. Each of the writer's calls that gives up the GIL (DuckDB statements,
Arrow, reads of the log) waits for it on the way back; the second rate shows what those waits cost.
Python's turn is set to the server's (`GIL_TURN_S`).

    python bench/writer.py [--requests 200] [--repeat 1]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

from ingest import build_requests, python_loop_s
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from firstwatch.errors.classify import DEFAULT_RULES
from firstwatch.ingest.logformat import encode_batch
from firstwatch.ingest.mapping import map_request
from firstwatch.ingest.redact import Redactor
from firstwatch.ingest.wal import WriteAheadLog
from firstwatch.ingest.writer import Writer
from firstwatch.server.runtime import GIL_TURN_S
from firstwatch.settings import Settings
from firstwatch.store.duckdb import DuckDBStore


def logged_payloads(count: int) -> list[bytes]:
    """The log records of `count` requests, as the server's ingest writes them."""
    settings = Settings.load()
    redactor = Redactor(settings.redact_keys.split(","))
    payloads = []
    for body in build_requests(count)[0]:
        request = ExportTraceServiceRequest.FromString(body)
        batch = map_request(
            request,
            "bench",
            max_attributes=settings.max_attributes,
            max_value_chars=settings.max_value_chars,
            rules=DEFAULT_RULES,
            redactor=redactor,
        )
        payloads.append(encode_batch(batch.columns, batch.accepted))
    return payloads


def apply_all(payloads: list[bytes], folder: Path, busy: bool) -> tuple[int, int, float, float]:
    """Apply `payloads` from a fresh log to a fresh store; returns (spans, transactions, seconds,
    CPU seconds of the writer's thread)."""
    stop = threading.Event()

    def spin() -> None:
        total = 0
        while not stop.is_set():
            for i in range(1000):
                total += i

    wal = WriteAheadLog(folder / "wal")
    store = DuckDBStore(folder / "store.duckdb")
    try:
        for payload in payloads:
            wal.append(payload)
        writer = Writer(store, wal)
        spinner = threading.Thread(target=spin, daemon=True)
        if busy:
            spinner.start()
        transactions = 0
        started, cpu = time.perf_counter(), time.thread_time()
        while writer.apply_pending():
            writer._settle()
            transactions += 1
        elapsed, cpu = time.perf_counter() - started, time.thread_time() - cpu
        stop.set()
        if busy:
            spinner.join()
        return writer.spans_applied, transactions, elapsed, cpu
    finally:
        wal.close()
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=200, help="requests of 512 spans to log")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each kind, alternating")
    args = parser.parse_args()
    sys.setswitchinterval(GIL_TURN_S)
    print(f"machine speed: a 20-million-step Python loop takes {python_loop_s():.2f} s", flush=True)
    payloads = logged_payloads(args.requests)
    print(f"logged {len(payloads)} requests, {sum(map(len, payloads)) / 2**20:.0f} MB", flush=True)
    print(f"\n{'beside':>14} {'spans':>8} {'transactions':>12} ", end="")
    print(f"{'s':>6} {'spans/s':>8} {'CPU s':>6}")
    for _ in range(args.repeat):
        for busy in (False, True):
            with tempfile.TemporaryDirectory(prefix="fw-bench-writer-") as tmp:
                spans, transactions, elapsed, cpu = apply_all(payloads, Path(tmp), busy)
            beside = "a busy thread" if busy else "nothing"
            print(
                f"{beside:>14} {spans:>8} {transactions:>12} {elapsed:>6.2f} "
                f"{spans / elapsed:>8,.0f} {cpu:>6.2f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
