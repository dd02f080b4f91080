"""Ingest throughput end to end: OTLP protobuf in, runs queryable out, and the server's memory.

Starts a real ``firstwatch serve`` on free ports with a fresh store in a temporary directory,
pre-encodes ``--requests`` OTLP protobuf requests of 512 spans (``--spans-per-request``; about 1.3
KB a span: an agent's traces of about ten spans — a run span, model calls, tools, HTTP calls, steps,
a few failures with exception events — in the order an exporter sends them, children before their
run, traces cut across requests), then a separate load process posts them over ``--connections``
keep-alive connections (OTLP/HTTP, or OTLP/gRPC channels with ``--transport grpc``). It reports the
acknowledged rate (2xx), the end-to-end rate (until every span is applied and every run is listed by
``/api/v1/agents``), the server's peak RSS (VmHWM), of which how much was its own anonymous memory
(the highest RssAnon sampled; the rest is shared libraries' pages, mostly), the median and 99th
percentile of its RSS sampled every 20 ms under load (how long the peak lasted), and its CPU time.
``--pace-ms`` makes each connection wait after each answer: with small requests, a steady light load
of many small transactions, as most servers see.

``--stored-spans N`` first fills the store with N synthetic spans (with their runs and steps) to
show how the writer holds up as the tables grow. The "other load" column is the machine's 1-minute
load average just before the run: other work on the same cores makes the rates lower. The first
line times a plain Python loop, to compare the machine's speed between runs.

    python bench/ingest.py [--requests 400] [--spans-per-request 512] [--pace-ms 0]
        [--connections 8] [--transport http|grpc] [--stored-spans 0] [--repeat 1]
        [--duckdb-memory-limit 128MB] [--profile gil.svg]
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.synchronize import Event as EventType
from pathlib import Path
from typing import Any

import grpc
from google.rpc.error_details_pb2 import RetryInfo
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, Span, Status

from firstwatch import semconv as sc

SPANS_PER_REQUEST = 512
GRPC_EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
AGENTS = ("invoice-extractor", "support-triage", "contract-review")
MODELS = ("gpt-4o-mini", "gpt-4.1", "claude-sonnet-4", "mistral-large")
TOOLS = ("search_documents", "lookup_customer", "ocr_page", "send_email", "calculator")
HOSTS = ("api.openai.com", "api.anthropic.com", "crm.internal", "storage.googleapis.com")
_VOCABULARY = (
    "invoice total amount customer account due date payment terms net vendor address line item "
    "quantity unit price tax rate shipping reference order number contract clause renewal notice "
    "period termination liability support ticket priority refund request escalation summary the "
    "of and to in for with on by from please review attached document page section table"
)
WORDS = tuple(_VOCABULARY.split())
ERRORS = (
    ("openai.RateLimitError", "Rate limit reached for gpt-4o-mini in organization org-123", 429),
    ("TimeoutError", "timed out after 30.0 seconds waiting for crm.internal", None),
    ("json.JSONDecodeError", "Expecting ',' delimiter: line 1 column 212 (char 211)", None),
    ("KeyError", "'total_amount'", None),
)


# -- requests ------------------------------------------------------------------------------------
def _kv(key: str, value: str | int | float | bool) -> KeyValue:
    if isinstance(value, bool):
        return KeyValue(key=key, value=AnyValue(bool_value=value))
    if isinstance(value, int):
        return KeyValue(key=key, value=AnyValue(int_value=value))
    if isinstance(value, float):
        return KeyValue(key=key, value=AnyValue(double_value=value))
    return KeyValue(key=key, value=AnyValue(string_value=value))


class _Traces:
    """Generates an agent's traces as an exporter would send them: each span once it has ended."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.clock = time.time_ns() - 3_600 * 10**9

    def text(self, words: int) -> str:
        return " ".join(self.rng.choice(WORDS) for _ in range(words))

    def span(
        self, trace_id: bytes, parent: bytes, name: str, start: int, ms: float, kind: int
    ) -> Span:
        return Span(
            trace_id=trace_id,
            span_id=self.rng.randbytes(8),
            parent_span_id=parent,
            name=name,
            kind=kind,  # type: ignore[arg-type]
            start_time_unix_nano=start,
            end_time_unix_nano=start + int(ms * 1e6),
        )

    def fail(self, span: Span) -> None:
        etype, message, status = self.rng.choice(ERRORS)
        span.status.CopyFrom(Status(code=Status.StatusCode.STATUS_CODE_ERROR, message=message))
        span.attributes.append(_kv(sc.ERROR_TYPE, etype))
        if status is not None:
            span.attributes.append(_kv(sc.HTTP_RESPONSE_STATUS_CODE, status))
        event = span.events.add(name=sc.EXCEPTION_EVENT, time_unix_nano=span.end_time_unix_nano)
        event.attributes.extend(
            [
                _kv(sc.EXCEPTION_TYPE, etype),
                _kv(sc.EXCEPTION_MESSAGE, message),
                _kv(
                    sc.EXCEPTION_STACKTRACE,
                    "Traceback (most recent call last):\n"
                    + "".join(
                        f'  File "/app/agent/{w}.py", line {self.rng.randint(10, 900)}, in {w}\n'
                        for w in self.rng.sample(WORDS, 6)
                    )
                    + f"{etype}: {message}",
                ),
            ]
        )

    def trace(self) -> list[Span]:
        """One run: its children in the order they end, the run span last."""
        rng = self.rng
        trace_id = rng.randbytes(16)
        self.clock += rng.randint(5, 50) * 10**6
        start = self.clock
        run = self.span(trace_id, b"", "agent.run", start, 0, Span.SpanKind.SPAN_KIND_INTERNAL)
        children: list[Span] = []
        at = start + 1_000_000
        failed = False
        for index in range(rng.randint(7, 11)):
            kind = rng.choice(("llm", "llm", "tool", "http", "step"))
            ms = rng.uniform(5, 900)
            if kind == "llm":
                span = self.span(
                    trace_id, run.span_id, "chat", at, ms, Span.SpanKind.SPAN_KIND_CLIENT
                )
                model = rng.choice(MODELS)
                span.attributes.extend(
                    [
                        _kv(sc.GEN_AI_OPERATION_NAME, "chat"),
                        _kv(sc.GEN_AI_PROVIDER_NAME, "openai"),
                        _kv(sc.GEN_AI_REQUEST_MODEL, model),
                        _kv(sc.GEN_AI_RESPONSE_MODEL, model + "-2025-04-14"),
                        _kv(sc.GEN_AI_USAGE_INPUT_TOKENS, rng.randint(200, 8000)),
                        _kv(sc.GEN_AI_USAGE_OUTPUT_TOKENS, rng.randint(20, 900)),
                        _kv(sc.SERVER_ADDRESS, "api.openai.com"),
                        _kv(sc.INPUT_VALUE, self.text(105)),
                        _kv(sc.OUTPUT_VALUE, self.text(50)),
                    ]
                )
            elif kind == "tool":
                tool = rng.choice(TOOLS)
                span = self.span(
                    trace_id, run.span_id, tool, at, ms, Span.SpanKind.SPAN_KIND_INTERNAL
                )
                span.attributes.extend(
                    [
                        _kv(sc.GEN_AI_OPERATION_NAME, "execute_tool"),
                        _kv(sc.GEN_AI_TOOL_NAME, tool),
                        _kv(sc.INPUT_VALUE, json.dumps({"query": self.text(20), "top_k": 5})),
                        _kv(sc.OUTPUT_VALUE, self.text(90)),
                    ]
                )
            elif kind == "http":
                host = rng.choice(HOSTS)
                span = self.span(
                    trace_id, run.span_id, "POST", at, ms, Span.SpanKind.SPAN_KIND_CLIENT
                )
                span.attributes.extend(
                    [
                        _kv("http.request.method", "POST"),
                        _kv(sc.URL_FULL, f"https://{host}/v1/{rng.choice(WORDS)}?page={index}"),
                        _kv(sc.SERVER_ADDRESS, host),
                        _kv("server.port", 443),
                        _kv(sc.HTTP_RESPONSE_STATUS_CODE, 200),
                        _kv("http.request.body.size", rng.randint(100, 90_000)),
                        _kv("http.response.body.size", rng.randint(100, 90_000)),
                        _kv("user_agent.original", "python-httpx/0.28.1"),
                        _kv(sc.HTTP_RESEND_COUNT, rng.choice((0, 0, 0, 1))),
                        _kv("network.protocol.version", "1.1"),
                        _kv("http.request.header.content-type", "application/json"),
                        _kv("request.summary", self.text(130)),
                    ]
                )
            else:
                span = self.span(
                    trace_id, run.span_id, "parse_fields", at, ms, Span.SpanKind.SPAN_KIND_INTERNAL
                )
                span.attributes.extend(
                    [
                        _kv(sc.KIND, sc.KIND_STEP),
                        _kv(sc.OUTPUT_PREFIX + "total", f"${rng.randint(1, 9)},{index}00.00"),
                        _kv(sc.OUTPUT_SHAPE_PREFIX + "total", "$9,999.99"),
                        _kv(sc.OUTPUT_PREFIX + "due_date", "2025-03-01"),
                        _kv(sc.OUTPUT_SHAPE_PREFIX + "due_date", "9999-99-99"),
                        _kv(sc.CHECK_PREFIX + "schema", "pass"),
                        _kv(sc.INPUT_VALUE, self.text(140)),
                    ]
                )
            if rng.random() < 0.03:
                self.fail(span)
                failed = True
            span.attributes.append(_kv("code.function", f"agent.{rng.choice(WORDS)}"))
            children.append(span)
            at = span.end_time_unix_nano + rng.randint(1, 5) * 10**6
        run.end_time_unix_nano = at
        run.attributes.extend(
            [
                _kv(sc.KIND, sc.KIND_RUN),
                _kv(sc.INPUT_VALUE, self.text(100)),
                _kv(sc.OUTPUT_VALUE, self.text(30)),
                _kv(sc.INPUT_PREFIX + "size_bytes", rng.randint(1_000, 4_000_000)),
                _kv(sc.INPUT_PREFIX + "pages", rng.randint(1, 40)),
                _kv(sc.INPUT_PREFIX + "language", rng.choice(("en", "de", "fr"))),
                _kv(sc.INPUT_PREFIX + "text_chars_per_page", rng.uniform(0, 3000)),
                _kv(sc.CHECK_PREFIX + "totals_match", "pass" if rng.random() > 0.1 else "fail"),
            ]
        )
        if failed and rng.random() < 0.5:
            run.status.code = Status.StatusCode.STATUS_CODE_ERROR
        children.sort(key=lambda s: s.end_time_unix_nano)
        return [*children, run]


