"""The columns of stored spans, runs and steps: one declaration shared by every backend."""

from __future__ import annotations

from typing import Final

# (name, SQL type). Hot fields are typed columns; the rest of a span stays in JSON text.
SPAN_COLUMNS: Final[tuple[tuple[str, str], ...]] = (
    ("project", "VARCHAR"),
    ("trace_id", "VARCHAR"),
    ("span_id", "VARCHAR"),
    ("parent_span_id", "VARCHAR"),
    ("name", "VARCHAR"),
    ("span_kind", "TINYINT"),
    ("kind", "VARCHAR"),
    ("agent_marked", "BOOLEAN"),
    ("start_ns", "BIGINT"),
    ("end_ns", "BIGINT"),
    ("duration_ms", "DOUBLE"),
    ("status", "VARCHAR"),
    ("status_message", "VARCHAR"),
    ("error_type", "VARCHAR"),
    ("error_message", "VARCHAR"),
    ("error_class", "VARCHAR"),
    ("agent", "VARCHAR"),
    ("version", "VARCHAR"),
    ("environment", "VARCHAR"),
    ("service", "VARCHAR"),
    ("dependency", "VARCHAR"),
    ("http_status", "INTEGER"),
    ("retry_count", "INTEGER"),
    ("retry_wait_ms", "DOUBLE"),
    ("model", "VARCHAR"),
    ("input_tokens", "BIGINT"),
    ("output_tokens", "BIGINT"),
    ("resource_key", "VARCHAR"),
    ("resource_op", "VARCHAR"),
    ("input_preview", "VARCHAR"),
    ("output_preview", "VARCHAR"),
    ("attributes", "VARCHAR"),
    ("resource", "VARCHAR"),
    ("events", "VARCHAR"),
    ("received_ns", "BIGINT"),
    ("error_fingerprint", "VARCHAR"),
    ("failed_checks", "VARCHAR"),
)

SPAN_COLUMN_NAMES: Final = tuple(name for name, _ in SPAN_COLUMNS)

# The bulk of a span (two thirds of its bytes), read only by the insert into `spans`: a store reads
# the other columns of a batch first, and these only as it inserts (`Store.apply`).
INSERT_ONLY_COLUMNS: Final = ("attributes", "resource", "events")
NARROW_SPAN_COLUMN_NAMES: Final = tuple(
    name for name in SPAN_COLUMN_NAMES if name not in INSERT_ONLY_COLUMNS
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

RUN_COLUMNS: Final[tuple[tuple[str, str], ...]] = (
    ("project", "VARCHAR"),
    ("trace_id", "VARCHAR"),
    ("span_id", "VARCHAR"),
    ("name", "VARCHAR"),
    ("agent", "VARCHAR"),
    ("version", "VARCHAR"),
    ("environment", "VARCHAR"),
    ("start_ns", "BIGINT"),
    ("end_ns", "BIGINT"),
    ("duration_ms", "DOUBLE"),
    ("status", "VARCHAR"),
    ("error_class", "VARCHAR"),
    ("complete", "BOOLEAN"),
    ("step_count", "INTEGER"),
    ("error_step_count", "INTEGER"),
    ("retry_count", "INTEGER"),
    ("retry_wait_ms", "DOUBLE"),
    ("input_preview", "VARCHAR"),
    ("output_preview", "VARCHAR"),
    ("error_fingerprint", "VARCHAR"),
    ("failed_checks", "VARCHAR"),
    ("silent_failure", "BOOLEAN"),
    ("first_attempt_ms", "DOUBLE"),
)

STEP_COLUMNS: Final[tuple[tuple[str, str], ...]] = (
    ("project", "VARCHAR"),
    ("trace_id", "VARCHAR"),
    ("span_id", "VARCHAR"),
    ("parent_span_id", "VARCHAR"),
    ("run_span_id", "VARCHAR"),
    ("name", "VARCHAR"),
    ("kind", "VARCHAR"),
    ("agent", "VARCHAR"),
    ("version", "VARCHAR"),
    ("environment", "VARCHAR"),
    ("start_ns", "BIGINT"),
    ("end_ns", "BIGINT"),
    ("duration_ms", "DOUBLE"),
    ("status", "VARCHAR"),
    ("error_class", "VARCHAR"),
    ("dependency", "VARCHAR"),
    ("http_status", "INTEGER"),
    ("retry_count", "INTEGER"),
    ("retry_wait_ms", "DOUBLE"),
    ("error_fingerprint", "VARCHAR"),
    ("failed_checks", "VARCHAR"),
    ("model", "VARCHAR"),
    ("input_tokens", "BIGINT"),
    ("output_tokens", "BIGINT"),
)

# Where each stored trace's spans lie, so that a batch finds the traces it continues without
# scanning every span: `trace_key` is a number from the trace id (cheap to compare; equal keys are
# confirmed on the id), and the ranges of `received_ns` and `start_ns` bound the trace's span, run
# and step rows, which the tables' min/max statistics (zone maps) then skip to.
TRACE_INDEX_COLUMNS: Final[tuple[tuple[str, str], ...]] = (
    ("project", "VARCHAR"),
    ("trace_id", "VARCHAR"),
    ("trace_key", "BIGINT"),
    ("first_received_ns", "BIGINT"),
    ("last_received_ns", "BIGINT"),
    ("first_start_ns", "BIGINT"),
    ("last_start_ns", "BIGINT"),
)
