"""The entry point: turn any input into flat features, within caps, never raising."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence, Set

from firstwatch.profiling._document import profile_document
from firstwatch.profiling._limits import Limits
from firstwatch.profiling._structured import profile_structured
from firstwatch.profiling._text import profile_text
from firstwatch.profiling._work import FeatureValue, Work

DEFAULT_LIMITS = Limits()


def _as_structure(value: object) -> object | None:
    """Return a JSON-like view of dicts, sequences, dataclasses and pydantic models."""
    if isinstance(value, (Mapping, Sequence, Set)) and not isinstance(value, str):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: getattr(value, field.name) for field in dataclasses.fields(value)}
    model_dump = getattr(value, "model_dump", None)
    if callable(model_dump) and not isinstance(value, type):
        dumped = model_dump()
        return dumped if isinstance(dumped, Mapping) else None
    return None


def _dispatch(value: object, work: Work, filename: str | None, media_type: str | None) -> None:
    if isinstance(value, (bytes, bytearray, memoryview, os.PathLike)):
        profile_document(value, work, filename=filename, media_type=media_type)
        return
    if isinstance(value, str):
        work.features["profile.kind"] = "text"
        profile_text(value, work)
        return
    if value is None:
        work.features["profile.kind"] = "none"
        return
    structure = _as_structure(value)
    if structure is None:
        work.features["profile.kind"] = "other"
        work.features["other.type"] = type(value).__name__
        return
    work.features["profile.kind"] = "json"
    text = profile_structured(structure, work)
    if text and not work.out_of_time():
        profile_text(text, work)


def profile_input(
    value: object,
    *,
    filename: str | None = None,
    media_type: str | None = None,
    limits: Limits | None = None,
) -> dict[str, str | int | float | bool]:
    """Profile an agent's input into flat features, bounded in time and memory.

    Bytes and file paths (``os.PathLike``) are documents; a ``str`` is text (never a path);
    dicts, lists, dataclasses and pydantic models are JSON-like; anything else is reported
    by its type. Feature names and kinds are declared in ``FEATURES``.

    This function never raises: an internal failure is reported as ``profile.error`` (the
    exception's type name) beside whatever features were found before it.

    Args:
        value: The input.
        filename: The document's name, used for its declared media type.
        media_type: The document's declared media type; wins over ``filename``.
        limits: Caps on the work; ``Limits()`` by default.

    Returns:
        Features by name, plus ``profile.capped`` (with ``profile.cap`` naming the caps met)
        and ``profile.ms``.
    """
    work = Work(limits or DEFAULT_LIMITS)
    try:
        _dispatch(value, work, filename, media_type)
    except Exception as error:
        work.features["profile.error"] = type(error).__name__
    result: dict[str, FeatureValue] = work.finish()
    return result
