"""The demo's input documents, written as real files: what the agents and the profilers read.

Staging gets clean English PDFs with a text layer. Production also gets what users really send:
scanned pages as image-only PDFs, contracts in other languages and scripts, a photo uploaded as
`.pdf`, text pasted five times, and uploads cut short.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import random
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Final

from PIL import Image, ImageDraw, ImageFont
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from firstwatch.demo import texts

CLEAN: Final = "clean"
SCANNED: Final = "scanned"
IMAGE_AS_PDF: Final = "image_as_pdf"
FOREIGN: Final = "foreign_language"
PASTED: Final = "pasted_five_times"
TRUNCATED: Final = "truncated"
KINDS: Final = (CLEAN, SCANNED, IMAGE_AS_PDF, FOREIGN, PASTED, TRUNCATED)

# Fonts that cover Cyrillic, looked for in this order (Debian, Fedora, Arch, macOS).
CYRILLIC_FONTS: Final = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf"),
    Path("/usr/share/fonts/TTF/DejaVuSans.ttf"),
    Path("/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf"),
    Path("/Library/Fonts/Arial Unicode.ttf"),
    Path("/System/Library/Fonts/Supplemental/Arial Unicode.ttf"),
)
_CID_FONTS: Final = {"zh": "STSong-Light", "ja": "HeiseiMin-W3"}
_MARGIN = 56.0
_FONT_SIZE = 11.0
_LEADING = 15.0
_SCAN_SIZE = (827, 1169)  # A4 at 100 dpi


@dataclass(frozen=True)
class Spec:
    """What one document says and how it arrives."""

    doc_type: str
    kind: str
    language: str
    fields: dict[str, str]
    filename: str


@dataclass(frozen=True)
class Document:
    """A document written to disk, with the truth about it."""

    path: Path
    doc_type: str
    kind: str
    language: str
    fields: dict[str, str]
    digest: str


@cache
def cyrillic_font() -> Path | None:
    """A TrueType font that covers Cyrillic, if this machine has one."""
    return next((path for path in CYRILLIC_FONTS if path.is_file()), None)


def languages_available() -> tuple[str, ...]:
    """The languages documents can be written in here (Russian needs a Cyrillic font)."""
    every = tuple(texts.CURRENCIES)
    return every if cyrillic_font() is not None else tuple(x for x in every if x != "ru")


def _font_for(language: str) -> str:
    if language in _CID_FONTS:
        name = _CID_FONTS[language]
        if name not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(UnicodeCIDFont(name))
        return name
    if language == "ru":
        font = cyrillic_font()
        if font is None:
            raise RuntimeError("no font with Cyrillic letters on this machine")
        if "DemoCyrillic" not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont("DemoCyrillic", str(font)))
        return "DemoCyrillic"
    return "Helvetica"


def _wrap(text: str, measure: Callable[[str], float], width: float) -> list[str]:
    """Break text into lines no wider than `width`: at spaces, or anywhere in CJK text."""
    spaced = " " in text
    lines: list[str] = []
    line = ""
    for token in text.split(" ") if spaced else list(text):
        candidate = f"{line} {token}" if line and spaced else line + token
        if line and measure(candidate) > width:
            lines.append(line)
            line = token
        else:
            line = candidate
    if line:
        lines.append(line)
    return lines


def pages_of(spec: Spec) -> list[list[str]]:
    """The document's pages as paragraphs, with its fields written in its language."""
    fields = spec.fields
    language = spec.language
    day = dt.date.fromisoformat(fields["date"])
    values = {
        **fields,
        "date": texts.written_date(day, language),
        "amount": texts.written_amount(Decimal(fields["amount"]), language)
        if "amount" in fields
        else "",
    }
    template = texts.TEMPLATES[spec.doc_type][language]
    return [[paragraph.format(**values) for paragraph in page] for page in template]


def _pdf_bytes(pages: list[list[str]], language: str) -> bytes:
    font = _font_for(language)
    buffer = io.BytesIO()
    width, height = A4
    pdf = canvas.Canvas(buffer, pagesize=A4, invariant=True)
    for page in pages:
        pdf.setFont(font, _FONT_SIZE)
        y = height - _MARGIN
        for paragraph in page:
            for line in _wrap(
                paragraph,
                lambda s: pdfmetrics.stringWidth(s, font, _FONT_SIZE),
                width - 2 * _MARGIN,
            ):
                pdf.drawString(_MARGIN, y, line)
                y -= _LEADING
            y -= _LEADING / 2
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


@cache
def _scan_font() -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    font = cyrillic_font()
    if font is not None:
        return ImageFont.truetype(str(font), 15)
    return ImageFont.load_default(size=15)


def _scan(page: list[str], rng: random.Random) -> bytes:
    """A page as a phone or office scanner would capture it: grey, tilted, speckled, JPEG."""
    width, height = _SCAN_SIZE
    paper = rng.randint(222, 242)
    image = Image.new("L", _SCAN_SIZE, color=paper)
    draw = ImageDraw.Draw(image)
    font = _scan_font()
    y = 80
    for paragraph in page:
        for line in _wrap(paragraph, font.getlength, width - 160):
            draw.text((80, y), line, fill=rng.randint(25, 70), font=font)
            y += 22
        y += 11
    for _ in range(300):
        x, z = rng.randrange(width), rng.randrange(height)
        draw.point((x, z), fill=rng.randint(90, 180))
    image = image.rotate(
        rng.uniform(-1.2, 1.2), fillcolor=paper, resample=Image.Resampling.BILINEAR
    )
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=55)
    return out.getvalue()


def _scanned_pdf(pages: list[list[str]], rng: random.Random) -> bytes:
    buffer = io.BytesIO()
    width, height = A4
    pdf = canvas.Canvas(buffer, pagesize=A4, invariant=True)
    for page in pages:
        pdf.drawImage(ImageReader(io.BytesIO(_scan(page, rng))), 0, 0, width=width, height=height)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def render(spec: Spec, seed: int) -> bytes:
    """The bytes of a document as it arrives.

    Args:
        spec: What it says and how it arrives (its kind).
        seed: Makes the scan's noise and the cut of a truncated upload repeatable.

    Returns:
        The file's bytes.
    """
    rng = random.Random(seed)
    pages = pages_of(spec)
    if spec.kind in (CLEAN, FOREIGN):
        return _pdf_bytes(pages, spec.language)
    if spec.kind == SCANNED:
        return _scanned_pdf(pages, rng)
    if spec.kind == IMAGE_AS_PDF:
        return _scan(pages[0], rng)
    if spec.kind == PASTED:
        text = "\n\n".join("\n".join(page) for page in pages)
        return ("\n\n".join([text] * 5) + "\n").encode()
    if spec.kind == TRUNCATED:
        whole = _pdf_bytes(pages, spec.language)
        return whole[: int(len(whole) * rng.uniform(0.35, 0.7))]
    raise ValueError(f"unknown document kind {spec.kind!r}")


def write(spec: Spec, directory: Path, seed: int) -> Document:
    """Write a document into `directory` under its file name.

    Args:
        spec: The document.
        directory: Where to write it (created if missing).
        seed: See `render`.

    Returns:
        The document, with its path and the SHA-256 of its bytes.
    """
    data = render(spec, seed)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / spec.filename
    path.write_bytes(data)
    return Document(
        path=path,
        doc_type=spec.doc_type,
        kind=spec.kind,
        language=spec.language,
        fields=spec.fields,
        digest=hashlib.sha256(data).hexdigest(),
    )
