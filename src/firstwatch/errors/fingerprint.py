"""Group error messages that differ only in their numbers, ids and quoted values (§4.2)."""

from __future__ import annotations

import hashlib
import re
from typing import Final

from firstwatch.errors.facts import normalize_type

# How much of a message is masked for a fingerprint, and how much of the masked text counts.
_FINGERPRINT_INPUT: Final = 8000
_FINGERPRINT_CHARS: Final = 1000
# Quoted text longer than this is masked word by word, not as one value.
_MAX_QUOTED: Final = 500
# A quoted text of at least this many words is a sentence: kept, with its own values masked.
_SENTENCE_WORDS: Final = 4
# Masking again can find what a neighbour's mask uncovered; a few passes reach the fixed point.
_MAX_PASSES: Final = 32

_WORD = r"A-Za-z0-9_"
_SCAN = re.compile(
    r"(?P<keep><(?:num|hex|id|uuid|path|url|email|str)>)"
    r"|(?P<url>\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>]+)"
    r"|(?P<email>(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+)"
    r"|(?P<uuid>\b[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}\b)"
    rf"|(?<![^\s(\[{{=:,])(?P<q>['\"])(?P<quoted>.{{0,{_MAX_QUOTED}}}?)(?P=q)(?=$|[\s)\]}},:;.!?])"
    r"|(?P<path>(?<![A-Za-z0-9_.~/\\\-])(?:~|\.\.?|[A-Za-z]:)?[/\\][A-Za-z0-9_.\-]+"
    r"(?:[/\\][A-Za-z0-9_.\-]*)*)"
    r"|(?P<hex>\b0[xX][0-9A-Fa-f]+\b)"
    rf"|(?P<token>[{_WORD}](?:[{_WORD}.\-]*[{_WORD}])?)",
    re.ASCII,
)


def _replace(match: re.Match[str]) -> str:
    kind = match.lastgroup
    if kind == "token":
        token = match.group()
        has_digit = any(c.isdigit() for c in token)
        has_letter = any(c.isalpha() for c in token)
        if has_digit and not has_letter:
            return "<num>"
        if has_digit or len(token) >= 32:
            return "<id>"
        return token
    if kind == "quoted":
        quote = match.group("q")
        inner = mask_message(match.group("quoted"))
        if len(inner.split()) >= _SENTENCE_WORDS:
            return f"{quote}{inner}{quote}"
        return f"{quote}<str>{quote}"
    if kind in ("url", "email", "uuid", "path", "hex"):
        return f"<{kind}>"
    return match.group()


def mask_message(message: str) -> str:
    """Masks the variable parts of an error message, so that messages of one shape compare equal.

    Numbers become ``<num>``; hex numbers ``<hex>``; UUIDs ``<uuid>``; file paths ``<path>``;
    URLs ``<url>``; email addresses ``<email>``; ids (words mixing letters and digits, or
    32 characters and longer) ``<id>``; quoted values ``'<str>'``, except quoted sentences of
    four words or more, which keep their words and have their own values masked. Whitespace
    runs become one space. Masking a masked message changes nothing.

    Args:
        message: the error message.

    Returns:
        The masked message.
    """
    text = " ".join(message.split())
    for _ in range(_MAX_PASSES):
        masked = _SCAN.sub(_replace, text)
        if masked == text:
            break
        text = masked
    return text


def fingerprint(error_class: str, error_type: str | None, message: str | None) -> str:
    """Returns a short, stable hex digest of an error's class, type and masked message.

    Args:
        error_class: the error class, one of ``ERROR_CLASSES``.
        error_type: the exception type, with or without a ``<class '...'>`` wrapper.
        message: the error message.

    Returns:
        16 hex characters, the same for messages that differ only in masked values (in
        their first thousand masked characters).
    """
    masked = mask_message((message or "")[:_FINGERPRINT_INPUT])[:_FINGERPRINT_CHARS]
    key = "\x1f".join((error_class, normalize_type(error_type) or "", masked))
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:16]
