"""Media sniffing from magic bytes, and declared types from names, through profile_input."""

from __future__ import annotations

import gzip
import io
import json
import zipfile

import pytest
from PIL import Image

from firstwatch.profiling import profile_input


def _image(kind: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4), "white").save(out, format=kind)
    return out.getvalue()


def _zip(*members: tuple[str, str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, body in members:
            archive.writestr(name, body)
    return out.getvalue()


DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
SAMPLES = {
    "application/pdf": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
    "image/png": _image("PNG"),
    "image/jpeg": _image("JPEG"),
    "image/gif": _image("GIF"),
    "image/tiff": _image("TIFF"),
    "image/webp": _image("WEBP"),
    "application/zip": _zip(("a.txt", "hello")),
    DOCX: _zip(("[Content_Types].xml", "<Types/>"), ("word/document.xml", "<w:document/>")),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": _zip(
        ("[Content_Types].xml", "<Types/>"), ("xl/workbook.xml", "<workbook/>")
    ),
    "application/vnd.oasis.opendocument.text": _zip(
        ("mimetype", "application/vnd.oasis.opendocument.text"), ("content.xml", "<x/>")
    ),
    "application/x-ole-storage": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504),
    "application/gzip": gzip.compress(b"hello"),
    "application/rtf": b"{\\rtf1\\ansi hello}",
    "application/json": json.dumps({"a": [1, 2]}).encode(),
    "text/html": b"<!DOCTYPE html><html><body>hi</body></html>",
    "application/xml": b'<?xml version="1.0"?><root/>',
    "text/plain": "Grüße aus Köln".encode(),
    "application/octet-stream": bytes(range(256)),
    "empty": b"",
}


@pytest.mark.parametrize("media_type", sorted(SAMPLES))
def test_sniffed_type(media_type: str) -> None:
    assert profile_input(SAMPLES[media_type])["doc.sniffed_type"] == media_type


@pytest.mark.parametrize(
    ("filename", "media_type", "declared"),
    [
        ("scan.PDF", None, "application/pdf"),
        ("photo.jpg", None, "image/jpeg"),
        (
            "report.docx",
            None,
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        ("notes.md", None, "text/markdown"),
        ("movie.mp4", None, "video/mp4"),
        ("README", None, "unknown"),
        ("file.weird-extension", None, "unknown"),
        ("scan.pdf", "image/jpg", "image/jpeg"),
        (None, "Application/PDF; charset=binary", "application/pdf"),
        (None, None, "none"),
    ],
)
def test_declared_type(filename: str | None, media_type: str | None, declared: str) -> None:
    profile = profile_input(b"x", filename=filename, media_type=media_type)
    assert profile["doc.declared_type"] == declared


@pytest.mark.parametrize(
    ("content", "filename", "mismatch"),
    [
        ("text/plain", "notes.csv", False),
        ("application/json", "data.txt", False),
        ("text/plain", "data.json", False),
        ("text/html", "page.htm", False),
        ("application/zip", "report.docx", False),
        (DOCX, "r.zip", False),
        ("application/x-ole-storage", "old.doc", False),
        ("application/octet-stream", "scan.pdf", False),
        ("empty", "scan.pdf", False),
        ("image/png", "scan.pdf", True),
        ("image/jpeg", "scan.png", True),
        ("text/plain", "scan.pdf", True),
        ("application/pdf", "report.docx", True),
        ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "r.docx", True),
    ],
)
def test_type_mismatch(content: str, filename: str, mismatch: bool) -> None:
    assert profile_input(SAMPLES[content], filename=filename)["doc.type_mismatch"] is mismatch
