"""Inputs of a document-reading agent, for the drift tests: clean English contracts and the odd
things production sends instead (scans, other languages, images named `.pdf`, pasted text).

Every generator is seeded, so the same seed always writes the same bytes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from unit.profiling import docs

CLEAN = "clean"
SCANNED = "scanned"
FOREIGN = "foreign"
IMAGE_AS_PDF = "image_as_pdf"
PASTED = "pasted"
ODD_KINDS = (SCANNED, FOREIGN, IMAGE_AS_PDF, PASTED)

# Clauses of an everyday contract; a document takes some of them, none twice.
CLAUSES = (
    "This Agreement is made between the Supplier and the Customer named on the first page.",
    "The Supplier shall deliver the goods described in Schedule A to the Customer's premises.",
    "Delivery shall take place within fourteen days of the Customer's written order.",
    "Risk in the goods passes to the Customer on delivery; title passes on full payment.",
    "The Customer shall pay each invoice within thirty days of the date of the invoice.",
    "Late payments bear interest at two per cent above the base rate of the central bank.",
    "Either party may terminate this Agreement by giving ninety days' written notice.",
    "The Supplier warrants that the goods conform to their specification on delivery.",
    "Neither party shall be liable for delays caused by events beyond its reasonable control.",
    "Each party shall keep confidential all information disclosed to it under this Agreement.",
    "The Supplier shall maintain insurance against its liabilities under this Agreement.",
    "The total liability of either party shall not exceed the fees paid in the prior year.",
    "This Agreement is governed by the laws of England and Wales.",
    "The courts of London have exclusive jurisdiction over any dispute arising from it.",
    "No variation of this Agreement is effective unless it is in writing and signed.",
    "Notices shall be sent by recorded delivery to the addresses given on the first page.",
    "The Customer may inspect the goods within seven days of delivery and reject defects.",
    "Rejected goods shall be replaced or refunded at the Supplier's option and expense.",
    "The prices in Schedule B are fixed for the first twelve months of this Agreement.",
    "Thereafter the Supplier may revise its prices once a year on sixty days' notice.",
    "The Supplier shall comply with all applicable laws in performing this Agreement.",
    "Neither party may assign its rights without the prior written consent of the other.",
    "The Supplier may use subcontractors but remains responsible for their performance.",
    "Intellectual property in the Supplier's materials remains with the Supplier.",
    "The Customer grants the Supplier a licence to use its logo in customer references.",
    "Personal data shall be processed only on the documented instructions of the Customer.",
    "The Supplier shall notify the Customer of any data breach without undue delay.",
    "Service levels and service credits are set out in Schedule C.",
    "Service credits are the Customer's sole remedy for a failure to meet a service level.",
    "A party in material breach has thirty days to remedy the breach after notice.",
    "Clauses on confidentiality and liability survive the termination of this Agreement.",
    "This Agreement is the entire agreement between the parties on its subject matter.",
    "If any provision is held invalid, the remaining provisions continue in full force.",
    "A failure to exercise a right is not a waiver of that right.",
    "Nothing in this Agreement creates a partnership or agency between the parties.",
    "This Agreement may be signed in counterparts, each of which is an original.",
    "The Customer shall provide access to its site during normal business hours.",
    "The Supplier's staff shall follow the Customer's reasonable site safety rules.",
    "Any dispute shall first be referred to the senior managers of both parties.",
    "If they cannot resolve it within twenty days, either party may start proceedings.",
)

# A paragraph per other language, with the font its script needs.
FOREIGN_LANGUAGES = ("de", "fr", "es", "ru", "el", "zh", "ja")


@dataclass(frozen=True)
class Input:
    """One agent input: what to hand to `firstwatch.run` and what kind of input it is."""

    kind: str
    path: Path | None
    filename: str | None
    text: str | None


def contract_text(seed: int) -> list[str]:
    """The pages of a clean English contract: 1–4 pages of 4–8 distinct clauses each."""
    rng = random.Random(seed)
    pages = rng.randint(1, 4)
    clauses = rng.sample(CLAUSES, k=8 * pages)
    out = []
    start = 0
    for _ in range(pages):
        take = rng.randint(4, 8)
        out.append("\n".join(clauses[start : start + take]))
        start += take
    return out


def clean_pdf(path: Path, seed: int) -> Path:
    """A clean English contract with a text layer."""
    return docs.text_pdf(path, contract_text(seed))


def foreign_pdf(path: Path, seed: int) -> Path:
    """A one-page letter in a language other than English."""
    language = FOREIGN_LANGUAGES[seed % len(FOREIGN_LANGUAGES)]
    return docs.text_pdf(path, [docs.SAMPLES[language]], font=docs.PDF_FONTS[language])


def pasted_text(seed: int) -> str:
    """A contract's text pasted five times over into a text box."""
    text = "\n".join(contract_text(seed))
    return "\n\n".join([text] * 5)


def make_input(folder: Path, kind: str, seed: int) -> Input:
    """Write (or compose) one input of `kind` into `folder`."""
    name = f"{kind}-{seed}.pdf"
    path = folder / name
    if kind == CLEAN:
        return Input(kind, clean_pdf(path, seed), name, None)
    if kind == SCANNED:
        return Input(kind, docs.scanned_pdf(path, pages=1 + seed % 3), name, None)
    if kind == FOREIGN:
        return Input(kind, foreign_pdf(path, seed), name, None)
    if kind == IMAGE_AS_PDF:
        return Input(kind, docs.png(path), name, None)
    if kind == PASTED:
        return Input(kind, None, None, pasted_text(seed))
    raise ValueError(f"unknown kind {kind!r}")
