"""ZIP-based documents (DOCX, XLSX, PPTX, ODT, EPUB, plain ZIP) without inflating bombs."""

from __future__ import annotations

import html
import re
import zipfile
from typing import BinaryIO

from firstwatch.profiling import _sniff
from firstwatch.profiling._work import Work

_MARKERS = (
    ("word/document.xml", _sniff.DOCX),
    ("xl/workbook.xml", _sniff.XLSX),
    ("ppt/presentation.xml", _sniff.PPTX),
)
_MIMETYPE_MEMBER = "mimetype"
_ODF_TYPES = frozenset({_sniff.ODT, _sniff.EPUB})
_PARAGRAPH_END = re.compile(r"</w:p>|<w:br\s*/>|<w:tab\s*/>")
_TAG = re.compile(r"<[^>]*>")


def _read_capped(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int, work: Work) -> bytes:
    with archive.open(info) as member:
        data = member.read(limit + 1)
    if len(data) > limit:
        work.cap("decompressed")
        data = data[:limit]
    return data


def _docx_text(xml: bytes) -> str:
    text = _PARAGRAPH_END.sub("\n", xml.decode("utf-8", "replace"))
    return html.unescape(_TAG.sub("", text))


def profile_zip(stream: BinaryIO, work: Work) -> tuple[str, str]:
    """Add the ``doc.*`` features of a ZIP-based document.

    Only the central directory is read, plus the main part of a DOCX, inflated no further
    than ``max_decompressed_bytes``.

    Args:
        stream: The archive, seekable.
        work: The profile in progress.

    Returns:
        ``(media type refined from the member names, text of a DOCX or "")``.
    """
    features = work.features
    features["doc.corrupt"] = False
    try:
        archive = zipfile.ZipFile(stream)
        infos = archive.infolist()
    except Exception:
        features["doc.corrupt"] = True
        return _sniff.ZIP, ""
    with archive:
        inflated = sum(info.file_size for info in infos)
        compressed = sum(info.compress_size for info in infos)
        features["doc.archive_members"] = len(infos)
        features["doc.compression_ratio"] = round(inflated / max(compressed, 1), 2)
        features["doc.encrypted"] = any(info.flag_bits & 0x1 for info in infos)
        by_name = {info.filename: info for info in infos}
        media_type = _sniff.ZIP
        for name, marker_type in _MARKERS:
            if name in by_name:
                media_type = marker_type
                break
        try:
            if _MIMETYPE_MEMBER in by_name:
                with archive.open(by_name[_MIMETYPE_MEMBER]) as member:
                    found = member.read(128).decode("ascii", "replace").strip()
                media_type = found if found in _ODF_TYPES else media_type
            if media_type == _sniff.DOCX and not features["doc.encrypted"]:
                limit = work.limits.max_decompressed_bytes
                xml = _read_capped(archive, by_name["word/document.xml"], limit, work)
                return media_type, _docx_text(xml)
        except Exception:
            features["doc.corrupt"] = True
        return media_type, ""