def build_requests(
    count: int, seed: int = 7, per_request: int = SPANS_PER_REQUEST
) -> tuple[list[bytes], int]:
    """`count` encoded requests of `per_request` spans, and how many traces (listed runs) they
    touch."""
    rng = random.Random(seed)
    traces = _Traces(rng)
    resources = []
    for number, agent in enumerate(AGENTS):
        resource = ResourceSpans()
        resource.resource.attributes.extend(
            [
                _kv(sc.SERVICE_NAME, agent),
                _kv(sc.SERVICE_VERSION, f"1.{number}.0"),
                _kv(sc.AGENT, agent),
                _kv(sc.AGENT_VERSION, f"1.{number}.0"),
                _kv(sc.DEPLOYMENT_ENVIRONMENT_NAME, "production"),
                _kv("telemetry.sdk.language", "python"),
                _kv("telemetry.sdk.name", "opentelemetry"),
                _kv("telemetry.sdk.version", "1.38.0"),
                _kv("host.name", f"worker-{number}"),
                _kv("process.pid", 4000 + number),
            ]
        )
        resources.append(resource)
    bodies: list[bytes] = []
    pending: list[Span] = []
    sent: set[bytes] = set()
    while len(bodies) < count:
        while len(pending) < per_request:
            pending.extend(traces.trace())
        chunk, pending = pending[:per_request], pending[per_request:]
        sent.update(span.trace_id for span in chunk)
        request = ExportTraceServiceRequest()
        resource_spans = request.resource_spans.add()
        resource_spans.CopyFrom(resources[len(bodies) % len(resources)])
        scope = resource_spans.scope_spans.add()
        scope.scope.name = "firstwatch.bench"
        scope.spans.extend(chunk)
        bodies.append(request.SerializeToString())
    # The last trace may be cut short: its sent spans still list as one (incomplete) run.
    return bodies, len(sent)


