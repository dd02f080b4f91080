"""A 2xx means stored: kill -9, SIGTERM, a full disk and overload lose nothing acknowledged."""

from __future__ import annotations

import random
import signal
import threading
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import duckdb
import grpc
import httpx
import pytest
from google.rpc import status_pb2
from google.rpc.error_details_pb2 import RetryInfo
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from serverproc import ServerProcess, free_port, start_server, wait_for
from spanbatches import make_batches, span_keys

pytestmark = pytest.mark.integration

_EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


def stored_span_counts(store: Path) -> Counter[tuple[str, str]]:
    """Read the stopped server's DuckDB file directly: how often each span is stored."""
    con = duckdb.connect(str(store), read_only=True)
    try:
        rows = con.execute("SELECT trace_id, span_id FROM spans").fetchall()
    finally:
        con.close()
    return Counter((t, s) for t, s in rows)


class Driver:
    """Export batches from several threads, one `export()` per batch, so each answer is known."""

    def __init__(
        self,
        server: ServerProcess,
        batches: Sequence[Sequence[ReadableSpan]],
        transport: str = "http",
    ) -> None:
        self.server = server
        self.batches = batches
        self.transport = transport
        self.acked: list[int] = []
        self.stop = threading.Event()
        self._todo = list(range(len(batches)))
        self._lock = threading.Lock()
        self._pool: list[threading.Thread] = []

    def start(self, threads: int) -> Driver:
        self._pool = [threading.Thread(target=self._work) for _ in range(threads)]
        for t in self._pool:
            t.start()
        return self

    def join(self, timeout: float = 60) -> list[int]:
        self.stop.set()
        for t in self._pool:
            t.join(timeout)
        return self.acked

    def _exporter(self) -> SpanExporter:
        if self.transport == "grpc":
            endpoint = f"127.0.0.1:{self.server.grpc_port}"
            return GrpcExporter(endpoint=endpoint, insecure=True, timeout=3)
        return OTLPSpanExporter(endpoint=f"{self.server.url}/v1/traces", timeout=3)

    def _work(self) -> None:
        exporter = self._exporter()
        while not self.stop.is_set():
            with self._lock:
                if not self._todo:
                    break
                index = self._todo.pop(0)
            if exporter.export(self.batches[index]) != SpanExportResult.SUCCESS:
                break  # the server is gone: this batch's fate is unknown, so it is not counted
            with self._lock:
                self.acked.append(index)
        exporter.shutdown()


@pytest.mark.timeout(600)
@pytest.mark.parametrize("transport", ["http", "grpc"])
def test_kill_9_at_a_random_moment_loses_no_acknowledged_span(
    tmp_path: Path, transport: str
) -> None:
    store = tmp_path / "durable.duckdb"
    rng = random.Random(20261126)
    acked_keys: set[tuple[str, str]] = set()
    port, grpc = free_port(), free_port()
    for round_no in range(4):
        batches = make_batches(120, traces_per_batch=4, steps_per_trace=9)
        server = start_server(tmp_path, store=store, http_port=port, grpc_port=grpc)
        driver = Driver(server, batches, transport).start(threads=6)
        # Killed at a random moment once answers flow (on a busy machine the first may take a
        # while), so that every round has acknowledged batches at stake.
        wait_for(lambda d=driver: len(d.acked) > 0, what="a first acknowledged batch")
        time.sleep(rng.uniform(0.0, 1.0))
        server.process.kill()  # SIGKILL: no drain, no flush
        server.process.wait(30)
        acked = driver.join()
        assert acked, f"round {round_no}: nothing was acknowledged before the kill"
        for index in acked:
            acked_keys |= span_keys(batches[index])
    # Restart, let the writer replay the log, stop cleanly and read the file itself.
    server = start_server(tmp_path, store=store, http_port=port, grpc_port=grpc)
    with server.client() as client:
        wait_for(
            lambda: "firstwatch_ingest_lag_records 0" in client.get("/metrics").text,
            what="replay of the log",
        )
    assert server.stop() == 0
    counts = stored_span_counts(store)
    missing = acked_keys - set(counts)
    assert not missing, f"{len(missing)} acknowledged spans were lost"
    duplicated = [k for k in acked_keys if counts[k] != 1]
    assert not duplicated, f"{len(duplicated)} acknowledged spans stored more than once"


def test_sigterm_drains_everything_acknowledged(tmp_path: Path) -> None:
    store = tmp_path / "term.duckdb"
    server = start_server(tmp_path, store=store)
    batches = make_batches(150, traces_per_batch=4, steps_per_trace=9)
    driver = Driver(server, batches).start(threads=6)
    wait_for(lambda: len(driver.acked) > 0, what="a first acknowledged batch")
    time.sleep(0.5)
    assert server.stop(signal.SIGTERM) == 0
    acked = driver.join()
    assert acked
    assert "firstwatch stopped" in server.output()
    counts = stored_span_counts(store)  # no restart: the drain already stored everything
    keys = set().union(*(span_keys(batches[i]) for i in acked))
    assert keys <= set(counts)
    assert all(counts[k] == 1 for k in keys)


