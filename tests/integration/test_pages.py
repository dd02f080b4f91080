"""The dashboard's pages over HTTP: what they show, escaping, windows, errors and auth.

Real browser behaviour (clicking through, scripts not running) is in tests/browser.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from serverproc import ServerProcess, start_server, wait_for

pytestmark = pytest.mark.integration

PB = {"Content-Type": "application/x-protobuf"}
HOSTILE = "<invoice-agent>"
MS = 1_000_000


def _attrs(values: dict[str, str | int]) -> list[KeyValue]:
    return [
        KeyValue(
            key=key,
            value=AnyValue(int_value=v) if isinstance(v, int) else AnyValue(string_value=v),
        )
        for key, v in values.items()
    ]


def _trace(agent: str, trace: int, start_ns: int, failed: bool) -> bytes:
    """A run with a step and, under it, an HTTP call that failed (or not) with a 503."""
    trace_id = trace.to_bytes(16, "big")
    run, step, call = (bytes([trace, n]) + bytes(6) for n in (1, 2, 3))
    error = Status(code=Status.STATUS_CODE_ERROR if failed else Status.STATUS_CODE_OK)
    spans = [
        Span(
            trace_id=trace_id,
            span_id=run,
            name="process",
            start_time_unix_nano=start_ns,
            end_time_unix_nano=start_ns + 900 * MS,
            status=error,
            attributes=_attrs({"firstwatch.kind": "run", "firstwatch.agent": agent}),
        ),
        Span(
            trace_id=trace_id,
            span_id=step,
            parent_span_id=run,
            name="lookup <b>vendor</b>",
            start_time_unix_nano=start_ns + 100 * MS,
            end_time_unix_nano=start_ns + 800 * MS,
            status=error,
            attributes=_attrs({"firstwatch.kind": "step"}),
        ),
        Span(
            trace_id=trace_id,
            span_id=call,
            parent_span_id=step,
            name="GET /vendors",
            start_time_unix_nano=start_ns + 150 * MS,
            end_time_unix_nano=start_ns + 700 * MS,
            status=error,
            attributes=_attrs(
                {
                    "firstwatch.kind": "http",
                    "firstwatch.dependency": "registry",
                    "http.response.status_code": 503 if failed else 200,
                }
            ),
        ),
    ]
    if failed:
        spans[2].events.add(
            name="exception",
            time_unix_nano=start_ns + 700 * MS,
            attributes=_attrs(
                {
                    "exception.type": "httpx.HTTPStatusError",
                    "exception.message": "Server error '503 <Service Unavailable>' for url",
                }
            ),
        )
    resource = Resource(
        attributes=_attrs(
            {"service.name": "pages-test", "deployment.environment.name": "production"}
        )
    )
    return ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(resource=resource, scope_spans=[ScopeSpans(spans=spans)])]
    ).SerializeToString()


def _hex(trace: int) -> str:
    return trace.to_bytes(16, "big").hex()


def test_pages_show_agents_runs_and_steps_escaped(server: ServerProcess) -> None:
    now = time.time_ns()
    with server.client() as client:
        empty = client.get("/")
        assert empty.status_code == 200
        assert "No runs yet" in empty.text
        for n in range(1, 7):
            body = _trace(HOSTILE, n, now - n * 60 * 1_000_000_000, failed=n % 2 == 0)
            assert client.post("/v1/traces", content=body, headers=PB).status_code == 200
        old = _trace("archive-agent", 40, now - 3 * 3600 * 1_000_000_000, failed=False)
        assert client.post("/v1/traces", content=old, headers=PB).status_code == 200
        wait_for(
            lambda: len(client.get("/api/v1/runs", params={"limit": 10}).json()["runs"]) == 7,
            what="seven runs",
        )

        page = client.get("/")
        assert page.headers["content-type"].startswith("text/html")
        # Names are escaped, never injected; links carry them percent-encoded.
        assert "&lt;invoice-agent&gt;" in page.text and HOSTILE not in page.text
        assert f"/agents/{quote(HOSTILE, safe='')}?" in page.text
        row = re.search(r"<tr data-agent='&lt;invoice-agent&gt;'.*?</tr>", page.text)
        assert row is not None
        # Three of six runs failed: failing, with the class of the failed call.
        assert "badge failing" in row.group(0) and "upstream_unavailable" in row.group(0)
        assert "50%" in row.group(0)
        # No staging runs to compare with: drift says so rather than guess.
        assert "badge not_enough_data" in row.group(0)
        assert f"/runs/{_hex(2)}" in page.text
        # The last hour leaves out the run of three hours ago; a week keeps it.
        assert "archive-agent" not in client.get("/", params={"since": "1h"}).text
        assert "archive-agent" in client.get("/", params={"since": "7d"}).text

        agent = client.get(f"/agents/{quote(HOSTILE, safe='')}")
        assert agent.status_code == 200
        assert "<h1>&lt;invoice-agent&gt;</h1>" in agent.text
        errors = re.search(r"<tr data-class='upstream_unavailable'>.*?</tr>", agent.text)
        assert errors is not None
        assert "Server error &#x27;503 &lt;Service Unavailable&gt;&#x27; for url" in errors.group(0)
        assert "<tr data-dependency='registry'>" in agent.text
        assert agent.text.count(f"/runs/{_hex(2)}") >= 1

        run = client.get(f"/runs/{_hex(2)}")
        assert run.status_code == 200
        depths = re.findall(
            r"<tr class='step[^']*' data-span='([0-9a-f]+)'[^>]*data-depth='(\d)'", run.text
        )
        assert [d for _, d in depths] == ["0", "1", "2"]
        assert "lookup &lt;b&gt;vendor&lt;/b&gt;" in run.text and "<b>vendor</b>" not in run.text
        assert "HTTP 503" in run.text and "upstream_unavailable" in run.text


def test_pages_answer_bad_requests_with_a_page(server: ServerProcess) -> None:
    with server.client() as client:
        body = _trace("solo", 9, time.time_ns(), failed=False)
        assert client.post("/v1/traces", content=body, headers=PB).status_code == 200
        wait_for(lambda: client.get("/api/v1/runs").json()["runs"], what="the run")
        unreadable = client.get("/", params={"since": "last tuesday"})
        assert unreadable.status_code == 400 and "cannot read time" in unreadable.text
        assert client.get("/runs/not-a-trace").status_code == 400
        missing = client.get(f"/runs/{'ab' * 16}")
        assert missing.status_code == 404 and "no runs in trace" in missing.text
        assert client.get("/agents/nobody").status_code == 404
        assert client.get("/agents/solo", params={"cursor": "junk"}).status_code == 400
        assert client.get("/agents/solo", params={"status": "<x>"}).status_code == 400
        assert client.get("/agents/solo", params={"environment": "staging"}).status_code == 404
        for path in ("/", "/agents/solo", f"/runs/{_hex(9)}"):
            assert client.get(path).status_code == 200, path


def test_pages_need_a_read_key_when_keys_are_required(tmp_path: Path) -> None:
    proc = start_server(tmp_path, extra_args=("--require-keys",))
    try:
        admin_key = proc.admin_key()
        keys = proc.new_keys(admin_key, "acme", ("ingest", "read"))
        with proc.client(keys["ingest"]) as ingest:
            body = _trace("acme-agent", 5, time.time_ns(), failed=True)
            assert ingest.post("/v1/traces", content=body, headers=PB).status_code == 200
            for path in ("/", "/agents/acme-agent", f"/runs/{_hex(5)}"):
                assert ingest.get(path).status_code == 403, path
        with proc.client() as anonymous:
            for path in ("/", "/agents/acme-agent", f"/runs/{_hex(5)}"):
                refused = anonymous.get(path)
                # A browser without a key is sent to sign in, and sees nothing of the project.
                assert refused.status_code == 303, path
                assert refused.headers["location"] == "/login?" + urlencode({"next": path})
                if "acme-agent" not in path:  # the redirect's body links back to the path
                    assert "acme-agent" not in refused.text
        with proc.client(keys["read"]) as reader:
            page = wait_for(
                lambda: "acme-agent" in (r := reader.get("/")).text and r, what="acme's agent"
            )
            assert "project <b>acme</b>" in page.text
            assert reader.get(f"/runs/{_hex(5)}").status_code == 200
        with proc.client(admin_key) as admin:
            # The admin key belongs to 'default': acme's run is not shown there.
            assert "acme-agent" not in admin.get("/").text
    finally:
        proc.stop()
