"""The server needs no pyarrow: with it made impossible to import, spans still go in over OTLP
and come out of the run list, a run's tree and the input drift report."""

from __future__ import annotations

from pathlib import Path

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from serverproc import start_server, wait_for

RUNS = 12


def _emit(url: str, environment: str, pages: int, runs: int) -> None:
    provider = TracerProvider(
        resource=Resource.create({"deployment.environment.name": environment})
    )
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(f"{url}/v1/traces")))
    tracer = provider.get_tracer("test")
    for number in range(runs):
        attributes = {
            "firstwatch.kind": "run",
            "firstwatch.agent": "extractor",
            "firstwatch.input.doc.pages": pages + number % 3,
            "firstwatch.input.text.language": "en" if number % 2 else "de",
        }
        with (
            tracer.start_as_current_span("extract", attributes=attributes),
            tracer.start_as_current_span("llm", attributes={"firstwatch.kind": "llm"}),
        ):
            pass
    provider.shutdown()


def test_the_server_runs_without_pyarrow(tmp_path: Path) -> None:
    blocked = tmp_path / "blocked" / "pyarrow"
    blocked.mkdir(parents=True)
    (blocked / "__init__.py").write_text('raise ImportError("pyarrow is not installed here")\n')
    server = start_server(tmp_path, env={"PYTHONPATH": str(blocked.parent)})
    try:
        _emit(server.url, "staging", pages=2, runs=RUNS)
        _emit(server.url, "production", pages=9, runs=RUNS)
        with server.client() as api:
            listed = wait_for(
                lambda: (
                    len(runs := api.get("/api/v1/runs", params={"limit": 100}).json()["runs"])
                    == 2 * RUNS
                    and runs
                ),
                what="every run listed",
            )
            tree = api.get(f"/api/v1/runs/{listed[0]['trace_id']}")
            assert tree.status_code == 200, tree.text
            # Against the default baseline: the agent's staging runs.
            drift = api.get("/api/v1/drift", params={"agent": "extractor"})
            assert drift.status_code == 200, drift.text
            features = {f["feature"] for f in drift.json()["features"]}
            assert features == {"doc.pages", "text.language"}
        assert "Traceback" not in server.output()
    finally:
        server.stop()
