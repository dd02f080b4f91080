"""Ingest: decoded request → mapped columns → write-ahead log (fsynced) → acknowledged.

The order is design.md §5's: decode, map, hide credential attributes and truncate oversize values
(both counted), append to the log, and only then answer 2xx. The writer thread (`writer.py`)
applies the log to the store.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from firstwatch.errors.classify import DEFAULT_RULES, load_rules
from firstwatch.ingest.decode import decode_request
from firstwatch.ingest.logformat import encode_batch
from firstwatch.ingest.mapping import MappedBatch, map_request
from firstwatch.ingest.redact import Redactor
from firstwatch.ingest.wal import WalError, WalFull, WriteAheadLog
from firstwatch.settings import Settings

CPU_THREADS = 1
"""Requests decoded, mapped and encoded at once (the others wait their turn; logging and fsync
run in parallel)."""


class Overloaded(Exception):
    """The log or the writer is behind its bound: answer 503 with Retry-After."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class NotDurable(Exception):
    """The batch could not be made durable (fsync failed, disk full): answer 503."""


@dataclass
class IngestStats:
    """Counters exported on /metrics."""

    spans_accepted: int = 0
    spans_rejected: dict[str, int] = field(default_factory=dict)
    requests_rejected: dict[str, int] = field(default_factory=dict)
    values_truncated: int = 0
    values_redacted: int = 0
    attributes_dropped: int = 0
    sdk_dropped: dict[tuple[str, str], int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def sdk_dropped_spans(self) -> int:
        """Spans the SDKs say they dropped: the sum of each process's latest cumulative count."""
        with self.lock:
            return sum(self.sdk_dropped.values())

    def request_rejected(self, reason: str) -> None:
        """Count a whole request refused."""
        with self.lock:
            self.requests_rejected[reason] = self.requests_rejected.get(reason, 0) + 1

    def add(self, batch: MappedBatch) -> None:
        """Count what one acknowledged request brought."""
        with self.lock:
            self.spans_accepted += batch.accepted
            for reason, count in batch.reasons.items():
                self.spans_rejected[reason] = self.spans_rejected.get(reason, 0) + count
            self.values_truncated += batch.truncated_values
            self.values_redacted += batch.redacted_values
            self.attributes_dropped += batch.dropped_attributes
            for key, count in batch.sdk_dropped.items():
                self.sdk_dropped[key] = max(self.sdk_dropped.get(key, 0), count)


class Ingestor:
    """Accepts decoded requests for a project and makes them durable."""

    def __init__(self, settings: Settings, wal: WriteAheadLog) -> None:
        self.settings = settings
        self.wal = wal
        self.stats = IngestStats()
        self.accepting = True
        self._max_pending_bytes = settings.wal_max_pending_mb * 2**20
        self._rules = (
            load_rules(Path(settings.error_rules_file))
            if settings.error_rules_file
            else DEFAULT_RULES
        )
        self._redactor = Redactor(settings.redact_keys.split(","))
        # Decoding, mapping and encoding hold the GIL: let only a few requests do it at once.
        # A crowd of them would take turns with the GIL, each finishing late, and starve the
        # writer thread, which needs the GIL too to rebuild runs.
        self._cpu = threading.BoundedSemaphore(CPU_THREADS)

    def accept(self, request: ExportTraceServiceRequest, project: str) -> MappedBatch:
        """Map and log a request; returns the mapped batch (accepted and rejected counts).

        Raises:
            Overloaded: the log is full or the server is stopping.
            NotDurable: the log could not fsync the batch.
        """
        return self._accept(lambda: request, project)

    def accept_body(
        self,
        body: bytes,
        content_type: str | None,
        content_encoding: str | None,
        project: str,
    ) -> MappedBatch:
        """Decode an OTLP/HTTP body, then map and log it as `accept` does.

        Raises:
            DecodeError: the body does not decode (with the HTTP status to answer).
            Overloaded: the log is full or the server is stopping.
            NotDurable: the log could not fsync the batch.
        """
        limit = self.settings.max_body_bytes
        return self._accept(
            lambda: decode_request(body, content_type, content_encoding, limit), project
        )

    def _accept(self, decode: Callable[[], ExportTraceServiceRequest], project: str) -> MappedBatch:
        if not self.accepting:
            raise Overloaded("the server is shutting down", retry_after_s=5)
        if self.wal.pending_bytes >= self._max_pending_bytes:
            # Refuse before spending CPU on a batch the log could not take anyway.
            self.stats.request_rejected("overloaded")
            raise Overloaded("ingest is behind: the log is full", retry_after_s=2)
        with self._cpu:
            batch = map_request(
                decode(),
                project,
                max_attributes=self.settings.max_attributes,
                max_value_chars=self.settings.max_value_chars,
                rules=self._rules,
                redactor=self._redactor,
            )
            payload = encode_batch(batch.columns, batch.accepted) if batch.accepted else b""
        if payload:
            try:
                self.wal.append(payload)
            except WalFull as exc:
                self.stats.request_rejected("overloaded")
                raise Overloaded(f"ingest is behind: {exc}", retry_after_s=2) from None
            except ValueError as exc:  # one record larger than the whole log may hold
                self.stats.request_rejected("too_large")
                raise NotDurable(f"the batch is too large to log: {exc}") from None
            except WalError as exc:
                self.stats.request_rejected("not_durable")
                raise NotDurable(f"the batch could not be stored durably: {exc}") from None
        self.stats.add(batch)
        return batch
