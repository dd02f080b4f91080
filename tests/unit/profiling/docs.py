"""Generators of real documents for the profiler tests (and, later, the demo).

Plain functions that write a file and return its path. Text PDFs come from reportlab, with
Debian's DejaVu Sans for Cyrillic and Greek and reportlab's CID fonts for Chinese/Japanese.
"""

from __future__ import annotations

import random
import zipfile
import zlib
from pathlib import Path

from PIL import Image, ImageDraw
from pypdf import PdfReader, PdfWriter
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

DEJAVU_SANS = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
CID_FONTS = ("STSong-Light", "HeiseiMin-W3")
MARGIN = 56.0
FONT_SIZE = 11.0
LEADING = 15.0

# One paragraph per language: an invoice-processing agent's everyday input.
SAMPLES = {
    "en": (
        "The invoice must be paid within thirty days of receipt. Please contact our accounts "
        "department if you have any questions about this statement or the amounts listed below."
    ),
    "de": (
        "Die Rechnung ist innerhalb von dreißig Tagen nach Erhalt zu bezahlen. Bei Fragen zu "
        "dieser Aufstellung oder zu den unten aufgeführten Beträgen wenden Sie sich bitte an "
        "unsere Buchhaltung."
    ),
    "fr": (
        "La facture doit être payée dans les trente jours suivant sa réception. Pour toute "
        "question sur ce relevé ou sur les montants indiqués ci-dessous, veuillez contacter "
        "notre service comptable."
    ),
    "es": (
        "La factura debe pagarse dentro de los treinta días siguientes a su recepción. Si tiene "
        "alguna pregunta sobre este extracto o sobre los importes indicados a continuación, "
        "póngase en contacto con nuestro departamento de contabilidad."
    ),
    "ru": (
        "Счёт должен быть оплачен в течение тридцати дней с момента получения. Если у вас есть "
        "вопросы по этой выписке или по суммам, указанным ниже, обратитесь в нашу бухгалтерию."
    ),
    "el": (
        "Το τιμολόγιο πρέπει να εξοφληθεί εντός τριάντα ημερών από την παραλαβή. Για "
        "οποιαδήποτε ερώτηση σχετικά με αυτή την κατάσταση ή τα ποσά που αναφέρονται παρακάτω, "
        "επικοινωνήστε με το λογιστήριό μας."
    ),
    "ar": (
        "يجب دفع الفاتورة خلال ثلاثين يومًا من تاريخ الاستلام. إذا كانت لديك أي أسئلة حول هذا "
        "الكشف أو المبالغ المذكورة أدناه، يرجى الاتصال بقسم المحاسبة لدينا."
    ),
    "zh": (
        "发票必须在收到后三十天内付款。如果您对本对账单或下列金额有任何疑问，"
        "请联系我们的会计部门。我们将尽快答复您的问题。"
    ),
    "ja": (
        "請求書は受領後三十日以内にお支払いください。本明細書または下記の金額について"
        "ご不明な点がございましたら、経理部までお問い合わせください。"
    ),
}
# The font each language needs in a PDF.
PDF_FONTS = {
    "en": "Helvetica",
    "de": "Helvetica",
    "fr": "Helvetica",
    "es": "Helvetica",
    "ru": "DejaVuSans",
    "el": "DejaVuSans",
    "zh": "STSong-Light",
    "ja": "HeiseiMin-W3",
}


def _register(font: str) -> str:
    if font in pdfmetrics.getRegisteredFontNames():
        return font
    if font in CID_FONTS:
        pdfmetrics.registerFont(UnicodeCIDFont(font))
    elif font == "DejaVuSans":
        pdfmetrics.registerFont(TTFont(font, str(DEJAVU_SANS)))
    return font


def _wrap(text: str, font: str, width: float) -> list[str]:
    """Break text into lines that fit, at spaces where there are spaces, else anywhere."""
    lines: list[str] = []
    line = ""
    for token in text.split(" ") if " " in text else list(text):
        candidate = f"{line} {token}" if line and " " in text else line + token
        if line and pdfmetrics.stringWidth(candidate, font, FONT_SIZE) > width:
            lines.append(line)
            line = token
        else:
            line = candidate
    if line:
        lines.append(line)
    return lines


def text_pdf(path: Path, pages: list[str], *, font: str = "Helvetica") -> Path:
    """Write a PDF with a real text layer: one page per string in ``pages``."""
    font = _register(font)
    width, height = A4
    pdf = canvas.Canvas(str(path), pagesize=A4)
    for page in pages:
        pdf.setFont(font, FONT_SIZE)
        y = height - MARGIN
        for paragraph in page.split("\n"):
            for line in _wrap(paragraph, font, width - 2 * MARGIN):
                pdf.drawString(MARGIN, y, line)
                y -= LEADING
            y -= LEADING / 2
        pdf.showPage()
    pdf.save()
    return path


