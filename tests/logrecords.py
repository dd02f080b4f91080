"""Log records (Arrow IPC, as the server's ingest writes them, or as earlier versions did) of
one-span runs, for the writer's tests."""

from __future__ import annotations

import json
import random

import pyarrow as pa

from arrowtables import EARLIER_SPAN_SCHEMA
from firstwatch.ingest.logformat import encode_batch
from firstwatch.store.schema import SPAN_COLUMN_NAMES


def run_record(
    number: int, *, spans: int = 512, varied: bool = False, earlier: bool = False
) -> bytes:
    """Record `number`: `spans` one-span traces with about 4 KB of attributes each (`varied`: each
    its own random text, which hardly compresses; `earlier`: as versions before this one logged
    it, with pyarrow and `resource` dictionary-encoded)."""
    text = json.dumps({"input.value": " ".join(f"word{i}-{number}" for i in range(400))})
    rows = [
        {
            **dict.fromkeys(SPAN_COLUMN_NAMES),
            "project": "default",
            "trace_id": f"{number:016x}{i:016x}",
            "span_id": f"{i + 1:016x}",
            "name": "run",
            "kind": "run",
            "agent_marked": True,
            "start_ns": 10**18 + number * spans + i,
            "end_ns": 10**18 + number * spans + i + 1000,
            "duration_ms": 0.001,
            "status": "ok",
            "agent": "extractor",
            "attributes": json.dumps({"input.value": random.randbytes(2000).hex()})
            if varied
            else text,
            "resource": json.dumps({"service.name": f"svc-{number}"}),
            "received_ns": number,
        }
        for i in range(spans)
    ]
    if not earlier:
        return encode_batch({name: [r[name] for r in rows] for name in SPAN_COLUMN_NAMES}, spans)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, EARLIER_SPAN_SCHEMA) as stream:
        stream.write_table(pa.Table.from_pylist(rows, schema=EARLIER_SPAN_SCHEMA))
    return bytes(sink.getvalue().to_pybytes())