# -- the server ----------------------------------------------------------------------------------
def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    folder: Path, store: Path, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], int, int, Path]:
    """A `firstwatch serve` on free ports; returns (process, HTTP port, gRPC port, log file)."""
    port, grpc_port = free_port(), free_port()
    log = folder / "server.log"
    cmd = [
        sys.executable,
        "-m",
        "firstwatch",
        "serve",
        "--store",
        str(store),
        "--port",
        str(port),
        "--grpc-port",
        str(grpc_port),
    ]
    with log.open("wb") as sink:
        process = subprocess.Popen(
            cmd, stdout=sink, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited {process.returncode}:\n{log.read_text()}")
        try:
            status, _ = _get(port, "/healthz")
            if status == 200:
                return process, port, grpc_port, log
        except OSError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"server did not start:\n{log.read_text()}")


def _get(port: int, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def metric(port: int, name: str) -> float:
    """One unlabelled value from `/metrics`."""
    status, body = _get(port, "/metrics")
    text = body.decode(errors="replace")
    if status != 200:
        raise RuntimeError(f"/metrics answered {status}: {text[:500]}")
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise RuntimeError(f"/metrics has no {name}")


def listed_runs(port: int) -> int:
    """Runs the API lists, summed over agents."""
    _, body = _get(port, "/api/v1/agents")
    return sum(int(a["runs"]) for a in json.loads(body)["agents"])


def proc_status(pid: int, field: str) -> int:
    """A kB figure from /proc/<pid>/status (VmHWM, VmRSS)."""
    return proc_statuses(pid, field)[field]


def proc_statuses(pid: int, *fields: str) -> dict[str, int]:
    """kB figures from one read of /proc/<pid>/status."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in fields:
            found[name] = int(value.split()[0])
    missing = set(fields) - found.keys()
    if missing:
        raise KeyError(", ".join(sorted(missing)))
    return found


class MemorySampler:
    """A process's RSS and RssAnon, sampled every `every_s` between `start` and `stop`: /proc
    keeps a high-water mark (VmHWM) only of the whole RSS, which also counts the pages of shared
    libraries the process has touched, and says nothing of how long the peak lasted. Samples taken
    while `loaded` is set make the RSS percentiles under load."""

    def __init__(self, pid: int, every_s: float = 0.02) -> None:
        self.pid = pid
        self.every_s = every_s
        self.peak_anon_kb = 0
        self.loaded = threading.Event()
        self.rss_under_load_kb: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def start(self) -> None:
        """Start sampling in a thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop sampling and wait for the thread."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def rss_percentile_mb(self, q: float) -> float:
        """The `q`th percentile (0-100) of the RSS sampled under load, in MB."""
        if not self.rss_under_load_kb:
            return float("nan")
        ordered = sorted(self.rss_under_load_kb)
        return ordered[min(len(ordered) - 1, int(len(ordered) * q / 100))] / 1024

    def _sample(self) -> None:
        while not self._stop.is_set():
            try:
                now = proc_statuses(self.pid, "VmRSS", "RssAnon")
            except (OSError, KeyError):  # the process has ended
                return
            self.peak_anon_kb = max(self.peak_anon_kb, now["RssAnon"])
            if self.loaded.is_set():
                self.rss_under_load_kb.append(now["VmRSS"])
            self._stop.wait(self.every_s)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def preload(store: Path, spans: int) -> float:
    """Fill a fresh store with `spans` synthetic spans of 10-span traces, with runs and steps,
    received over the past 30 days; returns the seconds it took."""
    import duckdb

    from firstwatch.store import duckdb as store_module

    started = time.perf_counter()
    store_module.DuckDBStore(store).close()  # the server's tables
    con = duckdb.connect(config={"memory_limit": "4GB"})
    # As the server attaches the file (versions before row groups were set used the default).
    rows = getattr(store_module, "ROW_GROUP_SIZE", None)
    con.execute(f"ATTACH '{store}' AS store" + (f" (ROW_GROUP_SIZE {rows})" if rows else ""))
    con.execute("USE store")
    span_ns = 30 * 86_400 * 10**9 // spans
    base = time.time_ns() - 30 * 86_400 * 10**9
    trace = (
        "lower(lpad(to_hex(hash(i // 10)), 16, '0') || lpad(to_hex(hash(i // 10 + 1)), 16, '0'))"
    )
    span = "lower(lpad(to_hex(hash(i + 7)), 16, '0'))"
    parent = "lower(lpad(to_hex(hash((i // 10) * 10 + 7)), 16, '0'))"
    con.execute(
        f"""
        INSERT INTO spans BY NAME
        SELECT 'default' AS project, {trace} AS trace_id, {span} AS span_id,
            CASE WHEN i % 10 = 0 THEN NULL ELSE {parent} END AS parent_span_id,
            CASE WHEN i % 10 = 0 THEN 'agent.run' ELSE 'chat' END AS name,
            1::TINYINT AS span_kind, CASE WHEN i % 10 = 0 THEN 'run' ELSE 'llm' END AS kind,
            i % 10 = 0 AS agent_marked, {base} + i * {span_ns}::BIGINT AS start_ns,
            {base} + i * {span_ns}::BIGINT + 500000000 AS end_ns, 500.0 AS duration_ms,
            'ok' AS status, NULL AS status_message, NULL AS error_type, NULL AS error_message,
            NULL AS error_class, 'preloaded' AS agent, '1.0.0' AS version,
            'production' AS environment, 'preloaded' AS service,
            CASE WHEN i % 10 = 0 THEN NULL ELSE 'openai' END AS dependency,
            NULL::INTEGER AS http_status, NULL::INTEGER AS retry_count,
            NULL::DOUBLE AS retry_wait_ms, 'gpt-4o-mini' AS model,
            (i % 5000)::BIGINT AS input_tokens, (i % 700)::BIGINT AS output_tokens,
            NULL AS resource_key, NULL AS resource_op,
            left(repeat(md5(i::VARCHAR) || ' ', 12), 400) AS input_preview,
            left(repeat(md5((i + 1)::VARCHAR) || ' ', 6), 200) AS output_preview,
            '{{"input.value": "' || repeat(md5(i::VARCHAR) || ' ', 20) || '"}}' AS attributes,
            '{{"service.name": "preloaded"}}' AS resource, NULL AS events,
            {base} + (i // 10 + 1) * 10 * {span_ns}::BIGINT AS received_ns
        FROM range({spans}) t(i)
        """
    )
    con.execute(
        """
        INSERT INTO runs BY NAME SELECT project, trace_id, span_id, name, agent, version,
            environment, start_ns, end_ns + 9000000 AS end_ns, duration_ms + 9 AS duration_ms,
            status, TRUE AS complete, 9 AS step_count, 0 AS error_step_count, 0 AS retry_count,
            0.0 AS retry_wait_ms, input_preview, output_preview
        FROM spans WHERE agent_marked
        """
    )
    step_columns = {
        row[0]
        for row in con.execute(
            "SELECT column_name FROM duckdb_columns() WHERE table_name = 'steps'"
        ).fetchall()
    }
    steps = ", ".join(
        f"{source} AS {name}"
        for name, source in (
            *((c, c) for c in ("project", "trace_id", "span_id", "parent_span_id", "name")),
            ("run_span_id", "parent_span_id"),
            *((c, c) for c in ("kind", "agent", "version", "environment", "start_ns")),
            *((c, c) for c in ("end_ns", "duration_ms", "status", "dependency", "model")),
            *((c, c) for c in ("input_tokens", "output_tokens")),
        )
        if name in step_columns  # older versions lack some
    )
    con.execute(f"INSERT INTO steps BY NAME SELECT {steps} FROM spans WHERE NOT agent_marked")
    # Opening the store again keys and indexes the traces it finds without an index.
    con.execute("DROP TABLE IF EXISTS trace_index")
    con.close()
    store_module.DuckDBStore(store).close()
    return time.perf_counter() - started


# -- the load process ----------------------------------------------------------------------------
def _write_bodies(path: Path, bodies: list[bytes]) -> None:
    with path.open("wb") as out:
        for body in bodies:
            out.write(struct.pack("<I", len(body)))
            out.write(body)


def _read_bodies(path: Path) -> list[bytes]:
    data = path.read_bytes()
    bodies = []
    at = 0
    while at < len(data):
        (size,) = struct.unpack_from("<I", data, at)
        bodies.append(data[at + 4 : at + 4 + size])
        at += 4 + size
    return bodies


def load(
    port: int,
    transport: str,
    bodies_path: str,
    connections: int,
    pace_s: float,
    ready: EventType,
    go: EventType,
    out: Any,
) -> None:
    """Post every body once over `connections` keep-alive connections (run in its own process),
    to OTLP/HTTP at `port` or, with `transport` "grpc", to OTLP/gRPC there, each connection
    waiting `pace_s` after each answer.

    A 503 (gRPC: UNAVAILABLE) is retried after its Retry-After (RetryInfo), as an exporter would.
    Sends (start, end, statuses).
    """
    bodies = _read_bodies(Path(bodies_path))
    next_index = iter(range(len(bodies)))
    lock = threading.Lock()
    statuses: dict[str, int] = {}
    headers = {"Content-Type": "application/x-protobuf"}

    def post_http() -> Callable[[bytes], tuple[str, float | None]]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

        def post(body: bytes) -> tuple[str, float | None]:
            nonlocal conn
            try:
                conn.request("POST", "/v1/traces", body, headers)
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                return "error", None
            retry_after = response.getheader("Retry-After")
            return str(response.status), float(retry_after) if retry_after else None

        return post

    def post_grpc() -> Callable[[bytes], tuple[str, float | None]]:
        # A connection of its own, as each exporting process has (channels share one by default).
        channel = grpc.insecure_channel(
            f"127.0.0.1:{port}", options=[("grpc.use_local_subchannel_pool", 1)]
        )
        export = channel.unary_unary(GRPC_EXPORT)

        def post(body: bytes) -> tuple[str, float | None]:
            try:
                export(body, timeout=120)
            except grpc.RpcError as exc:
                trailer = dict(exc.trailing_metadata() or ()).get("google.rpc.retryinfo-bin")
                delay = RetryInfo.FromString(trailer).retry_delay.seconds if trailer else None
                return exc.code().name, delay
            return "OK", None

        return post

    def worker() -> None:
        post = post_grpc() if transport == "grpc" else post_http()
        while True:
            with lock:
                index = next(next_index, None)
            if index is None:
                break
            for _ in range(100):
                status, retry_after = post(bodies[index])
                with lock:
                    statuses[status] = statuses.get(status, 0) + 1
                if status in ("200", "OK"):
                    break
                time.sleep(retry_after or 0.2)
            time.sleep(pace_s)

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    ready.set()
    go.wait()
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out.put((started, time.monotonic(), statuses))


# -- the run -------------------------------------------------------------------------------------
@dataclass
class Result:
    """What one run measured."""

    spans: int
    acked_s: float
    end_to_end_s: float
    peak_rss_mb: float
    peak_anon_mb: float
    rss_p50_mb: float
    rss_p99_mb: float
    server_cpu_s: float
    other_load: float
    statuses: dict[str, int]


def run(
    bodies_path: Path,
    spans: int,
    runs: int,
    *,
    connections: int,
    transport: str,
    pace_s: float,
    stored_spans: int,
    env: dict[str, str],
    profile: Path | None,
) -> Result:
    """One measured run against a fresh server and store; see the module docstring."""
    with tempfile.TemporaryDirectory(prefix="fw-bench-") as tmp:
        folder = Path(tmp)
        store = folder / "store.duckdb"
        if stored_spans:
            took = preload(store, stored_spans)
            print(f"preloaded {stored_spans} spans in {took:.1f} s", flush=True)
        process, port, grpc_port, log = start_server(folder, store, env)
        spy = None
        memory = MemorySampler(process.pid)
        memory.start()
        try:
            base_spans = metric(port, "firstwatch_spans_applied_total")
            base_runs = listed_runs(port)
            ctx = mp.get_context("spawn")
            ready, go, out = ctx.Event(), ctx.Event(), ctx.Queue()
            # A daemon, so that it cannot outlive the benchmark waiting for `go` if a step fails.
            loader = ctx.Process(
                target=load,
                args=(
                    grpc_port if transport == "grpc" else port,
                    transport,
                    str(bodies_path),
                    connections,
                    pace_s,
                    ready,
                    go,
                    out,
                ),
                daemon=True,
            )
            loader.start()
            if not ready.wait(120):
                raise RuntimeError("the load process did not start")
            other_load = os.getloadavg()[0]
            cpu_before = cpu_seconds(process.pid)
            if profile is not None:
                form = {".txt": "raw", ".json": "speedscope"}.get(profile.suffix, "flamegraph")
                spy = subprocess.Popen(
                    [
                        *(py_spy(), "record", "--pid", str(process.pid), "--output", str(profile)),
                        *("--format", form, "--rate", "200", "--threads", "--gil", "--nonblocking"),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                time.sleep(1)
            go.set()
            memory.loaded.set()
            begin = time.monotonic()
            while metric(port, "firstwatch_spans_applied_total") - base_spans < spans:
                if process.poll() is not None:
                    raise RuntimeError(f"server exited:\n{log.read_text()}")
                if time.monotonic() - begin > 1800:
                    raise RuntimeError("not all spans were applied within 30 minutes")
                time.sleep(0.05)
            while listed_runs(port) - base_runs < runs:
                if time.monotonic() - begin > 1800:
                    raise RuntimeError("not every run was listed within 30 minutes")
                time.sleep(0.05)
            done = time.monotonic()
            memory.loaded.clear()
            load_started, load_ended, statuses = out.get(timeout=60)
            loader.join(60)
            cpu = cpu_seconds(process.pid) - cpu_before
            peak_kb = proc_status(process.pid, "VmHWM")
            if spy is not None:
                spy.send_signal(signal.SIGINT)
                spy.wait(120)
        finally:
            memory.stop()
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(120)
            except subprocess.TimeoutExpired:
                process.kill()
    return Result(
        spans=spans,
        acked_s=load_ended - load_started,
        end_to_end_s=done - load_started,
        peak_rss_mb=peak_kb / 1024,
        peak_anon_mb=memory.peak_anon_kb / 1024,
        rss_p50_mb=memory.rss_percentile_mb(50),
        rss_p99_mb=memory.rss_percentile_mb(99),
        server_cpu_s=cpu,
        other_load=other_load,
        statuses=statuses,
    )


def py_spy() -> str:
    """The py-spy beside this interpreter (a virtual environment's), or on PATH."""
    beside = Path(sys.executable).with_name("py-spy")
    found = str(beside) if beside.exists() else shutil.which("py-spy")
    if found is None:
        raise SystemExit("--profile needs py-spy: pip install py-spy")
    return found


def python_loop_s(steps: int = 20_000_000) -> float:
    """Seconds one core takes for a plain Python loop: how fast the machine is right now, so that
    runs on a busier or slower machine can be told apart (the same code took a third more CPU a
    span in a busy hour)."""
    started = time.perf_counter()
    total = 0
    for i in range(steps):
        total += i
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=400, help="requests to post")
    parser.add_argument(
        "--spans-per-request",
        type=int,
        default=SPANS_PER_REQUEST,
        help="spans in each request (an exporter's batch; 512 by default)",
    )
    parser.add_argument(
        "--pace-ms",
        type=float,
        default=0.0,
        help="milliseconds each connection waits after each answer (default 0: as fast as the "
        "server answers)",
    )
    parser.add_argument("--connections", type=int, default=8, help="keep-alive connections")
    parser.add_argument(
        "--transport",
        choices=("http", "grpc"),
        default="http",
        help="OTLP/HTTP (default) or OTLP/gRPC, a channel for each connection",
    )
    parser.add_argument(
        "--stored-spans", type=int, default=0, help="spans in the store before each run"
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs, each on a fresh server")
    parser.add_argument(
        "--duckdb-memory-limit",
        default=None,
        help="the server's duckdb_memory_limit setting (default: the server's default)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="record the server's GIL holder with py-spy into this file (.svg flame graph, .txt "
        "collapsed stacks, .json speedscope)",
    )
    args = parser.parse_args()
    if args.profile is not None:
        py_spy()  # fail now, not after building the requests
    print(f"machine speed: a 20-million-step Python loop takes {python_loop_s():.2f} s", flush=True)
    env = {}
    if args.duckdb_memory_limit:
        env["FIRSTWATCH_DUCKDB_MEMORY_LIMIT"] = args.duckdb_memory_limit
    started = time.perf_counter()
    bodies, runs = build_requests(args.requests, per_request=args.spans_per_request)
    spans = args.requests * args.spans_per_request
    size = sum(map(len, bodies))
    print(
        f"built {args.requests} requests, {spans} spans, {runs} runs, "
        f"{size / spans:.0f} bytes a span, in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    results = []
    with tempfile.TemporaryDirectory(prefix="fw-bench-bodies-") as tmp:
        bodies_path = Path(tmp) / "bodies.bin"
        _write_bodies(bodies_path, bodies)
        del bodies
        for _ in range(args.repeat):
            results.append(
                run(
                    bodies_path,
                    spans,
                    runs,
                    connections=args.connections,
                    transport=args.transport,
                    pace_s=args.pace_ms / 1000,
                    stored_spans=args.stored_spans,
                    env=env,
                    profile=args.profile,
                )
            )
    print()
    print(
        f"{'stored':>9} {'spans':>8} {'conns':>5} {'acked/s':>8} {'end-to-end/s':>12} "
        f"{'peak RSS MB':>11} {'of it anon':>10} {'RSS p50/p99':>11} {'CPU µs/span':>11} "
        f"{'other load':>10}  statuses"
    )
    for result in results:
        statuses = " ".join(f"{code}×{n}" for code, n in sorted(result.statuses.items()))
        print(
            f"{args.stored_spans:>9} {result.spans:>8} {args.connections:>5} "
            f"{result.spans / result.acked_s:>8,.0f} {result.spans / result.end_to_end_s:>12,.0f} "
            f"{result.peak_rss_mb:>11.0f} {result.peak_anon_mb:>10.0f} "
            f"{f'{result.rss_p50_mb:.0f}/{result.rss_p99_mb:.0f}':>11} "
            f"{result.server_cpu_s * 1e6 / result.spans:>11.0f} "
            f"{result.other_load:>10.1f}  {statuses}"
        )


if __name__ == "__main__":
    main()
