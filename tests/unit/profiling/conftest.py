"""Real documents, generated once per session for the profiler tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from unit.profiling import docs


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of small generated documents (the hostile ones have their own fixtures)."""
    folder = tmp_path_factory.mktemp("corpus")
    for language in docs.PDF_FONTS:
        docs.language_pdf(folder / f"{language}.pdf", language)
    docs.scanned_pdf(folder / "scanned.pdf")
    docs.png(folder / "image.pdf")
    docs.encrypted_pdf(folder / "en.pdf", folder / "encrypted.pdf")
    docs.encrypted_pdf(folder / "en.pdf", folder / "owner-only.pdf", user_password="")
    docs.truncated(folder / "en.pdf", folder / "truncated.pdf")
    docs.docx(folder / "letter.docx", [docs.SAMPLES["fr"], docs.SAMPLES["fr"][::-1]])
    return folder
