"""PDF documents: pages, text layer, encryption, damage, with pypdf under our caps."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Iterator
from typing import Any, BinaryIO

from firstwatch.profiling._work import Work

MIN_PAGE_CHARS = 16
_TAIL_BYTES = 4096

# pypdf reports the damage it repairs through logging; with no handler configured, Python's
# last-resort handler would print each report on the agent's stderr.
logging.getLogger("pypdf").addHandler(logging.NullHandler())


def _pypdf_overwrites(work: Work, configuration_type: Any) -> dict[str, Any]:
    inflated = work.limits.max_decompressed_bytes
    wanted: dict[str, Any] = {
        "maximum_declared_stream_length": work.limits.max_bytes,
        "array_based_stream_maximum_output_length": inflated,
        "jbig2_maximum_output_length": inflated,
        "lzw_maximum_output_length": inflated,
        "run_length_maximum_output_length": inflated,
        "zlib_maximum_output_length": inflated,
        "zlib_maximum_recovery_input_length": min(inflated, 5_000_000),
        "brotli_maximum_output_length": inflated,
        "image_maximum_buffer_size": inflated,
        "stream_decoding_work_maximum_length": 4 * inflated,
        "stream_parsing_work_maximum_count": work.limits.max_page_operations,
        "xfa_decoding_work_maximum_length": 4 * inflated,
        "xmp_maximum_input_length": min(inflated, 5_000_000),
        "jbig2dec_binary": None,
        "disable_legacy_handling": True,
    }
    known = {field.name for field in dataclasses.fields(configuration_type)}
    return {name: value for name, value in wanted.items() if name in known}


@contextlib.contextmanager
def _capped_pypdf(work: Work) -> Iterator[None]:
    """Apply our caps to pypdf for this context only (pypdf >= 6.18 has per-context limits)."""
    import pypdf

    apply = getattr(pypdf, "apply_configuration", None)
    configuration_type = getattr(pypdf, "Configuration", None)
    if apply is None or configuration_type is None:
        yield
        return
    with apply(**_pypdf_overwrites(work, configuration_type)):
        yield


def _limit_reached(work: Work, error: Exception) -> None:
    work.cap("decompressed" if "decompress" in str(error).lower() else "pdf_limit")


def _is_truncated(stream: BinaryIO, size: int) -> bool:
    stream.seek(max(0, size - _TAIL_BYTES))
    tail = stream.read(_TAIL_BYTES)
    stream.seek(0)
    return b"%%EOF" not in tail


def profile_pdf(stream: BinaryIO, size: int, work: Work) -> str:
    """Add the ``doc.*`` features of a PDF and return the text of the pages analysed.

    Args:
        stream: The PDF, seekable, positioned anywhere.
        size: Its size in bytes.
        work: The profile in progress.

    Returns:
        The text layer of the pages analysed, at most ``max_text_chars`` characters.
    """
    from pypdf import PdfReader
    from pypdf.errors import LimitReachedError

    features = work.features
    limits = work.limits
    features["doc.corrupt"] = _is_truncated(stream, size)
    features["doc.encrypted"] = False
    with _capped_pypdf(work):
        try:
            reader = PdfReader(stream, strict=False)
            features["doc.encrypted"] = encrypted = reader.is_encrypted
            if encrypted and not _decrypt_without_password(reader):
                # A user password is needed: even the page count is out of reach.
                return ""
            n_pages = len(reader.pages)
        except LimitReachedError as error:
            _limit_reached(work, error)
            return ""
        except Exception:
            # The document is damaged or hostile beyond what pypdf can repair.
            features["doc.corrupt"] = True
            return ""
        features["doc.pages"] = n_pages
        if n_pages > limits.max_pages:
            work.cap("pages")
        texts: list[str] = []
        kept = analysed = layer_chars = text_pages = 0
        for index in range(min(n_pages, limits.max_pages)):
            if work.out_of_time():
                break
            try:
                page_text = reader.pages[index].extract_text()
            except LimitReachedError as error:
                # Not read to the end: neither a scan nor a text page.
                _limit_reached(work, error)
                continue
            except Exception:
                features["doc.corrupt"] = True
                continue
            analysed += 1
            chars = len("".join(page_text.split()))
            layer_chars += chars
            text_pages += chars >= MIN_PAGE_CHARS
            if kept < limits.max_text_chars and page_text:
                part = page_text[: limits.max_text_chars - kept]
                texts.append(part)
                kept += len(part)
    features["doc.pages_analysed"] = analysed
    if analysed:
        features["doc.text_chars_per_page"] = round(layer_chars / analysed, 2)
        features["doc.text_pages_share"] = round(text_pages / analysed, 4)
        features["doc.scanned"] = text_pages == 0
    return "\n\n".join(texts)


def _decrypt_without_password(reader: Any) -> bool:
    """Open a PDF that has only an owner password; False when a user password is needed."""
    try:
        return bool(reader.decrypt(""))
    except Exception:
        # Unsupported algorithm, or AES without the optional crypto dependency.
        return False
