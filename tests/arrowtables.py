"""The store's columns as pyarrow schemas, and Arrow sources, for tests that build spans as Arrow.

The server builds and reads Arrow with nanoarrow; pyarrow is the tests' independent reference.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from firstwatch.store.schema import SPAN_COLUMNS

ARROW_TYPES = {
    "VARCHAR": pa.string(),
    "TINYINT": pa.int8(),
    "INTEGER": pa.int32(),
    "BIGINT": pa.int64(),
    "DOUBLE": pa.float64(),
    "BOOLEAN": pa.bool_(),
}

SPAN_SCHEMA = pa.schema([(name, ARROW_TYPES[sql]) for name, sql in SPAN_COLUMNS])

EARLIER_SPAN_SCHEMA = pa.schema(
    [
        (name, pa.dictionary(pa.int32(), pa.string()) if name == "resource" else typ)
        for name, typ in zip(SPAN_SCHEMA.names, SPAN_SCHEMA.types, strict=True)
    ]
)
"""How versions before this one logged spans (with pyarrow): `resource` dictionary-encoded."""


class Shrinking:
    """A batch that gives fewer rows each time it is read (a log read short)."""

    def __init__(self, batch: pa.Table) -> None:
        self.batch = batch
        self.reads = 0

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
        self.reads += 1
        rows = self.batch.slice(0, self.batch.num_rows - self.reads + 1)
        return rows.__arrow_c_stream__(requested_schema)
