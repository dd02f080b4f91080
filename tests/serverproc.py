"""Test support: a real `firstwatch serve` subprocess on free ports, and bounded polling."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ServerProcess:
    """A running `firstwatch serve` and how to reach it."""

    process: subprocess.Popen[bytes]
    url: str
    grpc_port: int
    store: Path
    log: Path
    env: dict[str, str]

    def client(self, key: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def admin_key(self) -> str:
        """The admin key a server that requires keys prints once at its first start."""
        out = wait_for(lambda: "fw_" in self.output() and self.output(), what="admin key banner")
        return next(word for word in out.split() if word.startswith("fw_"))

    def new_keys(self, admin_key: str, project: str, scopes: tuple[str, ...]) -> dict[str, str]:
        """Keys of `project` with these scopes, made through the API with `admin_key`."""
        with self.client(admin_key) as admin:
            made = {
                scope: admin.post("/api/v1/keys", json={"project": project, "scope": scope})
                for scope in scopes
            }
        assert all(r.status_code == 201 for r in made.values()), made
        return {scope: r.json()["key"] for scope, r in made.items()}

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        return int(self.process.returncode)


def start_server(
    tmp: Path,
    *,
    extra_args: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    store: Path | None = None,
    http_port: int | None = None,
    grpc_port: int | None = None,
    wrapper: tuple[str, ...] = (),
) -> ServerProcess:
    """Start a server and wait until /readyz answers (bounded)."""
    store = store or tmp / "store.duckdb"
    http_port = http_port or free_port()
    grpc_port = grpc_port or free_port()
    log = tmp / f"server-{http_port}.log"
    full_env = {**os.environ, **(env or {})}
    cmd = [
        *wrapper,
        sys.executable,
        "-m",
        "firstwatch",
        "serve",
        "--store",
        str(store),
        "--port",
        str(http_port),
        "--grpc-port",
        str(grpc_port),
        *extra_args,
    ]
    with log.open("wb") as sink:
        process = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.STDOUT, env=full_env)
    server = ServerProcess(
        process, f"http://127.0.0.1:{http_port}", grpc_port, store, log, full_env
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited {process.returncode}:\n{server.output()}")
        try:
            if httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    server.stop(signal.SIGKILL)
    raise RuntimeError(f"server did not start:\n{server.output()}")


def wait_for(check: Callable[[], Any], timeout: float = 30, what: str = "condition") -> Any:
    """Poll `check` until it returns something truthy (bounded)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}; last value: {last!r}")
