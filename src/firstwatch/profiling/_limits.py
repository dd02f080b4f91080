"""Caps on the work one profile may do."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Caps that bound a profile's time and memory on hostile input.

    When a cap is reached the profile stops that part of the work and reports
    ``profile.capped = True`` with the caps it met in ``profile.cap``.

    Attributes:
        max_bytes: Largest document handed to a parser; a larger one is only sniffed and sized.
        max_pages: Pages of a document whose text layer is read.
        max_text_chars: Characters of text analysed (the rest is counted, not read).
        max_decompressed_bytes: Bytes one compressed stream or archive member may inflate to.
        max_page_operations: Tokens (operators and operands) parsed in one PDF page's content;
            pypdf parses some 100,000 a second, and the time budget is only checked between
            pages, so this bounds the time one hostile page can take.
        max_json_nodes: Values visited in a JSON-like input.
        time_budget_s: Seconds of work, checked between pages and between stages.
    """

    max_bytes: int = 64 * 1024 * 1024
    max_pages: int = 30
    max_text_chars: int = 200_000
    max_decompressed_bytes: int = 16 * 1024 * 1024
    max_page_operations: int = 100_000
    max_json_nodes: int = 10_000
    time_budget_s: float = 2.0
