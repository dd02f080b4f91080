"""Output shapes: the masks of design.md §4.4, and the laws a mask obeys."""

from __future__ import annotations

import datetime as dt
import decimal

from hypothesis import given
from hypothesis import strategies as st

from firstwatch.sdk.shape import MAX_MASK_CHARS, mask, shape_of


def test_the_design_examples() -> None:
    assert shape_of("2024-03-01") == "str:9999-99-99"
    assert shape_of("03/01/2024") == "str:99/99/9999"
    assert shape_of("$1,200.00") == "str:$9,999.99"


def test_letters_digits_and_the_rest() -> None:
    assert mask("Acme Corp. (DE) #42") == "Aaaa Aaaa. (AA) #99"
    assert mask("Zoë Ğ 東京 ١٢") == "Aaa A aa 99"
    assert mask("") == ""


def test_types() -> None:
    assert shape_of(None) == "null"
    assert shape_of(True) == "bool"
    assert shape_of(1200) == "int:9999"
    assert shape_of(-3) == "int:-9"
    assert shape_of(0.25) == "float:9.99"
    assert shape_of(dt.date(2024, 3, 1)) == "date:9999-99-99"
    assert shape_of(decimal.Decimal("12.50")) == "Decimal:99.99"
    assert shape_of(["a"]) == "list"
    assert shape_of({"a": 1}) == "dict"
    assert shape_of(b"%PDF") == "bytes"
    assert shape_of(object()) == "object"


def test_long_values_have_a_bounded_mask() -> None:
    assert shape_of("a" * 10_000) == "str:" + "a" * MAX_MASK_CHARS + "…"


@given(st.text(max_size=200))
def test_a_mask_is_bounded_and_keeps_only_classes_and_punctuation(text: str) -> None:
    masked = mask(text)
    cut = text[:MAX_MASK_CHARS]
    assert len(masked) == len(cut) + (1 if len(text) > MAX_MASK_CHARS else 0)
    for original, m in zip(cut, masked, strict=False):
        if original.isdigit():
            assert m == "9"
        elif original.isalpha():
            assert m in "aA"
        else:
            assert m == original


@given(st.text(max_size=MAX_MASK_CHARS))
def test_masking_a_mask_changes_nothing(text: str) -> None:
    assert mask(mask(text)) == mask(text)
