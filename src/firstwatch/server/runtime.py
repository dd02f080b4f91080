"""Run the server: open the store and the log, start the writer, OTLP/gRPC and HTTP; stop cleanly.

SIGTERM or SIGINT: stop accepting, finish in-flight requests, apply the whole log to the store,
close.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import uvicorn

from firstwatch.ingest.pipeline import Ingestor
from firstwatch.ingest.wal import WriteAheadLog
from firstwatch.ingest.writer import Writer
from firstwatch.server.app import create_app
from firstwatch.server.auth import create_key
from firstwatch.server.grpc_service import start_grpc
from firstwatch.server.state import AppState
from firstwatch.settings import Settings
from firstwatch.store import open_store, parse_store_url

log = logging.getLogger("firstwatch")


class _Server(uvicorn.Server):
    """uvicorn, minus re-raising the stop signal after shutdown: we still have to drain the log."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        handled = (signal.SIGINT, signal.SIGTERM)
        original = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)


def wal_directory(settings: Settings) -> Path:
    """Where the log lives: the setting, else next to a DuckDB file."""
    if settings.wal_dir:
        return Path(settings.wal_dir)
    parsed = parse_store_url(settings.store)
    if parsed.path is not None:
        return parsed.path.with_name(parsed.path.name + ".wal.d")
    raise ValueError("wal_dir must be set when the store is not a DuckDB file")


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket (port 0 picks a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OSError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def build_state(settings: Settings) -> AppState:
    """Open the store and the log and wire the ingest path."""
    store = open_store(settings.store, memory_limit=settings.duckdb_memory_limit)
    wal = WriteAheadLog(
        wal_directory(settings), max_pending_bytes=settings.wal_max_pending_mb * 2**20
    )
    writer = Writer(store, wal, batch_spans=settings.writer_batch_spans)
    return AppState(
        settings=settings, store=store, wal=wal, ingestor=Ingestor(settings, wal), writer=writer
    )


def limit_malloc_arenas(count: int = 2) -> None:
    """Ask glibc for at most `count` heap arenas (what MALLOC_ARENA_MAX sets).

    By default each thread that meets a busy heap gets an arena of its own, up to eight per core,
    and freed memory stays in them: the server's request, writer and DuckDB threads held about
    40 MB more that way under load. Elsewhere than glibc this does nothing.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc
        return
    m_arena_max = -8
    libc.mallopt(m_arena_max, count)


GIL_TURN_S = 0.001
"""How long a thread may keep the GIL while another waits for it (Python's default is 5 ms).

The request threads that decode spans are busy Python; each time the writer came back from DuckDB
or the log, it waited up to a turn for them, dozens of times a transaction. Under full ingest its
transactions took three times as long as alone. With 1 ms turns, 20,100–22,900 spans/s end to end
against 18,400–19,700 at 5 ms (bench/ingest.py, six runs each, alternating).
"""


def serve(settings: Settings, *, announce: Callable[[str], None] | None = None) -> None:
    """Run until SIGTERM/SIGINT."""
    limit_malloc_arenas()
    sys.setswitchinterval(GIL_TURN_S)
    say = announce or (lambda text: print(text, file=sys.stderr, flush=True))
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
    )
    http_sock = bind_socket(settings.host, settings.http_port)
    state = build_state(settings)
    if settings.keys_required and state.store.key_count() == 0:
        key = create_key(state.store, "default", "admin")
        say(
            "Keys are required and none existed: created an admin key for project 'default'.\n"
            f"  {key}\nIt is shown once; store it now."
        )
    state.writer.start()
    grpc_server = None
    grpc_port = None
    if settings.grpc_port >= 0:
        grpc_server, grpc_port = start_grpc(state, settings.host, settings.grpc_port)
    host, port = http_sock.getsockname()[:2]
    say(
        f"firstwatch serving on http://{host}:{port} (OTLP/HTTP, API)"
        + (f", OTLP/gRPC on {host}:{grpc_port}" if grpc_port else "")
        + f"; store {settings.store}"
    )
    config = uvicorn.Config(
        create_app(state),
        log_level=settings.log_level.lower(),
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=10,
    )
    server = _Server(config)
    try:
        server.run(sockets=[http_sock])
    finally:
        state.ingestor.accepting = False
        if grpc_server is not None:
            grpc_server.stop(grace=5).wait()
        drained = state.writer.drain()
        state.writer.stop()
        if not drained:
            log.warning("stopped with unapplied log records; they are applied at next start")
        state.wal.close()
        state.store.close()
        say("firstwatch stopped")
