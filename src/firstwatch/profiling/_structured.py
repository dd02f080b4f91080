"""JSON-like inputs: keys present, their types and sizes, and the text in their strings."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence, Set
from itertools import islice
from typing import Any

from firstwatch.profiling._work import Work

MAX_KEYS = 32
MAX_KEY_CHARS = 40
_NOT_SNAKE = re.compile(r"[^a-z0-9_]+")


def type_name(value: object) -> str:
    """Return the JSON type name of a value (``object``, ``array``, ``string``...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, (Sequence, Set)) and not isinstance(value, (bytes, bytearray)):
        return "array"
    return type(value).__name__.lower()


def _snake(key: object) -> str:
    return _NOT_SNAKE.sub("_", str(key).lower()).strip("_")[:MAX_KEY_CHARS] or "_"


def _children(value: object, limit: int) -> tuple[list[Any], bool]:
    """Return at most ``limit`` children of a container, and whether some were left out."""
    if isinstance(value, Mapping):
        children = list(islice(value.values(), limit + 1))
    elif isinstance(value, (Sequence, Set)) and not isinstance(value, (str, bytes, bytearray)):
        children = list(islice(value, limit + 1))
    else:
        return [], False
    return children[:limit], len(children) > limit


def _length(value: object) -> int | None:
    if isinstance(value, (str, Mapping, Sequence, Set)):
        return len(value)
    return None


def profile_structured(value: object, work: Work) -> str:
    """Add the ``json.*`` features of a dict, list or parsed JSON document.

    Visits at most ``max_json_nodes`` values (cycles end there too) and at most
    ``max_text_chars`` characters of strings.

    Returns:
        The string values joined by newlines, for the text features.
    """
    features = work.features
    limits = work.limits
    features["json.type"] = type_name(value)
    if isinstance(value, Mapping):
        if len(value) > limits.max_json_nodes:
            work.cap("json")
        keys = sorted(islice(value, limits.max_json_nodes), key=str)[:MAX_KEYS]
        features["json.keys"] = ",".join(str(key)[:MAX_KEY_CHARS] for key in keys)
        features["json.types"] = ",".join(
            f"{str(key)[:MAX_KEY_CHARS]}:{type_name(value[key])}" for key in keys
        )
        for key in keys:
            length = _length(value[key])
            if length is not None:
                features[f"json.len.{_snake(key)}"] = length
    length = _length(value)
    if length is not None and not isinstance(value, str):
        features["json.items"] = length
    strings: list[str] = []
    kept = nodes = depth = string_chars = 0
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        if nodes >= limits.max_json_nodes:
            work.cap("json")
            break
        if nodes % 1000 == 999 and work.out_of_time():
            break
        current, level = stack.pop()
        nodes += 1
        depth = max(depth, level)
        if isinstance(current, str):
            string_chars += len(current)
            if kept < limits.max_text_chars:
                part = current[: limits.max_text_chars - kept]
                strings.append(part)
                kept += len(part)
            continue
        children, left_out = _children(current, limits.max_json_nodes - nodes - len(stack))
        if left_out:
            work.cap("json")
        stack.extend((child, level + 1) for child in reversed(children))
    features["json.nodes"] = nodes
    features["json.depth"] = depth
    features["json.string_chars"] = string_chars
    return "\n".join(strings)
