"""Documents given as bytes or as a file path: sniff, size, then the reader for their type."""

from __future__ import annotations

import codecs
import contextlib
import html
import io
import json
import os
import re
import stat
from typing import BinaryIO

from firstwatch.profiling import _sniff
from firstwatch.profiling._archive import profile_zip
from firstwatch.profiling._pdf import profile_pdf
from firstwatch.profiling._structured import profile_structured
from firstwatch.profiling._text import profile_text
from firstwatch.profiling._work import Work

BytesLike = bytes | bytearray | memoryview
_BYTES_PER_CHAR = 4
_SCRIPT_OR_STYLE = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")


class NotARegularFile(OSError):
    """The path names a directory, FIFO or device: opening it could block or never end."""


def _decode(raw: bytes, complete: bool) -> tuple[str, str]:
    """Decode text bytes; return ``(text, encoding)`` where legacy means not UTF-8/16."""
    if raw.startswith(codecs.BOM_UTF8):
        encoding, codec, raw = "utf-8-bom", "utf-8", raw[len(codecs.BOM_UTF8) :]
    elif raw.startswith(codecs.BOM_UTF16_LE):
        encoding, codec, raw = "utf-16", "utf-16-le", raw[2:]
    elif raw.startswith(codecs.BOM_UTF16_BE):
        encoding, codec, raw = "utf-16", "utf-16-be", raw[2:]
    else:
        encoding, codec = "utf-8", "utf-8"
    try:
        # Not final unless complete: a character cut at the read limit is not damage.
        return codecs.getincrementaldecoder(codec)("strict").decode(raw, complete), encoding
    except UnicodeDecodeError:
        if codec != "utf-8":
            return raw.decode(codec, "replace"), encoding
        # Most legacy text is Windows-1252 or Latin-1; cp1252 reads both, near enough.
        return raw.decode("cp1252", "replace"), "legacy"


def _html_text(markup: str) -> str:
    return html.unescape(_TAG.sub(" ", _SCRIPT_OR_STYLE.sub(" ", markup)))


def _profile_textual(stream: BinaryIO, size: int, sniffed: str, work: Work) -> str:
    budget = work.limits.max_text_chars * _BYTES_PER_CHAR
    raw = stream.read(budget)
    complete = size <= budget
    text, work.features["doc.encoding"] = _decode(raw, complete)
    if not complete:
        work.cap("text")
    if sniffed == _sniff.HTML:
        return _html_text(text)
    if sniffed == _sniff.JSON and complete:
        try:
            parsed = json.loads(text)
        except (ValueError, RecursionError):
            work.features["doc.corrupt"] = True
            return text
        work.features["doc.corrupt"] = False
        return profile_structured(parsed, work)
    return text


def profile_document(
    source: BytesLike | os.PathLike[str] | os.PathLike[bytes],
    work: Work,
    *,
    filename: str | None,
    media_type: str | None,
) -> None:
    """Add the ``doc.*`` features of a document, and the ``text.*`` features of its text.

    Args:
        source: The document's bytes, or the path of its file.
        work: The profile in progress.
        filename: The document's name, for its declared type (a path's own name otherwise).
        media_type: The declared media type, which wins over the name.
    """
    features = work.features
    features["profile.kind"] = "document"
    with contextlib.ExitStack() as stack:
        stream: BinaryIO
        if isinstance(source, os.PathLike):
            path = os.fsdecode(source)
            filename = filename or os.path.basename(path)
            if not stat.S_ISREG(os.stat(path).st_mode):
                raise NotARegularFile(path)
            stream = stack.enter_context(open(path, "rb"))
            size = os.fstat(stream.fileno()).st_size
        else:
            stream = io.BytesIO(source)
            size = len(stream.getbuffer())
        head = stream.read(_sniff.HEAD_BYTES)
        stream.seek(0)
        declared = _sniff.declared_type(filename, media_type)
        sniffed = _sniff.sniff(head)
        features["doc.declared_type"] = declared
        features["doc.sniffed_type"] = sniffed
        features["doc.type_mismatch"] = not _sniff.compatible(declared, sniffed)
        features["doc.bytes"] = size
        if size > work.limits.max_bytes:
            work.cap("bytes")
            return
        text = ""
        if sniffed == _sniff.PDF:
            text = profile_pdf(stream, size, work)
        elif sniffed in _sniff.IMAGES:
            features["doc.pages"] = 1
            features["doc.text_chars_per_page"] = 0.0
            features["doc.text_pages_share"] = 0.0
            features["doc.scanned"] = True
        elif sniffed == _sniff.ZIP:
            sniffed, text = profile_zip(stream, work)
            features["doc.sniffed_type"] = sniffed
            features["doc.type_mismatch"] = not _sniff.compatible(declared, sniffed)
        elif sniffed in _sniff.TEXTUAL:
            text = _profile_textual(stream, size, sniffed, work)
    if text and not work.out_of_time():
        profile_text(text, work)
