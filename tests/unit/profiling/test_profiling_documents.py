"""Documents: real PDFs, images, archives and text files, as bytes and as paths."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from firstwatch.profiling import profile_input
from unit.profiling import docs
from unit.profiling.bounded import profile_bounded

SCRIPTS = {
    "en": "Latin",
    "de": "Latin",
    "fr": "Latin",
    "es": "Latin",
    "ru": "Cyrillic",
    "el": "Greek",
    "zh": "Han",
    "ja": "Hiragana",
}


@pytest.mark.parametrize("language", sorted(docs.PDF_FONTS))
def test_text_pdf_in_each_language(corpus: Path, language: str) -> None:
    profile = profile_input(corpus / f"{language}.pdf")
    assert profile["profile.kind"] == "document"
    assert profile["doc.declared_type"] == "application/pdf"
    assert profile["doc.sniffed_type"] == "application/pdf"
    assert profile["doc.type_mismatch"] is False
    assert profile["doc.pages"] == 2
    assert profile["doc.pages_analysed"] == 2
    assert profile["doc.text_chars_per_page"] > 100
    assert profile["doc.text_pages_share"] == 1.0
    assert profile["doc.scanned"] is False
    assert profile["doc.encrypted"] is False
    assert profile["doc.corrupt"] is False
    assert profile["text.language"] == language
    assert profile["text.script"] == SCRIPTS[language]
    # Each page holds one paragraph three times, and both pages are alike.
    assert profile["text.repeated_share"] == pytest.approx(5 / 6, abs=0.05)
    assert profile["profile.capped"] is False
    assert "profile.error" not in profile


def test_scanned_pdf_has_pages_but_no_text_layer(corpus: Path) -> None:
    profile = profile_input(corpus / "scanned.pdf")
    assert profile["doc.sniffed_type"] == "application/pdf"
    assert profile["doc.pages"] == 2
    assert profile["doc.text_chars_per_page"] == 0.0
    assert profile["doc.scanned"] is True
    assert profile["doc.corrupt"] is False
    assert "text.language" not in profile


def test_image_named_pdf_is_a_mismatch(corpus: Path) -> None:
    profile = profile_input(corpus / "image.pdf")
    assert profile["doc.declared_type"] == "application/pdf"
    assert profile["doc.sniffed_type"] == "image/png"
    assert profile["doc.type_mismatch"] is True
    assert profile["doc.scanned"] is True
    assert profile["doc.text_chars_per_page"] == 0.0


def test_declared_media_type_wins_over_file_name(corpus: Path) -> None:
    data = (corpus / "en.pdf").read_bytes()
    assert profile_input(data, filename="scan.png")["doc.type_mismatch"] is True
    profile = profile_input(data, filename="scan.png", media_type="application/pdf; v=1")
    assert profile["doc.declared_type"] == "application/pdf"
    assert profile["doc.type_mismatch"] is False
    assert profile_input(data)["doc.declared_type"] == "none"


def test_encrypted_pdf_needing_a_password(corpus: Path) -> None:
    profile = profile_input(corpus / "encrypted.pdf")
    assert profile["doc.encrypted"] is True
    assert profile["doc.corrupt"] is False
    assert "doc.pages" not in profile
    assert "text.language" not in profile
    assert "profile.error" not in profile


def test_encrypted_pdf_with_owner_password_only_is_read(corpus: Path) -> None:
    profile = profile_input(corpus / "owner-only.pdf")
    assert profile["doc.encrypted"] is True
    assert profile["doc.pages"] == 2
    assert profile["text.language"] == "en"


def test_truncated_pdf_is_corrupt(corpus: Path) -> None:
    profile = profile_input(corpus / "truncated.pdf")
    assert profile["doc.sniffed_type"] == "application/pdf"
    assert profile["doc.corrupt"] is True
    assert "profile.error" not in profile


def test_bytes_and_path_give_the_same_profile(corpus: Path) -> None:
    path = corpus / "de.pdf"
    from_path = profile_input(path)
    from_bytes = profile_input(path.read_bytes(), filename="de.pdf")
    del from_path["profile.ms"], from_bytes["profile.ms"]
    assert from_bytes == from_path


def test_docx_text_is_profiled(corpus: Path) -> None:
    profile = profile_input(corpus / "letter.docx")
    assert profile["doc.sniffed_type"] == (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    )
    assert profile["doc.type_mismatch"] is False
    assert profile["doc.archive_members"] == 2
    assert profile["text.language"] == "fr"


def test_docx_named_zip_is_not_a_mismatch_but_named_pdf_is(corpus: Path) -> None:
    data = (corpus / "letter.docx").read_bytes()
    assert profile_input(data, filename="letter.zip")["doc.type_mismatch"] is False
    assert profile_input(data, filename="letter.pdf")["doc.type_mismatch"] is True


def test_utf8_text_document(tmp_path: Path) -> None:
    path = tmp_path / "note.txt"
    path.write_text(docs.SAMPLES["es"], encoding="utf-8")
    profile = profile_input(path)
    assert profile["doc.sniffed_type"] == "text/plain"
    assert profile["doc.encoding"] == "utf-8"
    assert profile["text.language"] == "es"
    assert profile["text.replacement_share"] == 0.0


def test_legacy_encoded_document_is_flagged_and_still_read() -> None:
    data = docs.SAMPLES["fr"].encode("cp1252")
    profile = profile_input(data, filename="note.txt")
    assert profile["doc.sniffed_type"] == "text/plain"
    assert profile["doc.encoding"] == "legacy"
    assert profile["text.language"] == "fr"
    assert profile["text.mojibake_share"] == 0.0


def test_utf16_document_with_bom() -> None:
    data = docs.SAMPLES["ru"].encode("utf-16")
    profile = profile_input(data, filename="note.txt")
    assert profile["doc.sniffed_type"] == "text/plain"
    assert profile["doc.encoding"] == "utf-16"
    assert profile["text.script"] == "Cyrillic"
    assert profile["text.language"] == "ru"


def test_json_document_gets_json_and_text_features() -> None:
    body = {"customer": "ACME", "note": docs.SAMPLES["de"], "lines": [1, 2, 3]}
    profile = profile_input(json.dumps(body).encode(), filename="order.json")
    assert profile["doc.sniffed_type"] == "application/json"
    assert profile["doc.corrupt"] is False
    assert profile["json.keys"] == "customer,lines,note"
    assert profile["json.len.lines"] == 3
    assert profile["text.language"] == "de"


def test_broken_json_document_is_corrupt() -> None:
    profile = profile_input(b'{"customer": "ACME", "lines": [1, 2', filename="order.json")
    assert profile["doc.sniffed_type"] == "application/json"
    assert profile["doc.corrupt"] is True
    assert "json.keys" not in profile


def test_html_document_is_read_without_its_markup() -> None:
    page = (
        "<!DOCTYPE html><html><head><style>body { color: red; }</style>"
        f"<script>var x = 1;</script></head><body><p>{docs.SAMPLES['en']}</p></body></html>"
    )
    profile = profile_input(page.encode(), filename="page.html")
    assert profile["doc.sniffed_type"] == "text/html"
    assert profile["text.language"] == "en"
    assert profile["text.chars"] < len(page) - 60


def test_empty_document() -> None:
    profile = profile_input(b"", filename="upload.pdf")
    assert profile["doc.sniffed_type"] == "empty"
    assert profile["doc.bytes"] == 0
    assert profile["doc.type_mismatch"] is False


def test_missing_file_is_reported_not_raised(tmp_path: Path) -> None:
    profile = profile_input(tmp_path / "gone.pdf")
    assert profile["profile.error"] == "FileNotFoundError"
    assert profile["profile.kind"] == "document"
    assert isinstance(profile["profile.ms"], float)


def test_paths_that_are_not_regular_files_are_not_opened(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.pdf"
    os.mkfifo(fifo)
    # Opening a FIFO without a writer would block for ever.
    assert profile_bounded(fifo)["profile.error"] == "NotARegularFile"
    assert profile_input(tmp_path)["profile.error"] == "NotARegularFile"
