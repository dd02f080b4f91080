"""The demo's `firstwatch serve`: a subprocess on its own store and a free port, stopped cleanly."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

import httpx

_ANNOUNCE = re.compile(r"firstwatch serving on (http://[^\s]+?:\d+)")


class ServerError(RuntimeError):
    """The server did not start, or stopped on its own."""


class ServerProcess:
    """`python -m firstwatch serve --store <store> --port 0 --grpc-port -1`, logging to `log`.

    It runs in a session of its own, so a Ctrl-C in the terminal reaches the demo, which then
    stops the server in order (SIGTERM: finish requests, apply the log, close the store).

    Args:
        store: The DuckDB file.
        log: Where the server's output goes.
    """

    def __init__(self, store: Path, log: Path) -> None:
        self.store = store
        self.log = log
        self.url = ""
        self._process: subprocess.Popen[bytes] | None = None
        self._sink: IO[bytes] | None = None

    def start(self) -> None:
        """Start the process (it gets ready in the background; see `wait_ready`)."""
        command = [
            sys.executable,
            "-m",
            "firstwatch",
            "serve",
            "--store",
            str(self.store),
            "--port",
            "0",
            "--grpc-port",
            "-1",
            "--no-require-keys",
        ]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self._sink = self.log.open("wb")
        self._process = subprocess.Popen(
            command,
            stdout=self._sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )

    def output(self) -> str:
        """What the server has written so far."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_ready(self, timeout: float = 60.0) -> str:
        """Wait until the server answers `/readyz`; returns its base URL."""
        process = self._process
        if process is None:
            raise ServerError("the server was not started")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise ServerError(f"the server exited ({process.returncode}):\n{self.output()}")
            if not self.url:
                found = _ANNOUNCE.search(self.output())
                if found:
                    self.url = found.group(1)
            if self.url:
                try:
                    if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                        return self.url
                except httpx.TransportError:
                    pass
            time.sleep(0.05)
        raise ServerError(f"the server did not get ready in {timeout:.0f} s:\n{self.output()}")

    @property
    def running(self) -> bool:
        """Whether the process is alive."""
        return self._process is not None and self._process.poll() is None

    def stop(self, timeout: float = 60.0) -> int | None:
        """SIGTERM, wait for a clean stop (at most `timeout` seconds), then SIGKILL."""
        process = self._process
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        if self._sink is not None:
            self._sink.close()
            self._sink = None
        return process.returncode

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()