def language_pdf(path: Path, language: str, *, pages: int = 2) -> Path:
    """Write a text PDF in one of the ``PDF_FONTS`` languages."""
    page = "\n".join([SAMPLES[language]] * 3)
    return text_pdf(path, [page] * pages, font=PDF_FONTS[language])


def scan_image(seed: int = 0) -> Image.Image:
    """Return a grey page with dark strokes where lines of text would be, like a scan."""
    rng = random.Random(seed)
    image = Image.new("L", (620, 877), color=235)
    draw = ImageDraw.Draw(image)
    for row in range(60, 820, 22):
        x = 50
        while x < 560:
            word = rng.randint(12, 60)
            draw.rectangle((x, row, min(x + word, 570), row + 9), fill=rng.randint(20, 70))
            x += word + rng.randint(6, 12)
    return image


def scanned_pdf(path: Path, *, pages: int = 2) -> Path:
    """Write an image-only PDF: each page is a raster image and there is no text layer."""
    width, height = A4
    pdf = canvas.Canvas(str(path), pagesize=A4)
    for number in range(pages):
        pdf.drawImage(ImageReader(scan_image(number)), 0, 0, width=width, height=height)
        pdf.showPage()
    pdf.save()
    return path


def png(path: Path) -> Path:
    """Write a PNG scan (name it ``.pdf`` to make a mislabelled document)."""
    scan_image().save(path, format="PNG")
    return path


def encrypted_pdf(
    source: Path, path: Path, *, user_password: str = "s3cret", owner_password: str = "0wner"
) -> Path:
    """Write an encrypted copy of ``source`` (RC4-128, which needs no crypto library).

    With an empty ``user_password`` anyone may open it; only editing needs the owner's.
    """
    writer = PdfWriter(clone_from=PdfReader(source))
    writer.encrypt(user_password=user_password, owner_password=owner_password, algorithm="RC4-128")
    with path.open("wb") as out:
        writer.write(out)
    return path


def truncated(source: Path, path: Path, *, keep: float = 0.6) -> Path:
    """Write the first ``keep`` share of ``source``'s bytes, as an interrupted upload would."""
    data = source.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def many_pages_pdf(path: Path, *, pages: int = 300) -> Path:
    """Write a long text PDF, one short paragraph per page."""
    return text_pdf(path, [f"Page {n}. {SAMPLES['en']}" for n in range(1, pages + 1)])


def zip_bomb(path: Path, *, inflated_mb: int = 256) -> Path:
    """Write a DOCX-shaped ZIP whose document part inflates to ``inflated_mb`` MiB of zeros."""
    chunk = bytes(1 << 20)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as bomb:
        bomb.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        with bomb.open("word/document.xml", "w", force_zip64=True) as member:
            for _ in range(inflated_mb):
                member.write(chunk)
    return path


def docx(path: Path, paragraphs: list[str]) -> Path:
    """Write a minimal DOCX whose body holds ``paragraphs``."""
    body = "".join(f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>" for text in paragraphs)
    document = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        f"<w:body>{body}</w:body></w:document>"
    )
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr("word/document.xml", document)
    return path


def _raw_pdf(objects: list[bytes]) -> bytes:
    """Assemble numbered objects into a PDF with a correct cross-reference table."""
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _one_page_pdf(packed: bytes) -> bytes:
    """A one-page PDF whose page content is the Flate-compressed ``packed``."""
    return _raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>",
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(packed)
            + packed
            + b"\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        ]
    )


def operator_heavy_pdf(path: Path, *, operations: int = 1_000_000) -> Path:
    """Write a small PDF whose one page shows ``operations`` two-letter strings."""
    content = b"BT /F1 12 Tf 10 10 Td " + b"(ab) Tj " * operations + b"ET"
    path.write_bytes(_one_page_pdf(zlib.compress(content, 9)))
    return path


def stream_bomb_pdf(path: Path, *, inflated_mb: int = 128) -> Path:
    """Write a valid one-page PDF whose content stream inflates to ``inflated_mb`` MiB."""
    compressor = zlib.compressobj(9)
    chunk = b" " * (1 << 20)
    packed = b"".join(compressor.compress(chunk) for _ in range(inflated_mb))
    packed += compressor.flush()
    path.write_bytes(_one_page_pdf(packed))
    return path
