"""The SDK against a real `firstwatch serve`: runs, steps, outputs, checks, resources, retries."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar

import pytest

from localhttp import serving
from serverproc import ServerProcess, wait_for

pytestmark = pytest.mark.integration


class _FlakyAPI(BaseHTTPRequestHandler):
    """Answers 429 with Retry-After the first time a path is called, then 200."""

    seen: ClassVar[set[str]] = set()
    lock: ClassVar[threading.Lock] = threading.Lock()

    def do_GET(self) -> None:
        with self.lock:
            first = self.path not in self.seen
            self.seen.add(self.path)
        if first:
            self.send_response(429)
            self.send_header("Retry-After", "0")
            self.end_headers()
            self.wfile.write(b'{"error": "rate limited"}')
        else:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"ok": true}')

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def flaky_api() -> Iterator[str]:
    with serving(_FlakyAPI) as url:
        yield url


AGENT = textwrap.dedent(
    """
    import sys, time, httpx, firstwatch

    api = sys.argv[1]
    firstwatch.init(agent="contract-extractor", version="1.1", environment="production")
    with firstwatch.run(input="This Agreement is made between Acme Corp and Beta LLC.") as run:
        with run.step("classify"):
            pass
        with run.step("extract") as step:
            with httpx.Client() as client:
                for attempt in range(3):
                    response = client.get(api + "/v1/extract")
                    if response.status_code != 429:
                        break
                    time.sleep(0.05)
            step.output(effective_date="2024-03-01", amount="$1,200.00")
        run.check("has_parties", True)
        run.check("date_is_iso", False, reason="got 03/01/2024")
        with run.resource("crm:acct-42", "read"):
            pass
        with run.resource("crm:acct-42", "write"):
            pass
        run.output(parties="Acme Corp; Beta LLC")
    try:
        with firstwatch.run(input="second") as run:
            with run.step("normalise"):
                raise KeyError("effective_date")
    except KeyError:
        pass
    firstwatch.shutdown()
    print("agent done")
    """
)


def test_sdk_runs_arrive_as_designed(server: ServerProcess, flaky_api: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", AGENT, flaky_api],
        env={**server.env, "FIRSTWATCH_ENDPOINT": server.url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "agent done" in done.stdout
    with server.client() as client:
        runs = wait_for(
            lambda: (r := client.get("/api/v1/runs").json()["runs"]) and len(r) == 2 and r,
            what="two runs",
        )
        by_status = {r["status"]: r for r in runs}
        ok, failed = by_status["ok"], by_status["error"]
        for run in runs:
            assert (run["agent"], run["version"], run["environment"]) == (
                "contract-extractor",
                "1.1",
                "production",
            )
        assert failed["error_class"] == "agent_bug"
        assert ok["retry_count"] >= 1 and ok["retry_wait_ms"] > 0

        detail = client.get(f"/api/v1/runs/{ok['trace_id']}").json()["runs"][0]
        attrs = detail["attributes"]
        assert attrs["firstwatch.kind"] == "run"
        assert attrs["firstwatch.output.parties"] == "Acme Corp; Beta LLC"
        assert attrs["firstwatch.check.has_parties"] == "pass"
        assert attrs["firstwatch.check.date_is_iso"] == "fail"
        assert attrs["firstwatch.check.date_is_iso.reason"] == "got 03/01/2024"
        assert attrs["firstwatch.input.text.language"] == "en"
        assert "firstwatch.input.text.chars" in attrs

        def flat(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
            out = []
            for s in steps:
                out.append(s)
                out.extend(flat(s["children"]))
            return out

        steps = flat(detail["steps"])
        names = [s["name"] for s in steps]
        assert {"classify", "extract"} <= set(names)
        extract = next(s for s in steps if s["name"] == "extract")
        assert extract["attributes"]["firstwatch.output.effective_date"] == "2024-03-01"
        assert extract["attributes"]["firstwatch.output.shape.effective_date"].endswith(
            "9999-99-99"
        )
        http = [s for s in steps if s["kind"] == "http"]
        assert [s["http_status"] for s in http] == [429, 200]
        assert all(s["dependency"] == "127.0.0.1" for s in http)
        assert http[0]["error_class"] == "rate_limited"
        assert http[1]["retry_count"] == 1 and http[1]["retry_wait_ms"] > 0
        resources = [s for s in steps if s["kind"] == "resource"]
        assert [(s["resource_key"], s["resource_op"]) for s in resources] == [
            ("crm:acct-42", "read"),
            ("crm:acct-42", "write"),
        ]

        bad = client.get(f"/api/v1/runs/{failed['trace_id']}").json()["runs"][0]
        (normalise,) = bad["steps"]
        assert normalise["name"] == "normalise"
        assert normalise["error_class"] == "agent_bug"
        assert normalise["error_type"] == "KeyError"
