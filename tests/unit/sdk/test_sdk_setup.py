"""Settings, the no-op before init, the public names, and what importing the SDK costs."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys

import pytest

import firstwatch
from firstwatch.sdk import lifecycle
from firstwatch.sdk.config import DEFAULT_ENDPOINT, SdkSettings


def test_public_names_are_pinned() -> None:
    assert firstwatch.__all__ == [
        "ResourceAccess",
        "Run",
        "Step",
        "__version__",
        "agent",
        "current_run",
        "flush",
        "init",
        "retry",
        "run",
        "shutdown",
        "step",
    ]
    for name in firstwatch.__all__:
        assert getattr(firstwatch, name) is not None


def test_every_setting_is_declared_with_env_and_help() -> None:
    table = SdkSettings.declared()
    assert [s.name for s in table] == [
        "endpoint",
        "api_key",
        "agent",
        "version",
        "environment",
        "queue_mb",
        "send_inputs",
        "disabled",
        "instrument_http",
        "export_timeout",
        "exit_timeout",
    ]
    for setting in table:
        assert setting.env.startswith("FIRSTWATCH_"), setting.name
        assert setting.help.endswith("."), setting.name
        assert setting.type_name in {"str", "float", "bool"}
    defaults = SdkSettings.load(environ={})
    assert defaults.endpoint == DEFAULT_ENDPOINT == "http://127.0.0.1:4318"
    assert defaults.queue_mb == 64
    assert defaults.send_inputs is False
    assert defaults.disabled is False
    assert defaults.api_key is None


def test_argument_then_environment_then_default() -> None:
    env = {
        "FIRSTWATCH_ENDPOINT": "http://collector:9999/",
        "FIRSTWATCH_QUEUE_MB": "8",
        "FIRSTWATCH_SEND_INPUTS": "yes",
        "FIRSTWATCH_AGENT": "from-env",
        "FIRSTWATCH_AGENT_VERSION": "3",
    }
    resolved = SdkSettings.load({"agent": "from-arg", "queue_mb": 2}, environ=env)
    assert resolved.agent == "from-arg"
    assert resolved.version == "3"
    assert resolved.queue_mb == 2
    assert resolved.endpoint == "http://collector:9999"
    assert resolved.send_inputs is True
    assert resolved.environment is None


def test_bad_values_are_logged_and_skipped(caplog: pytest.LogCaptureFixture) -> None:
    env = {
        "FIRSTWATCH_QUEUE_MB": "lots",
        "FIRSTWATCH_ENDPOINT": "ftp://nowhere",
        "FIRSTWATCH_SEND_INPUTS": "maybe",
        "FIRSTWATCH_EXPORT_TIMEOUT": "-3",
        "FIRSTWATCH_EXIT_TIMEOUT": "nan",
    }
    with caplog.at_level(logging.WARNING, logger="firstwatch.sdk"):
        resolved = SdkSettings.load({"queue_mb": -1, "agent": 42}, environ=env)
    assert resolved.queue_mb == 64
    assert resolved.endpoint == DEFAULT_ENDPOINT
    assert resolved.send_inputs is False
    assert resolved.export_timeout == 30
    assert resolved.exit_timeout == 3
    assert resolved.agent is None
    logged = caplog.text
    for name in (
        "FIRSTWATCH_QUEUE_MB",
        "FIRSTWATCH_ENDPOINT",
        "argument queue_mb",
        "argument agent",
    ):
        assert name in logged
    # A bad argument falls back to a good environment value.
    assert SdkSettings.load({"queue_mb": "x"}, environ={"FIRSTWATCH_QUEUE_MB": "5"}).queue_mb == 5


def test_init_with_bad_settings_never_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIRSTWATCH_QUEUE_MB", "-5")
    firstwatch.init(agent="a", endpoint="not a url", queue_mb="many", instrument_http=False)  # type: ignore[arg-type]
    resolved = lifecycle.settings()
    assert resolved is not None
    assert resolved.queue_mb == 64
    assert resolved.endpoint == DEFAULT_ENDPOINT
    with firstwatch.run() as run:
        assert run.recording
    firstwatch.shutdown(timeout=0.2)  # nothing listens there: do not wait for it


def test_disabled_by_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIRSTWATCH_DISABLED", "1")
    firstwatch.init(agent="a")
    assert lifecycle.runtime() is None
    with firstwatch.run() as run:
        assert not run.recording


def test_everything_is_a_no_op_before_init() -> None:
    assert lifecycle.runtime() is None

    @firstwatch.agent("a", input_arg="x")
    def handle(x: int) -> int:
        firstwatch.current_run().output(x=x)
        firstwatch.retry(wait_ms=3)
        return x * 2

    @firstwatch.agent
    async def handle_async(x: int) -> int:
        return x + 1

    with firstwatch.run(input="doc") as run:
        assert not run.recording
        with run.step("s") as step:
            step.output(a=1)
            assert step.check("c", False, reason="r") is False
            with step.resource("k", "write"):
                pass
        run.resource("k")
        run.retry(wait_ms=1)
        run.set_attribute("x", 1)
        assert not run.span.is_recording()
    assert handle(21) == 42
    assert asyncio.run(handle_async(1)) == 2
    assert firstwatch.flush() is True
    firstwatch.shutdown()


def test_importing_the_sdk_imports_nothing_of_the_server() -> None:
    code = "import json, sys, firstwatch\nprint(json.dumps(sorted(sys.modules)))\n"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    modules = set(json.loads(out))
    ours = {m for m in modules if m.startswith("firstwatch.")}
    assert ours, "firstwatch imported no submodule at all?"
    assert all(m.startswith(("firstwatch.sdk", "firstwatch.semconv")) for m in ours), ours
    heavy = {"fastapi", "uvicorn", "duckdb", "pyarrow", "grpc", "starlette", "typer", "rich"}
    assert not {m.split(".")[0] for m in modules} & heavy
    # The OpenTelemetry SDK itself is only loaded by init.
    assert not any(m.startswith("opentelemetry.sdk") for m in modules)


def _python(code: str, env: dict[str, str] | None = None, timeout: float = 60) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
        env={**os.environ, **(env or {})},
    )
    return result.stdout


def test_the_global_provider_is_left_alone_unless_asked() -> None:
    code = (
        "import firstwatch\n"
        "from opentelemetry import trace\n"
        "from firstwatch.sdk import lifecycle\n"
        "firstwatch.init(agent='a', instrument_http=False, exit_timeout=0, {extra})\n"
        "ours = lifecycle._pipeline.provider\n"
        "print(trace.get_tracer_provider() is ours)\n"
    )
    assert _python(code.format(extra="")).strip() == "False"
    assert _python(code.format(extra="set_global_provider=True")).strip() == "True"


def test_the_exit_flush_is_bounded_when_no_server_listens() -> None:
    # Nothing listens on the endpoint and the exporter would retry for 30 s: the process still
    # exits promptly, after at most FIRSTWATCH_EXIT_TIMEOUT (the subprocess timeout guards it).
    code = (
        "import socket, firstwatch\n"
        "s = socket.socket(); s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]; s.close()\n"
        "firstwatch.init(agent='a', endpoint=f'http://127.0.0.1:{port}', instrument_http=False)\n"
        "for _ in range(100):\n"
        "    with firstwatch.run() as run, run.step('s'):\n"
        "        pass\n"
        "print('done')\n"
    )
    out = _python(code, env={"FIRSTWATCH_EXIT_TIMEOUT": "0.5"}, timeout=15)
    assert out.strip() == "done"