def test_full_disk_answers_503_never_2xx(tmp_path: Path) -> None:
    wal = tmp_path / "tiny-wal"
    wal.mkdir()
    # The log lives on a 1 MiB tmpfs mounted in a private mount namespace: it fills up for real.
    wrapper = (
        "unshare",
        "--mount",
        "--map-root-user",
        "sh",
        "-c",
        f'mount -t tmpfs -o size=1m tmpfs "{wal}" && exec "$0" "$@"',
    )
    server = start_server(tmp_path, wrapper=wrapper, extra_args=("--wal-dir", str(wal)))
    try:
        batches = make_batches(60, traces_per_batch=4, steps_per_trace=9, payload_chars=2000)
        exporter_statuses: list[int] = []
        acked: set[tuple[str, str]] = set()
        with server.client() as client:
            for batch in batches:
                body = encode_spans(batch).SerializeToString()
                response = client.post(
                    "/v1/traces",
                    content=body,
                    headers={"Content-Type": "application/x-protobuf"},
                )
                exporter_statuses.append(response.status_code)
                if response.status_code == 200:
                    acked |= span_keys(batch)
                else:
                    assert response.status_code == 503, response.text
                    assert "Retry-After" in response.headers
            assert 503 in exporter_statuses, "the 1 MiB log never filled up"
            assert 200 in exporter_statuses
            assert client.get("/healthz").status_code == 200
            wait_for(
                lambda: "firstwatch_ingest_lag_records 0" in client.get("/metrics").text,
                what="the writer to apply what was logged",
            )
            metrics = client.get("/metrics").text
            assert 'firstwatch_requests_rejected_total{reason="not_durable"}' in metrics
    finally:
        server.stop()
    counts = stored_span_counts(server.store)
    assert acked <= set(counts)


def test_overload_answers_503_with_retry_after_and_memory_stays_bounded(tmp_path: Path) -> None:
    server = start_server(tmp_path, env={"FIRSTWATCH_WAL_MAX_PENDING_MB": "1"})
    try:
        batches = make_batches(40, traces_per_batch=16, steps_per_trace=31, payload_chars=1000)
        bodies = [encode_spans(b).SerializeToString() for b in batches]
        statuses: list[tuple[int, str | None]] = []
        lock = threading.Lock()

        def blast(offset: int) -> None:
            with httpx.Client(base_url=server.url, timeout=60) as client:
                for i in range(6):
                    body = bodies[(offset + i) % len(bodies)]
                    r = client.post(
                        "/v1/traces",
                        content=body,
                        headers={"Content-Type": "application/x-protobuf"},
                    )
                    with lock:
                        statuses.append((r.status_code, r.headers.get("retry-after")))

        pool = [threading.Thread(target=blast, args=(i,)) for i in range(16)]
        for t in pool:
            t.start()
        for t in pool:
            t.join(120)
        codes = Counter(code for code, _ in statuses)
        assert set(codes) <= {200, 503}, codes
        assert codes[503] > 0, f"never overloaded: {codes}"
        assert all(ra is not None and int(ra) > 0 for code, ra in statuses if code == 503)
        peak_kb = int(
            next(
                line.split()[1]
                for line in Path(f"/proc/{server.process.pid}/status").read_text().splitlines()
                if line.startswith("VmHWM:")
            )
        )
        assert peak_kb < 600 * 1024, f"peak RSS {peak_kb / 1024:.0f} MB"
    finally:
        server.stop()


def test_grpc_overload_answers_unavailable_with_retry_info(tmp_path: Path) -> None:
    """Over gRPC an overload is UNAVAILABLE with a RetryInfo where OTLP exporters look for it."""
    server = start_server(tmp_path, env={"FIRSTWATCH_WAL_MAX_PENDING_MB": "1"})
    try:
        batches = make_batches(40, traces_per_batch=16, steps_per_trace=31, payload_chars=1000)
        bodies = [encode_spans(b).SerializeToString() for b in batches]
        outcomes: list[grpc.RpcError | None] = []
        lock = threading.Lock()

        def blast(offset: int) -> None:
            with grpc.insecure_channel(f"127.0.0.1:{server.grpc_port}") as channel:
                export = channel.unary_unary(_EXPORT)  # bytes in, bytes out
                for i in range(6):
                    try:
                        export(bodies[(offset + i) % len(bodies)], timeout=60)
                        outcome = None
                    except grpc.RpcError as exc:
                        outcome = exc
                    with lock:
                        outcomes.append(outcome)

        pool = [threading.Thread(target=blast, args=(i,)) for i in range(16)]
        for t in pool:
            t.start()
        for t in pool:
            t.join(120)
        refused = [e for e in outcomes if e is not None]
        assert refused, "never overloaded"
        assert {e.code() for e in refused} == {grpc.StatusCode.UNAVAILABLE}
        for error in refused:
            trailers = dict(error.trailing_metadata())
            retry = RetryInfo.FromString(trailers["google.rpc.retryinfo-bin"])
            assert retry.retry_delay.seconds > 0
            status = status_pb2.Status.FromString(trailers["grpc-status-details-bin"])
            assert status.code == grpc.StatusCode.UNAVAILABLE.value[0]
            (detail,) = status.details
            unpacked = RetryInfo()
            assert detail.Unpack(unpacked)
            assert unpacked == retry
    finally:
        server.stop()
