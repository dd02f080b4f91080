"""Dominant Unicode script of a text, from unicodedata alone."""

from __future__ import annotations

import unicodedata
from collections import Counter
from functools import lru_cache

_SCRIPTS = {
    word: word.title()
    for word in [
        "LATIN",
        "CYRILLIC",
        "GREEK",
        "ARMENIAN",
        "GEORGIAN",
        "HEBREW",
        "ARABIC",
        "SYRIAC",
        "THAANA",
        "DEVANAGARI",
        "BENGALI",
        "GURMUKHI",
        "GUJARATI",
        "ORIYA",
        "TAMIL",
        "TELUGU",
        "KANNADA",
        "MALAYALAM",
        "SINHALA",
        "THAI",
        "LAO",
        "TIBETAN",
        "MYANMAR",
        "ETHIOPIC",
        "CHEROKEE",
        "KHMER",
        "MONGOLIAN",
        "HIRAGANA",
        "KATAKANA",
        "HANGUL",
        "BOPOMOFO",
    ]
}
_SCRIPTS["CJK"] = "Han"
_WIDTH_PREFIXES = ("FULLWIDTH", "HALFWIDTH")


@lru_cache(maxsize=8192)
def script_of(char: str) -> str | None:
    """Return the script of a letter (``Latin``, ``Han``, ...), None for non-letters."""
    if not char.isalpha():
        return None
    words = unicodedata.name(char, "").split()
    if words and words[0] in _WIDTH_PREFIXES:
        words = words[1:]
    if not words:
        return "Other"
    return _SCRIPTS.get(words[0], "Other")


def dominant_script(chars: Counter[str]) -> tuple[str, float]:
    """Return the most frequent script among the letters counted and its share of them.

    Args:
        chars: Character counts of the text.

    Returns:
        ``(script, share)``; ``("none", 0.0)`` when the text has no letters.
    """
    scripts: Counter[str] = Counter()
    for char, count in chars.items():
        script = script_of(char)
        if script is not None:
            scripts[script] += count
    letters = sum(scripts.values())
    if not letters:
        return "none", 0.0
    script, count = scripts.most_common(1)[0]
    return script, count / letters
