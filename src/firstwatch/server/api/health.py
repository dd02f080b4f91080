"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import logging
import os
import time

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from firstwatch.server.api.deps import state_of

log = logging.getLogger(__name__)

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    """Ready when accepting and the writer is not failing."""
    state = state_of(request)
    problems = []
    if not state.ingestor.accepting:
        problems.append("shutting down")
    if state.writer.last_error:
        problems.append(f"writer: {state.writer.last_error}")
    if problems:
        return JSONResponse({"status": "not ready", "problems": problems}, 503)
    return JSONResponse({"status": "ready"})


def _resident_bytes() -> int | None:
    """This process's resident memory, where /proc tells it (Linux)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            pages = int(statm.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE")


def _line(name: str, value: float, labels: dict[str, str] | None = None) -> str:
    if labels:
        inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        return f"{name}{{{inner}}} {value}"
    return f"{name} {value}"


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(request: Request) -> PlainTextResponse:
    """Prometheus text format: log, lag and ingest counters, and memory."""
    state = state_of(request)
    stats = state.ingestor.stats
    out = [
        "# HELP firstwatch_wal_bytes Bytes in the write-ahead log not yet applied to the store.",
        "# TYPE firstwatch_wal_bytes gauge",
        _line("firstwatch_wal_bytes", state.wal.pending_bytes),
        "# HELP firstwatch_wal_oldest_age_seconds Age of the oldest unapplied log record.",
        "# TYPE firstwatch_wal_oldest_age_seconds gauge",
        _line(
            "firstwatch_wal_oldest_age_seconds",
            round(state.wal.oldest_pending_age_s(time.time()), 3),
        ),
        "# HELP firstwatch_ingest_lag_records Log records not yet applied to the store.",
        "# TYPE firstwatch_ingest_lag_records gauge",
        _line("firstwatch_ingest_lag_records", state.writer.lag_lsn()),
        "# HELP firstwatch_spans_accepted_total Spans acknowledged with a 2xx.",
        "# TYPE firstwatch_spans_accepted_total counter",
        _line("firstwatch_spans_accepted_total", stats.spans_accepted),
        "# HELP firstwatch_spans_applied_total Spans written to the store.",
        "# TYPE firstwatch_spans_applied_total counter",
        _line("firstwatch_spans_applied_total", state.writer.spans_applied),
        "# HELP firstwatch_spans_rejected_total Spans rejected inside accepted requests.",
        "# TYPE firstwatch_spans_rejected_total counter",
    ]
    for reason, count in sorted(stats.spans_rejected.items()):
        out.append(_line("firstwatch_spans_rejected_total", count, {"reason": reason}))
    out += [
        "# HELP firstwatch_requests_rejected_total Whole requests refused, by reason.",
        "# TYPE firstwatch_requests_rejected_total counter",
    ]
    for reason, count in sorted(stats.requests_rejected.items()):
        out.append(_line("firstwatch_requests_rejected_total", count, {"reason": reason}))
    out += [
        "# HELP firstwatch_values_truncated_total Attribute values cut to max_value_chars.",
        "# TYPE firstwatch_values_truncated_total counter",
        _line("firstwatch_values_truncated_total", stats.values_truncated),
        "# HELP firstwatch_values_redacted_total Attribute values hidden as credentials "
        "(or by redact_keys).",
        "# TYPE firstwatch_values_redacted_total counter",
        _line("firstwatch_values_redacted_total", stats.values_redacted),
        "# HELP firstwatch_attributes_dropped_total Attributes over max_attributes dropped.",
        "# TYPE firstwatch_attributes_dropped_total counter",
        _line("firstwatch_attributes_dropped_total", stats.attributes_dropped),
        "# HELP firstwatch_sdk_dropped_spans_total Spans the SDKs report dropping before export "
        "(the latest count of each process).",
        "# TYPE firstwatch_sdk_dropped_spans_total gauge",
        _line("firstwatch_sdk_dropped_spans_total", stats.sdk_dropped_spans),
    ]
    # The log's figures matter most when the store is in trouble: a store that cannot be read
    # is reported, not allowed to fail the whole answer.
    try:
        memory = state.store.memory_bytes()
    except Exception as exc:
        log.warning("/metrics could not read the store: %s: %s", type(exc).__name__, exc)
        memory = None
    out += [
        "# HELP firstwatch_store_readable 1 when the store answered this scrape, else 0.",
        "# TYPE firstwatch_store_readable gauge",
        _line("firstwatch_store_readable", int(memory is not None)),
        "# HELP firstwatch_store_memory_bytes Memory the store's database engine holds, by kind "
        "(DuckDB: up to its memory_limit).",
        "# TYPE firstwatch_store_memory_bytes gauge",
    ]
    for kind, used in (memory or {}).items():
        out.append(_line("firstwatch_store_memory_bytes", used, {"kind": kind}))
    resident = _resident_bytes()
    if resident is not None:
        out += [
            "# HELP process_resident_memory_bytes Resident memory size in bytes.",
            "# TYPE process_resident_memory_bytes gauge",
            _line("process_resident_memory_bytes", resident),
        ]
    return PlainTextResponse("\n".join(out) + "\n", media_type="text/plain; version=0.0.4")
