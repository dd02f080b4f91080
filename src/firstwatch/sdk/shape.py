"""The shape of an output value: its type plus a mask of its characters (design.md §4.4).

`2024-03-01` → `str:9999-99-99`, `03/01/2024` → `str:99/99/9999`, `$1,200.00` →
`str:$9,999.99`. Letters become `a` or `A`, digits `9`, every other character is kept. A long
value is masked on its first `MAX_MASK_CHARS` characters and marked with a trailing `…`, so the
number of shapes stays bounded. Pure functions, no I/O.
"""

from __future__ import annotations

import datetime as _dt
import decimal
from typing import Final

MAX_MASK_CHARS: Final = 64
TRUNCATED: Final = "…"


_ASCII = str.maketrans(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
    "a" * 26 + "A" * 26 + "9" * 10,
)


def mask(text: str, limit: int = MAX_MASK_CHARS) -> str:
    """Mask the characters of `text`: uppercase letters → `A`, other letters → `a`, digits → `9`.

    Args:
        text: The text to mask.
        limit: Characters masked at most; a longer text is cut there and ends with `…`.

    Returns:
        The mask.
    """
    cut = text[:limit] if len(text) > limit else text
    if cut.isascii():
        masked = cut.translate(_ASCII)
        return masked + TRUNCATED if len(text) > limit else masked
    out = []
    for char in cut:
        if char.isdigit():
            out.append("9")
        elif char.isalpha():
            out.append("A" if char.isupper() else "a")
        else:
            out.append(char)
    if len(text) > limit:
        out.append(TRUNCATED)
    return "".join(out)


def shape_of(value: object) -> str:
    """The shape of one output value: ``<type>`` or ``<type>:<mask>``.

    Strings, numbers, dates and decimals carry a mask of their text; None is ``null``, booleans
    ``bool``, containers their type alone (``list``, ``dict``…), other objects their class name.

    Args:
        value: The value.

    Returns:
        The shape, at most about `MAX_MASK_CHARS` characters after the type.
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, str):
        return "str:" + mask(value)
    if isinstance(value, int):
        return "int:" + mask(str(value))
    if isinstance(value, float):
        return "float:" + mask(repr(value))
    if isinstance(value, _dt.datetime | _dt.date | _dt.time | decimal.Decimal):
        return type(value).__name__ + ":" + mask(str(value))
    if isinstance(value, bytes | bytearray):
        return "bytes"
    if isinstance(value, list | tuple):
        return "list"
    if isinstance(value, dict):
        return "dict"
    return type(value).__name__
