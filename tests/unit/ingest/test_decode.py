"""Body decoding: media types, compression caps, OTLP/JSON hex ids."""

from __future__ import annotations

import gzip
import json
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from firstwatch.ingest.decode import DecodeError, decode_request, inflate

PB = "application/x-protobuf"
JS = "application/json"


def test_json_hex_ids_decode_to_bytes() -> None:
    doc = {
        "resourceSpans": [
            {
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": "5b8efff798038103d269b633813fc60c",
                                "spanId": "eee19b7ec3c1b174",
                                "parentSpanId": "eee19b7ec3c1b173",
                                "name": "x",
                                "kind": 3,
                                "startTimeUnixNano": "1544712660000000000",
                                "endTimeUnixNano": "1544712661000000000",
                                "attributes": [{"key": "a", "value": {"intValue": "7"}}],
                            }
                        ]
                    }
                ]
            }
        ]
    }
    request = decode_request(json.dumps(doc).encode(), JS + "; charset=utf-8", None, 10_000)
    span = request.resource_spans[0].scope_spans[0].spans[0]
    assert span.trace_id.hex() == "5b8efff798038103d269b633813fc60c"
    assert span.span_id.hex() == "eee19b7ec3c1b174"
    assert span.parent_span_id.hex() == "eee19b7ec3c1b173"
    assert span.attributes[0].value.int_value == 7


def test_non_hex_id_leaves_an_empty_id_for_per_span_rejection() -> None:
    doc = {"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "xyz", "spanId": "00"}]}]}]}
    span = (
        decode_request(json.dumps(doc).encode(), JS, None, 10_000)
        .resource_spans[0]
        .scope_spans[0]
        .spans[0]
    )
    assert span.trace_id == b""


@pytest.mark.parametrize(
    ("content_type", "status"), [("text/plain", 415), (None, 415), ("application/xml", 415)]
)
def test_other_media_types_are_415(content_type: str | None, status: int) -> None:
    with pytest.raises(DecodeError) as info:
        decode_request(b"{}", content_type, None, 100)
    assert info.value.status == status


def test_gzip_bomb_stops_at_the_cap_without_inflating_everything() -> None:
    bomb = gzip.compress(b"\0" * 50_000_000)
    with pytest.raises(DecodeError) as info:
        inflate(bomb, "gzip", 1_000_000)
    assert info.value.status == 413


def test_deflate_and_identity() -> None:
    assert inflate(zlib.compress(b"hello"), "deflate", 100) == b"hello"
    assert inflate(b"hello", None, 100) == b"hello"
    assert inflate(b"hello", "identity", 100) == b"hello"


@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_raise_anything_but_decode_error(body: bytes) -> None:
    for content_type in (PB, JS):
        for encoding in (None, "gzip"):
            try:
                decode_request(body, content_type, encoding, 1_000)
            except DecodeError as exc:
                assert exc.status in (400, 413, 415)
