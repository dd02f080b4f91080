"""Ingest: decoded request → mapped columns → write-ahead log (fsynced) → acknowledged.

The order is design.md §5's: decode, map, truncate oversize values (counted), append to the log, and
only then answer 2xx. The writer thread (`writer.py`) applies the log to the store.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import pyarrow as pa
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from firstwatch.ingest.mapping import MappedBatch, map_request
from firstwatch.ingest.wal import WalError, WalFull, WriteAheadLog
from firstwatch.settings import Settings
from firstwatch.store.schema import SPAN_SCHEMA


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
    attributes_dropped: int = 0
    sdk_dropped_spans: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

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
            self.attributes_dropped += batch.dropped_attributes
            self.sdk_dropped_spans += batch.sdk_dropped_spans


def encode_batch(batch: MappedBatch) -> bytes:
    """The Arrow IPC stream of a batch's columns: what the log stores."""
    table = pa.Table.from_pydict(batch.columns, schema=SPAN_SCHEMA)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, SPAN_SCHEMA) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def decode_batch(payload: bytes) -> pa.Table:
    """Inverse of `encode_batch`."""
    with pa.ipc.open_stream(payload) as reader:
        return reader.read_all()


class Ingestor:
    """Accepts decoded requests for a project and makes them durable."""

    def __init__(self, settings: Settings, wal: WriteAheadLog) -> None:
        self.settings = settings
        self.wal = wal
        self.stats = IngestStats()
        self.accepting = True

    def accept(self, request: ExportTraceServiceRequest, project: str) -> MappedBatch:
        """Map and log a request; returns the mapped batch (accepted and rejected counts).

        Raises:
            Overloaded: the log is full or the server is stopping.
            NotDurable: the log could not fsync the batch.
        """
        if not self.accepting:
            raise Overloaded("the server is shutting down", retry_after_s=5)
        batch = map_request(
            request,
            project,
            max_attributes=self.settings.max_attributes,
            max_value_chars=self.settings.max_value_chars,
        )
        if batch.accepted:
            payload = encode_batch(batch)
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
