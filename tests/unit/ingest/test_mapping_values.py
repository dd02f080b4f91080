"""What mapping stores for a span: its JSON columns, its previews, its error, and the log record."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pyarrow as pa
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from arrowtables import SPAN_SCHEMA
from firstwatch import semconv as sc
from firstwatch.errors.classify import load_rules
from firstwatch.ingest.logformat import encode_batch
from firstwatch.ingest.mapping import MappedBatch, map_request
from firstwatch.store.schema import SPAN_COLUMN_NAMES

TRACE = bytes(range(1, 17))
START = 1_800_000_000_000_000_000


def kv(key: str, **value: Any) -> KeyValue:
    return KeyValue(key=key, value=AnyValue(**value))


def span(number: int, parent: int | None = None, *attributes: KeyValue) -> Span:
    out = Span(
        trace_id=TRACE,
        span_id=bytes([number]) * 8,
        parent_span_id=bytes([parent]) * 8 if parent else b"",
        name=f"span-{number}",
        start_time_unix_nano=START + number,
        end_time_unix_nano=START + number + 1_000_000,
    )
    out.attributes.extend(attributes)
    return out


def request(*spans: Span, resource: tuple[KeyValue, ...] = ()) -> ExportTraceServiceRequest:
    out = ExportTraceServiceRequest()
    resource_spans = out.resource_spans.add()
    resource_spans.resource.attributes.extend(resource)
    resource_spans.scope_spans.add().spans.extend(spans)
    return out


def rows(batch: MappedBatch) -> list[dict[str, Any]]:
    return [
        dict(zip(batch.columns, values, strict=True))
        for values in zip(*batch.columns.values(), strict=True)
    ]


def failed(number: int, error_type: str, message: str) -> Span:
    out = span(number, 1, kv(sc.ERROR_TYPE, string_value=error_type))
    out.status.CopyFrom(Status(code=Status.StatusCode.STATUS_CODE_ERROR, message=message))
    event = out.events.add(name=sc.EXCEPTION_EVENT, time_unix_nano=START + number)
    event.attributes.extend(
        [
            kv(sc.EXCEPTION_TYPE, string_value=error_type),
            kv(sc.EXCEPTION_MESSAGE, string_value=message),
        ]
    )
    return out


def test_attribute_json_is_compact_and_keeps_every_value() -> None:
    attributes = (
        kv("text", string_value="naïve ✓ 中文"),
        kv("count", int_value=-3),
        kv("flag", bool_value=True),
        kv("ratio", double_value=1.5e16),
        kv("not_a_number", double_value=math.nan),
        kv("too_big", double_value=-math.inf),
        kv("raw", bytes_value=b"\x00\xff"),
        kv(
            "list",
            array_value=ArrayValue(values=[AnyValue(string_value="a"), AnyValue(int_value=2)]),
        ),
        kv("map", kvlist_value=KeyValueList(values=[kv("inner", double_value=math.inf)])),
        kv("empty", string_value=""),
    )
    batch = map_request(
        request(span(1, None, *attributes), resource=(kv("service.name", string_value="agent-é"),)),
        "p",
    )
    (row,) = rows(batch)
    text = row["attributes"]
    assert ", " not in text and '": ' not in text  # compact separators
    stored = json.loads(text)
    nan = stored.pop("not_a_number")
    assert math.isnan(nan)  # written as NaN, as json.dumps writes it, not as null
    assert stored == {
        "text": "naïve ✓ 中文",
        "count": -3,
        "flag": True,
        "ratio": 1.5e16,
        "too_big": -math.inf,
        "raw": "00ff",
        "list": ["a", 2],
        "map": {"inner": math.inf},
        "empty": "",
    }
    assert json.loads(row["resource"]) == {"service.name": "agent-é"}


def test_deeply_nested_values_are_still_written() -> None:
    body = request(span(1))
    entry = body.resource_spans[0].scope_spans[0].spans[0].attributes.add(key="deep")
    for _ in range(300):  # deeper than orjson writes (built in place: a copy would parse it)
        entry = entry.value.kvlist_value.values.add(key="k")
    entry.value.string_value = "leaf"
    (row,) = rows(map_request(body, "p"))
    stored = json.loads(row["attributes"])["deep"]
    for _ in range(300):
        stored = stored["k"]
    assert stored == "leaf"


def test_events_keep_their_names_times_and_attributes() -> None:
    (_, row) = rows(map_request(request(span(1), failed(2, "ValueError", "bad value 'x'")), "p"))
    assert json.loads(row["events"]) == [
        {
            "name": "exception",
            "time_ns": START + 2,
            "attributes": {"exception.type": "ValueError", "exception.message": "bad value 'x'"},
        }
    ]


def test_previews_are_kept_only_on_spans_that_can_be_runs() -> None:
    def with_io(number: int, parent: int | None, *more: KeyValue) -> Span:
        io = (
            kv(sc.INPUT_VALUE, string_value=f"in {number}"),
            kv(sc.OUTPUT_VALUE, string_value="out"),
        )
        return span(number, parent, *io, *more)

    batch = map_request(
        request(
            with_io(1, None),  # the root
            with_io(2, 1, kv(sc.KIND, string_value=sc.KIND_RUN)),  # a nested run
            with_io(3, 2, kv(sc.KIND, string_value=sc.KIND_LLM)),  # a step
            span(
                4,
                None,
                kv(sc.INPUT_VALUE, kvlist_value=KeyValueList(values=[kv("q", int_value=1)])),
            ),
        ),
        "p",
    )
    previews = {r["span_id"][:2]: (r["input_preview"], r["output_preview"]) for r in rows(batch)}
    assert previews == {
        "01": ("in 1", "out"),
        "02": ("in 2", "out"),
        "03": (None, None),
        "04": ('{"q": 1}', None),  # a structured input is previewed as json.dumps writes it
    }
    # The step's input still reaches its attributes.
    (step,) = [r for r in rows(batch) if r["span_id"].startswith("03")]
    assert json.loads(step["attributes"])[sc.INPUT_VALUE] == "in 3"


def test_failed_spans_are_classified_each_by_its_own_error() -> None:
    batch = map_request(
        request(
            span(1),
            failed(2, "openai.RateLimitError", "Rate limit reached for gpt-4o"),
            failed(3, "TimeoutError", "timed out after 30 seconds"),
            failed(4, "openai.RateLimitError", "Rate limit reached for gpt-4o"),
            failed(5, "TimeoutError", "timed out after 31 seconds"),
        ),
        "p",
    )
    by_id = {r["span_id"][:2]: r for r in rows(batch)}
    classes = {k: (r["error_class"], r["error_type"], r["error_message"]) for k, r in by_id.items()}
    assert classes == {
        "01": (None, None, None),
        "02": ("rate_limited", "openai.RateLimitError", "Rate limit reached for gpt-4o"),
        "03": ("timeout", "TimeoutError", "timed out after 30 seconds"),
        "04": ("rate_limited", "openai.RateLimitError", "Rate limit reached for gpt-4o"),
        "05": ("timeout", "TimeoutError", "timed out after 31 seconds"),
    }
    prints = {k: r["error_fingerprint"] for k, r in by_id.items()}
    assert prints["02"] == prints["04"] and prints["03"] == prints["05"]  # numbers are masked
    assert prints["02"] != prints["03"] and prints["01"] is None


def test_the_same_error_follows_each_rule_table(tmp_path: Path) -> None:
    rules_file = tmp_path / "rules.toml"
    rules_file.write_text(
        '[[rule]]\nname = "ours"\nclass = "conflict"\ntypes = ["TimeoutError"]\n', "utf-8"
    )
    ours = load_rules(rules_file)
    body = request(span(1), failed(2, "TimeoutError", "timed out after 30 seconds"))
    for _ in range(2):  # in either order, again and again
        assert rows(map_request(body, "p"))[1]["error_class"] == "timeout"
        assert rows(map_request(body, "p", rules=ours))[1]["error_class"] == "conflict"


def test_the_log_record_gives_back_every_column_and_value() -> None:
    batch = map_request(
        request(
            span(
                1, None, kv(sc.KIND, string_value=sc.KIND_RUN), kv(sc.INPUT_VALUE, string_value="x")
            ),
            span(2, 1, kv(sc.HTTP_RESPONSE_STATUS_CODE, int_value=503)),
            failed(3, "TimeoutError", "timed out"),
        ),
        "p",
    )
    table = pa.ipc.open_stream(encode_batch(batch.columns, batch.accepted)).read_all()
    assert table.schema == SPAN_SCHEMA
    assert table.column_names == list(SPAN_COLUMN_NAMES)
    assert table.to_pydict() == {name: list(values) for name, values in batch.columns.items()}
