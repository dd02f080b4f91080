"""Hostile inputs finish within their caps, in bounded memory, without raising."""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import pypdf
import pytest

from firstwatch.profiling import Limits
from unit.profiling import docs
from unit.profiling.bounded import profile_bounded

INFLATED_MB = 256
# Far below what inflating a bomb would take; far above what the caps let through.
MEMORY_CEILING = 96 * 1024 * 1024
FIFTY_MB = 50 * 1024 * 1024


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    docs.many_pages_pdf(folder / "long.pdf", pages=300)
    docs.zip_bomb(folder / "bomb.pdf", inflated_mb=INFLATED_MB)
    docs.stream_bomb_pdf(folder / "stream-bomb.pdf", inflated_mb=INFLATED_MB)
    docs.operator_heavy_pdf(folder / "operators.pdf", operations=1_000_000)
    docs.language_pdf(folder / "en.pdf", "en")
    docs.encrypted_pdf(folder / "en.pdf", folder / "encrypted.pdf")
    return folder


@pytest.fixture
def peak_memory() -> Iterator[Callable[[], int]]:
    """Trace allocations (of every thread) for the test; yield a reader of their peak."""
    tracemalloc.start()
    try:
        yield lambda: tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_300_page_pdf_reads_only_the_page_cap(hostile: Path) -> None:
    profile = profile_bounded(hostile / "long.pdf")
    assert profile["doc.pages"] == 300
    assert profile["doc.pages_analysed"] == Limits().max_pages
    assert profile["profile.capped"] is True
    assert profile["profile.cap"] == "pages"
    assert profile["doc.scanned"] is False
    assert profile["text.language"] == "en"


def test_time_budget_is_checked_between_pages(hostile: Path) -> None:
    profile = profile_bounded(hostile / "long.pdf", limits=Limits(time_budget_s=0.0))
    assert profile["doc.pages"] == 300
    assert profile["doc.pages_analysed"] == 0
    assert "time" in str(profile["profile.cap"]).split(",")
    assert "doc.text_chars_per_page" not in profile


def test_zip_bomb_named_pdf(hostile: Path, peak_memory: Callable[[], int]) -> None:
    profile = profile_bounded(hostile / "bomb.pdf")
    assert profile["doc.declared_type"] == "application/pdf"
    assert profile["doc.type_mismatch"] is True
    assert profile["doc.compression_ratio"] > 500
    assert profile["profile.capped"] is True
    assert "decompressed" in str(profile["profile.cap"]).split(",")
    assert "profile.error" not in profile
    assert peak_memory() < MEMORY_CEILING


def test_pdf_whose_content_stream_is_a_bomb(hostile: Path, peak_memory: Callable[[], int]) -> None:
    profile = profile_bounded(hostile / "stream-bomb.pdf")
    assert profile["doc.sniffed_type"] == "application/pdf"
    assert profile["doc.pages"] == 1
    assert profile["profile.capped"] is True
    assert profile["profile.cap"] == "decompressed"
    assert "doc.scanned" not in profile
    assert "profile.error" not in profile
    assert peak_memory() < MEMORY_CEILING


def test_page_with_a_million_operations_stops_at_the_parsing_cap(hostile: Path) -> None:
    profile = profile_bounded(hostile / "operators.pdf")
    assert profile["doc.bytes"] < 20_000
    assert profile["doc.pages"] == 1
    assert profile["profile.capped"] is True
    assert profile["profile.cap"] == "pdf_limit"
    # A page not read to its end is neither a scan nor a text page.
    assert profile["doc.pages_analysed"] == 0
    assert "doc.scanned" not in profile
    assert "profile.error" not in profile


def test_our_pdf_caps_do_not_leak_into_other_pypdf_users(hostile: Path) -> None:
    before = pypdf.get_configuration()
    profile_bounded(hostile / "stream-bomb.pdf")
    assert pypdf.get_configuration() == before


def test_encrypted_pdf_returns(hostile: Path) -> None:
    profile = profile_bounded(hostile / "encrypted.pdf")
    assert profile["doc.encrypted"] is True
    assert profile["profile.capped"] is False


def test_fifty_megabytes_of_text() -> None:
    text = (docs.SAMPLES["de"] + "\n") * (FIFTY_MB // len(docs.SAMPLES["de"]))
    profile = profile_bounded(text)
    assert profile["text.chars"] == len(text)
    assert profile["profile.capped"] is True
    assert profile["profile.cap"] == "text"
    assert profile["text.language"] == "de"
    assert profile["text.repeated_share"] > 0.99


def test_fifty_megabyte_text_file(tmp_path: Path, peak_memory: Callable[[], int]) -> None:
    path = tmp_path / "dump.txt"
    line = (docs.SAMPLES["fr"] + "\n").encode()
    with path.open("wb") as out:
        for _ in range(FIFTY_MB // len(line)):
            out.write(line)
    profile = profile_bounded(path)
    assert profile["doc.bytes"] == path.stat().st_size
    assert profile["doc.sniffed_type"] == "text/plain"
    assert profile["profile.cap"] == "text"
    assert profile["text.language"] == "fr"
    assert peak_memory() < MEMORY_CEILING


def test_document_over_the_byte_cap_is_only_sniffed() -> None:
    data = b"%PDF-1.7\n" + bytes(2 * 1024 * 1024)
    profile = profile_bounded(data, limits=Limits(max_bytes=1024 * 1024))
    assert profile["doc.sniffed_type"] == "application/pdf"
    assert profile["doc.bytes"] == len(data)
    assert profile["profile.cap"] == "bytes"
    assert "doc.pages" not in profile


def test_deeply_nested_json_document_is_corrupt_not_a_crash() -> None:
    data = b"[" * 200_000 + b"]" * 200_000
    profile = profile_bounded(data, filename="deep.json")
    assert profile["doc.sniffed_type"] == "application/json"
    assert profile["doc.corrupt"] is True
    assert "profile.error" not in profile


def test_random_bytes_named_pdf() -> None:
    data = bytes(range(256)) * 4096
    profile = profile_bounded(data, filename="upload.pdf")
    assert profile["doc.sniffed_type"] == "application/octet-stream"
    assert profile["doc.type_mismatch"] is False
    assert "profile.error" not in profile


def test_garbage_after_a_pdf_header() -> None:
    data = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n" + bytes(range(256)) * 64
    profile = profile_bounded(data)
    assert profile["doc.corrupt"] is True
    assert "profile.error" not in profile


def test_json_dump_of_a_huge_object() -> None:
    data = json.dumps({f"key{n}": "x" * 10 for n in range(200_000)}).encode()
    profile = profile_bounded(data, filename="big.json")
    assert profile["doc.sniffed_type"] == "application/json"
    assert profile["profile.capped"] is True
