"""Media types: declared (by the caller or the file name) and sniffed (from magic bytes)."""

from __future__ import annotations

import mimetypes
import os

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
GIF = "image/gif"
TIFF = "image/tiff"
WEBP = "image/webp"
ZIP = "application/zip"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
ODT = "application/vnd.oasis.opendocument.text"
EPUB = "application/epub+zip"
OLE = "application/x-ole-storage"
GZIP = "application/gzip"
SEVEN_ZIP = "application/x-7z-compressed"
RTF = "application/rtf"
TEXT = "text/plain"
JSON = "application/json"
HTML = "text/html"
XML = "application/xml"
BINARY = "application/octet-stream"
EMPTY = "empty"

NOT_DECLARED = "none"
UNKNOWN = "unknown"

HEAD_BYTES = 8192
IMAGES = frozenset({PNG, JPEG, GIF, TIFF, WEBP})
ZIP_BASED = frozenset({ZIP, DOCX, XLSX, PPTX, ODT, EPUB})
TEXTUAL = frozenset({TEXT, JSON, HTML, XML})
_OLE_BASED = frozenset(
    {OLE, "application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint"}
)
_TEXTY_APPLICATIONS = frozenset({JSON, XML, "application/javascript", "application/x-ndjson"})
_ALIASES = {
    "image/jpg": JPEG,
    "image/pjpeg": JPEG,
    "application/x-pdf": PDF,
    "text/json": JSON,
    "text/xml": XML,
    "application/x-zip-compressed": ZIP,
    "application/x-gzip": GZIP,
}
_EXTENSIONS = {
    ".pdf": PDF,
    ".png": PNG,
    ".jpg": JPEG,
    ".jpeg": JPEG,
    ".gif": GIF,
    ".tif": TIFF,
    ".tiff": TIFF,
    ".webp": WEBP,
    ".zip": ZIP,
    ".docx": DOCX,
    ".xlsx": XLSX,
    ".pptx": PPTX,
    ".odt": ODT,
    ".epub": EPUB,
    ".doc": "application/msword",
    ".xls": "application/vnd.ms-excel",
    ".ppt": "application/vnd.ms-powerpoint",
    ".txt": TEXT,
    ".md": "text/markdown",
    ".csv": "text/csv",
    ".json": JSON,
    ".html": HTML,
    ".htm": HTML,
    ".xml": XML,
    ".rtf": RTF,
    ".gz": GZIP,
    ".7z": SEVEN_ZIP,
}
# Python's built-in table only: /etc/mime.types differs between machines.
_BUILTIN_TYPES = mimetypes.MimeTypes()
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"\xff\xd8\xff", JPEG),
    (b"GIF87a", GIF),
    (b"GIF89a", GIF),
    (b"II*\x00", TIFF),
    (b"MM\x00*", TIFF),
    (b"PK\x03\x04", ZIP),
    (b"PK\x05\x06", ZIP),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", OLE),
    (b"\x1f\x8b", GZIP),
    (b"7z\xbc\xaf\x27\x1c", SEVEN_ZIP),
    (b"{\\rtf", RTF),
)
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
_TEXT_CONTROLS = frozenset(b"\t\n\r\f\b\x1b")


def normalise(media_type: str) -> str:
    """Lower-case a media type, drop its parameters and map common aliases."""
    base = media_type.split(";", 1)[0].strip().lower()
    return _ALIASES.get(base, base)


def declared_type(filename: str | None, media_type: str | None) -> str:
    """Return the media type the caller declared, else the file name's, else ``none``."""
    if media_type:
        return normalise(media_type)
    if not filename:
        return NOT_DECLARED
    extension = os.path.splitext(filename)[1].lower()
    if not extension:
        return UNKNOWN
    guessed = _EXTENSIONS.get(extension) or _BUILTIN_TYPES.guess_type("x" + extension)[0]
    return normalise(guessed) if guessed else UNKNOWN


def _looks_textual(head: bytes) -> bool:
    controls = sum(1 for byte in head if byte < 0x20 and byte not in _TEXT_CONTROLS)
    return b"\x00" not in head and controls <= len(head) // 100


def _textual_type(head: bytes) -> str:
    start = head.lstrip()[:512].lower()
    if start.startswith((b"{", b"[")):
        return JSON
    if start.startswith((b"<!doctype html", b"<html")) or b"<html" in start or b"<body" in start:
        return HTML
    if start.startswith(b"<?xml"):
        return XML
    return TEXT


def sniff(head: bytes) -> str:
    """Return the media type the first bytes of a document show.

    Recognises PDF, PNG, JPEG, GIF, TIFF, WebP, ZIP (refined later to OOXML/ODF/EPUB from
    the member names), OLE2, gzip, 7z, RTF, JSON, HTML, XML and plain text; else
    ``application/octet-stream`` (``empty`` for no bytes).
    """
    if not head:
        return EMPTY
    if b"%PDF-" in head[:1024]:
        return PDF
    for magic, media_type in _MAGIC:
        if head.startswith(magic):
            return media_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    for bom in _BOMS:
        if head.startswith(bom):
            text = head[len(bom) :]
            if bom != _BOMS[0]:
                codec = "utf-16-le" if bom == b"\xff\xfe" else "utf-16-be"
                text = text[: len(text) // 2 * 2].decode(codec, "replace").encode("utf-8")
            return _textual_type(text)
    if _looks_textual(head):
        return _textual_type(head)
    return BINARY


def compatible(declared: str, sniffed: str) -> bool:
    """Return False when the declared type is known and the content is something else."""
    if declared in (NOT_DECLARED, UNKNOWN) or sniffed in (BINARY, EMPTY):
        return True
    if declared == sniffed:
        return True
    if sniffed in TEXTUAL:
        return (
            declared.startswith("text/")
            or declared in _TEXTY_APPLICATIONS
            or declared.endswith(("+json", "+xml"))
        )
    if sniffed in ZIP_BASED and declared in ZIP_BASED:
        return ZIP in (declared, sniffed)
    return sniffed in _OLE_BASED and declared in _OLE_BASED
