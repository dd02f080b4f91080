"""The columns of stored spans, runs and steps: one declaration shared by every backend."""

from __future__ import annotations

from typing import Final

import pyarrow as pa

# (name, arrow type). Hot fields are typed columns; the rest of a span stays in JSON text. Each span
# of a request carries the JSON of its resource, the same for all of them: dictionary-encoded, the
# log and the writer's batches hold it once a request (it was a sixth of a logged span's bytes).
SPAN_COLUMNS: Final[tuple[tuple[str, pa.DataType], ...]] = (
    ("project", pa.string()),
    ("trace_id", pa.string()),
    ("span_id", pa.string()),
    ("parent_span_id", pa.string()),
    ("name", pa.string()),
    ("span_kind", pa.int8()),
    ("kind", pa.string()),
    ("agent_marked", pa.bool_()),
    ("start_ns", pa.int64()),
    ("end_ns", pa.int64()),
    ("duration_ms", pa.float64()),
    ("status", pa.string()),
    ("status_message", pa.string()),
    ("error_type", pa.string()),
    ("error_message", pa.string()),
    ("error_class", pa.string()),
    ("agent", pa.string()),
    ("version", pa.string()),
    ("environment", pa.string()),
    ("service", pa.string()),
    ("dependency", pa.string()),
    ("http_status", pa.int32()),
    ("retry_count", pa.int32()),
    ("retry_wait_ms", pa.float64()),
    ("model", pa.string()),
    ("input_tokens", pa.int64()),
    ("output_tokens", pa.int64()),
    ("resource_key", pa.string()),
    ("resource_op", pa.string()),
    ("input_preview", pa.string()),
    ("output_preview", pa.string()),
    ("attributes", pa.string()),
    ("resource", pa.dictionary(pa.int32(), pa.string())),
    ("events", pa.string()),
    ("received_ns", pa.int64()),
    ("error_fingerprint", pa.string()),
    ("failed_checks", pa.string()),
)

SPAN_SCHEMA: Final = pa.schema(list(SPAN_COLUMNS))
SPAN_COLUMN_NAMES: Final = tuple(name for name, _ in SPAN_COLUMNS)

# The bulk of a span (two thirds of its bytes), read only by the insert into `spans`: a writer may
# hand the store its batch without them and stream them to the insert (`Store.apply`).
INSERT_ONLY_COLUMNS: Final = ("attributes", "resource", "events")
NARROW_SPAN_SCHEMA: Final = pa.schema(
    [(name, typ) for name, typ in SPAN_COLUMNS if name not in INSERT_ONLY_COLUMNS]
)

# What run materialisation reads of each span of a touched trace. The RUN_ONLY_COLUMNS among them
# are read only from spans that can be runs (agent-marked, or without a parent), so a store may
# leave them empty on the others.
RUN_ONLY_COLUMNS: Final = ("input_preview", "output_preview")
MATERIALIZE_COLUMNS: Final = (
    "trace_id",
    "span_id",
    "parent_span_id",
    "name",
    "kind",
    "agent_marked",
    "start_ns",
    "end_ns",
    "duration_ms",
    "status",
    "error_class",
    "agent",
    "service",
    "version",
    "environment",
    "dependency",
    "http_status",
    "retry_count",
    "retry_wait_ms",
    "input_preview",
    "output_preview",
    "error_fingerprint",
    "failed_checks",
    "model",
    "input_tokens",
    "output_tokens",
)

RUN_COLUMNS: Final[tuple[tuple[str, pa.DataType], ...]] = (
    ("project", pa.string()),
    ("trace_id", pa.string()),
    ("span_id", pa.string()),
    ("name", pa.string()),
    ("agent", pa.string()),
    ("version", pa.string()),
    ("environment", pa.string()),
    ("start_ns", pa.int64()),
    ("end_ns", pa.int64()),
    ("duration_ms", pa.float64()),
    ("status", pa.string()),
    ("error_class", pa.string()),
    ("complete", pa.bool_()),
    ("step_count", pa.int32()),
    ("error_step_count", pa.int32()),
    ("retry_count", pa.int32()),
    ("retry_wait_ms", pa.float64()),
    ("input_preview", pa.string()),
    ("output_preview", pa.string()),
    ("error_fingerprint", pa.string()),
    ("failed_checks", pa.string()),
    ("silent_failure", pa.bool_()),
    ("first_attempt_ms", pa.float64()),
)

STEP_COLUMNS: Final[tuple[tuple[str, pa.DataType], ...]] = (
    ("project", pa.string()),
    ("trace_id", pa.string()),
    ("span_id", pa.string()),
    ("parent_span_id", pa.string()),
    ("run_span_id", pa.string()),
    ("name", pa.string()),
    ("kind", pa.string()),
    ("agent", pa.string()),
    ("version", pa.string()),
    ("environment", pa.string()),
    ("start_ns", pa.int64()),
    ("end_ns", pa.int64()),
    ("duration_ms", pa.float64()),
    ("status", pa.string()),
    ("error_class", pa.string()),
    ("dependency", pa.string()),
    ("http_status", pa.int32()),
    ("retry_count", pa.int32()),
    ("retry_wait_ms", pa.float64()),
    ("error_fingerprint", pa.string()),
    ("failed_checks", pa.string()),
    ("model", pa.string()),
    ("input_tokens", pa.int64()),
    ("output_tokens", pa.int64()),
)

# Where each stored trace's spans lie, so that a batch finds the traces it continues without
# scanning every span: `trace_key` is a number from the trace id (cheap to compare; equal keys are
# confirmed on the id), and the ranges of `received_ns` and `start_ns` bound the trace's span, run
# and step rows, which the tables' min/max statistics (zone maps) then skip to.
TRACE_INDEX_COLUMNS: Final[tuple[tuple[str, pa.DataType], ...]] = (
    ("project", pa.string()),
    ("trace_id", pa.string()),
    ("trace_key", pa.int64()),
    ("first_received_ns", pa.int64()),
    ("last_received_ns", pa.int64()),
    ("first_start_ns", pa.int64()),
    ("last_start_ns", pa.int64()),
)

RUN_SCHEMA: Final = pa.schema(list(RUN_COLUMNS))
STEP_SCHEMA: Final = pa.schema(list(STEP_COLUMNS))
