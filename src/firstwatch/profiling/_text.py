"""Text features: length, language, script, repetition, encoding damage."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

from firstwatch.profiling._language import detect_language
from firstwatch.profiling._script import dominant_script
from firstwatch.profiling._work import Work

MIN_UNIT_CHARS = 16
_UNIT_SPLIT = re.compile(r"\n|(?<=[.!?;])\s+|(?<=[。！？；])")
# cp1252's characters for the bytes 0x80-0x9F (Latin-1 reads them as C1 controls).
_CP1252_BYTES = {
    char: byte for byte in range(0x80, 0xA0) if (char := bytes([byte]).decode("cp1252", "ignore"))
}
_CONTINUATION = "[\u0080-\u00bf" + "".join(_CP1252_BYTES) + "]"
# A UTF-8 multi-byte sequence read as Latin-1 or cp1252: "Ã©" for "é", "â€™" for "’".
_MOJIBAKE = re.compile(
    f"[\u00c2-\u00df]{_CONTINUATION}"
    f"|[\u00e0-\u00ef]{_CONTINUATION}{{2}}"
    f"|[\u00f0-\u00f4]{_CONTINUATION}{{3}}"
)
_MOJIBAKE_LEADS = ("\u00c2", "\u00f4")
_NONPRINTABLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
_PRINTABLE_CONTROLS = frozenset("\t\n\r\u200c\u200d")
_REPLACEMENT = "\ufffd"


def _share(part: int, whole: int) -> float:
    return round(part / whole, 6) if whole else 0.0


def _is_utf8_misread(chars: str) -> bool:
    raw = bytes(_CP1252_BYTES.get(char, ord(char) if ord(char) < 0x100 else 0) for char in chars)
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def repeated_share(text: str) -> float:
    """Share of the text, in characters, that repeats a line or sentence seen earlier.

    Units shorter than ``MIN_UNIT_CHARS`` once whitespace is collapsed are ignored, so
    blank lines, bullets and short headings do not count as copy-paste.
    """
    seen: set[str] = set()
    total = repeated = 0
    for raw in _UNIT_SPLIT.split(text):
        unit = " ".join(raw.split()).casefold()
        if len(unit) < MIN_UNIT_CHARS:
            continue
        total += len(unit)
        if unit in seen:
            repeated += len(unit)
        else:
            seen.add(unit)
    return _share(repeated, total)


def profile_text(text: str, work: Work, *, total_chars: int | None = None) -> None:
    """Add the ``text.*`` features of ``text`` to the profile in progress.

    Args:
        text: The text; only its first ``max_text_chars`` characters are analysed.
        work: The profile in progress.
        total_chars: The full length when ``text`` is already a part of a longer text.
    """
    limit = work.limits.max_text_chars
    features = work.features
    features["text.chars"] = len(text) if total_chars is None else total_chars
    if len(text) > limit:
        work.cap("text")
        text = text[:limit]
    n = len(text)
    chars = Counter(text)
    nonprintable = sum(
        count
        for char, count in chars.items()
        if char not in _PRINTABLE_CONTROLS
        and unicodedata.category(char) in _NONPRINTABLE_CATEGORIES
    )
    digits = sum(count for char, count in chars.items() if char.isdecimal())
    script, script_share = dominant_script(chars)
    features["text.script"] = script
    features["text.script_share"] = round(script_share, 6)
    features["text.nonprintable_share"] = _share(nonprintable, n)
    features["text.replacement_share"] = _share(chars[_REPLACEMENT], n)
    features["text.digit_share"] = _share(digits, n)
    mojibake = 0
    if any(_MOJIBAKE_LEADS[0] <= char <= _MOJIBAKE_LEADS[1] for char in chars):
        mojibake = sum(len(found) for found in _MOJIBAKE.findall(text) if _is_utf8_misread(found))
    features["text.mojibake_share"] = _share(mojibake, n)
    if work.out_of_time():
        return
    features["text.repeated_share"] = repeated_share(text)
    if work.out_of_time():
        return
    letters = sum(count for char, count in chars.items() if char.isalpha())
    detected = detect_language(text, letters)
    if detected is not None:
        features["text.language"], features["text.language_score"] = detected
