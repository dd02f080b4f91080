"""SDK overhead: µs per span on the agent's hot path, and spans dropped in bursts.

Compares the firstwatch SDK with the bare OpenTelemetry SDK (TracerProvider, BatchSpanProcessor
and the OTLP/HTTP exporter with their default settings), both exporting to the same local OTLP
receiver running in a subprocess. The hot path is what the agent's thread pays: creating,
entering, leaving and queueing spans while the exporter works in the background.

    python bench/sdk_overhead.py [--spans 20000] [--repeat 5] [--burst 50000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

REPORT = "firstwatch.sdk.report"
STEPS_PER_RUN = 9  # a run of 10 spans: the run and 9 steps


# -- the receiver (runs in its own process) ---------------------------------------------------


def serve(port_file: str) -> None:
    """A minimal OTLP/HTTP receiver counting spans (and the largest drop count reported)."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
        ExportTraceServiceResponse,
    )

    state = {"spans": 0, "reported_dropped": 0}
    ok = ExportTraceServiceResponse().SerializeToString()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            request = ExportTraceServiceRequest()
            request.ParseFromString(self.rfile.read(int(self.headers["Content-Length"])))
            for rs in request.resource_spans:
                for ss in rs.scope_spans:
                    for span in ss.spans:
                        if span.name == REPORT:
                            for a in span.attributes:
                                if a.key == "firstwatch.sdk.dropped_spans":
                                    state["reported_dropped"] = max(
                                        state["reported_dropped"], a.value.int_value
                                    )
                        else:
                            state["spans"] += 1
            self._answer(200, ok, "application/x-protobuf")

        def do_GET(self) -> None:
            if self.path == "/reset":
                state.update(spans=0, reported_dropped=0)
            self._answer(200, json.dumps(state).encode(), "application/json")

        def _answer(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    with open(port_file, "w") as f:
        f.write(str(server.server_address[1]))
    server.serve_forever()


class Receiver:
    """The receiver subprocess, seen from the benchmark."""

    def __init__(self, tmp: str) -> None:
        port_file = f"{tmp}/port"
        self.process = subprocess.Popen([sys.executable, __file__, "--serve", port_file])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with open(port_file) as f:
                    port = f.read().strip()
                if port:
                    break
            except FileNotFoundError:
                pass
            time.sleep(0.05)
        else:
            raise RuntimeError("the receiver did not start")
        self.url = f"http://127.0.0.1:{port}"

    def state(self, path: str = "/count") -> dict[str, int]:
        with urllib.request.urlopen(self.url + path, timeout=10) as response:
            result: dict[str, int] = json.loads(response.read())
            return result

    def settle(self, timeout: float = 120.0) -> dict[str, int]:
        """Wait until the span count stops moving (bounded), then return the state."""
        deadline = time.monotonic() + timeout
        last = self.state()
        while time.monotonic() < deadline:
            time.sleep(0.5)
            now = self.state()
            if now == last:
                return now
            last = now
        return last

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(10)


# -- the two contenders -----------------------------------------------------------------------


def discarding_exporter() -> Any:
    """An exporter that drops every batch at once: the hot path without export work."""
    from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

    class Discard(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    return Discard()


class Bare:
    """The bare OpenTelemetry SDK with its default batch settings."""

    name = "bare OpenTelemetry SDK"

    def __init__(self, url: str | None) -> None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        self.provider = TracerProvider(
            resource=Resource.create({"service.name": "bench"}), shutdown_on_exit=False
        )
        exporter = OTLPSpanExporter(endpoint=f"{url}/v1/traces") if url else discarding_exporter()
        self.provider.add_span_processor(BatchSpanProcessor(exporter))
        self.tracer = self.provider.get_tracer("bench")

    def plain(self, runs: int) -> None:
        tracer = self.tracer
        for _ in range(runs):
            with tracer.start_as_current_span("run"):
                for _ in range(STEPS_PER_RUN):
                    with tracer.start_as_current_span("step"):
                        pass

    def rich(self, runs: int) -> None:
        tracer = self.tracer
        for i in range(runs):
            with tracer.start_as_current_span("run") as run:
                for j in range(STEPS_PER_RUN):
                    with tracer.start_as_current_span("step") as step:
                        # The same attributes firstwatch writes, computed by hand beforehand.
                        step.set_attribute("firstwatch.output.date", "2024-03-01")
                        step.set_attribute("firstwatch.output.shape.date", "str:9999-99-99")
                        step.set_attribute("firstwatch.output.n", str(j))
                        step.set_attribute("firstwatch.output.shape.n", "int:9")
                run.set_attribute("firstwatch.check.ok", "pass" if i % 2 else "fail")

    def close(self) -> None:
        self.provider.force_flush()
        self.provider.shutdown()


class Ours:
    """The firstwatch SDK with its default settings."""

    name = "firstwatch SDK"

    def __init__(self, url: str | None) -> None:
        import firstwatch

        self.fw = firstwatch
        if url:
            firstwatch.init(agent="bench", endpoint=url, instrument_http=False)
        else:
            firstwatch.init(agent="bench", exporter=discarding_exporter(), instrument_http=False)

    def plain(self, runs: int) -> None:
        fw = self.fw
        for _ in range(runs):
            with fw.run() as run:
                for _ in range(STEPS_PER_RUN):
                    with run.step("step"):
                        pass

    def rich(self, runs: int) -> None:
        fw = self.fw
        for i in range(runs):
            with fw.run() as run:
                for j in range(STEPS_PER_RUN):
                    with run.step("step") as step:
                        step.output(date="2024-03-01", n=j)
                run.check("ok", i % 2)

    def dropped(self) -> int:
        from firstwatch.sdk import lifecycle

        pipeline = lifecycle._pipeline
        return int(pipeline.processor.drops.total) if pipeline is not None else -1

    def close(self) -> None:
        self.fw.flush(timeout=120)
        self.fw.shutdown(timeout=10)


# -- measurements -----------------------------------------------------------------------------


def per_span_us(work: Callable[[int], None], spans: int) -> float:
    runs = spans // (STEPS_PER_RUN + 1)
    start = time.perf_counter()
    work(runs)
    return (time.perf_counter() - start) / (runs * (STEPS_PER_RUN + 1)) * 1e6


SHAPES = ("plain", "rich", "plain, discarding", "rich, discarding")


def hot_path(receiver: Receiver, spans: int, repeat: int) -> dict[str, dict[str, list[float]]]:
    """µs per span, interleaving the contenders so drift in the machine hits both alike.

    With the OTLP exporter the worker thread competes for the GIL, as in an agent; with a
    discarding exporter what remains is the SDK's own work on the agent's thread.
    """
    results: dict[str, dict[str, list[float]]] = {}
    for _ in range(repeat):
        for kind in (Bare, Ours):
            for shape in SHAPES:
                work, _, discarding = shape.partition(", ")
                contender = kind(None if discarding else receiver.url)
                per_span_us(getattr(contender, work), 2_000)  # warm up
                value = per_span_us(getattr(contender, work), spans)
                contender.close()
                results.setdefault(kind.name, {}).setdefault(shape, []).append(value)
                receiver.settle(timeout=60)
    return results


def bursts(receiver: Receiver, burst: int) -> dict[str, dict[str, int]]:
    """One burst as fast as the agent can go; how many spans arrive."""
    out: dict[str, dict[str, int]] = {}
    for kind in (Bare, Ours):
        receiver.settle(timeout=60)
        receiver.state("/reset")
        contender = kind(receiver.url)
        contender.plain(burst // (STEPS_PER_RUN + 1))
        counted = contender.dropped() if isinstance(contender, Ours) else -1
        contender.close()
        state = receiver.settle()
        out[kind.name] = {
            "sent": burst,
            "received": state["spans"],
            "dropped": burst - state["spans"],
            "counted_by_sdk": counted,
            "reported_to_server": state["reported_dropped"],
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=20_000, help="spans per timing")
    parser.add_argument("--repeat", type=int, default=5, help="timings per contender")
    parser.add_argument("--burst", type=int, default=50_000, help="spans in the burst")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return

    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        receiver = Receiver(tmp)
        try:
            timings = hot_path(receiver, args.spans, args.repeat)
            burst = bursts(receiver, args.burst)
        finally:
            receiver.close()

    print(f"## Hot path: µs per span (median of {args.repeat} × {args.spans} spans; min–max)\n")
    print("Plain spans, and spans with two outputs each and a check per run; exporting over")
    print("OTLP/HTTP to a local receiver, or to an exporter that discards (no export work).\n")
    print("| case | bare OpenTelemetry SDK | firstwatch SDK | ratio |")
    print("| --- | --- | --- | --- |")
    for shape in SHAPES:
        cells = []
        medians = []
        for kind in (Bare, Ours):
            values = timings[kind.name][shape]
            medians.append(statistics.median(values))
            cells.append(f"{medians[-1]:.1f} ({min(values):.1f}–{max(values):.1f})")
        print(f"| {shape} | {cells[0]} | {cells[1]} | {medians[1] / medians[0]:.2f}× |")
    print()
    print(f"## Burst of {args.burst} spans with default settings\n")
    print("| SDK | received | dropped | counted by the SDK | reported to the server |")
    print("| --- | --- | --- | --- | --- |")
    for name, row in burst.items():
        counted = row["counted_by_sdk"] if row["counted_by_sdk"] >= 0 else "not counted"
        reported = row["reported_to_server"] if name == Ours.name else "not reported"
        print(f"| {name} | {row['received']} | {row['dropped']} | {counted} | {reported} |")


if __name__ == "__main__":
    main()
