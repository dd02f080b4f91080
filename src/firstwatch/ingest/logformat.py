"""What a logged record holds: a request's accepted spans as an Arrow IPC stream.

Request threads encode a batch's columns (`encode_batch`); the writer hands a run of logged records
to the store as one Arrow stream (`LoggedRecords`), which the database reads itself, through the
Arrow C stream interface: no span becomes a Python object on the way in. nanoarrow builds and
reads the streams: a few megabytes in the process, where pyarrow's libraries took about 30 MB.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Final

import nanoarrow as na
from nanoarrow import ipc

from firstwatch.store.schema import SPAN_COLUMN_NAMES, SPAN_COLUMNS

_ARROW_TYPES: Final = {
    "VARCHAR": na.string(),
    "TINYINT": na.int8(),
    "INTEGER": na.int32(),
    "BIGINT": na.int64(),
    "DOUBLE": na.float64(),
    "BOOLEAN": na.bool_(),
}
_FIELDS: Final = tuple((name, _ARROW_TYPES[sql]) for name, sql in SPAN_COLUMNS)
LOG_SCHEMA: Final = na.struct(dict(_FIELDS))

# Every message of a stream starts with this marker and its metadata's length; a stream ends with
# the marker and a length of 0.
_CONTINUATION: Final = b"\xff\xff\xff\xff"
_END_OF_STREAM: Final = _CONTINUATION + bytes(4)
_RECORD_BATCH: Final = 3  # the MessageHeader union's tag of a record batch (Arrow's Message.fbs)


def encode_batch(columns: dict[str, Any], rows: int) -> bytes:
    """The Arrow IPC stream of a batch's `rows` spans (`columns` by name, `SPAN_COLUMNS` order):
    what the log stores."""
    children = [na.c_array(columns[name], typ) for name, typ in _FIELDS]
    record = na.c_array_from_buffers(LOG_SCHEMA, rows, [None], children=children)
    out = io.BytesIO()
    with ipc.StreamWriter.from_writable(out) as writer:
        writer.write_stream(na.c_array_stream(record))
    return out.getvalue()


def schema_message(payload: bytes) -> bytes:
    """The first message of a logged stream (its schema); records whose streams begin with the
    same bytes can be read as one stream."""
    if payload[:4] != _CONTINUATION:
        return b""
    return payload[: 8 + int.from_bytes(payload[4:8], "little")]


CURRENT_SCHEMA: Final = schema_message(encode_batch({name: [] for name in SPAN_COLUMN_NAMES}, 0))
"""How the records this version logs begin. Records of earlier versions (pyarrow wrote them, with
`resource` dictionary-encoded) are read one at a time."""


def _int(buf: bytes, at: int, size: int) -> int:
    return int.from_bytes(buf[at : at + size], "little", signed=size != 2)


def _field(buf: bytes, table: int, index: int) -> int:
    """Where field `index` of the flatbuffer table at `table` lies (0: absent, its default)."""
    vtable = table - _int(buf, table, 4)
    slot = 4 + 2 * index
    if slot >= _int(buf, vtable, 2):
        return 0
    offset = _int(buf, vtable + slot, 2)
    return table + offset if offset else 0


def record_rows(payload: bytes) -> int:
    """How many spans a logged stream holds: the lengths of its record batches, read from their
    messages' metadata (Arrow's Message.fbs) without decoding any column."""
    rows = at = 0
    while payload[at : at + 4] == _CONTINUATION:
        size = _int(payload, at + 4, 4)
        if size <= 0:
            break
        meta = at + 8
        root = meta + _int(payload, meta, 4)
        kind, body = _field(payload, root, 1), _field(payload, root, 3)
        if kind and payload[kind] == _RECORD_BATCH:
            header = _field(payload, root, 2)
            header += _int(payload, header, 4)
            length = _field(payload, header, 0)
            rows += _int(payload, length, 8) if length else 0
        at = meta + size + (_int(payload, body, 8) if body else 0)
    return rows


class _Joined(io.RawIOBase):
    """Logged streams of the same schema read as one: the first's schema, then each one's
    messages, then one end of stream."""

    def __init__(self, payloads: Iterable[bytes]) -> None:
        super().__init__()
        self._parts = self._messages(iter(payloads))
        self._buffer = memoryview(b"")

    @staticmethod
    def _messages(payloads: Iterator[bytes]) -> Iterator[memoryview]:
        first = next(payloads, b"")
        head = len(schema_message(first))
        yield memoryview(first)[: -len(_END_OF_STREAM)]
        for payload in payloads:
            yield memoryview(payload)[head : -len(_END_OF_STREAM)]
        yield memoryview(_END_OF_STREAM)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not len(self._buffer):
            part = next(self._parts, None)
            if part is None:
                return 0
            self._buffer = part
        out = memoryview(buffer).cast("B")
        size = min(len(out), len(self._buffer))
        out[:size] = self._buffer[:size]
        self._buffer = self._buffer[size:]
        return size


class LoggedRecords:
    """Consecutive logged records as one Arrow stream source for the store (`Store.apply`).

    Each time the store reads it (`__arrow_c_stream__`), `read()` reads the records from the log
    again: the store reads a batch twice (its narrow columns first, then every column as it
    inserts), and nothing holds the whole batch in between. The records must share their schema
    message (`schema_message`), or be one record.
    """

    def __init__(self, read: Callable[[], Iterable[bytes]]) -> None:
        self._read = read

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
        stream = ipc.InputStream.from_readable(_Joined(self._read()))
        return stream.__arrow_c_stream__(requested_schema=requested_schema)
