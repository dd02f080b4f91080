"""Masking of error messages and the fingerprints that group them."""

from __future__ import annotations

import hashlib
import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from firstwatch.errors import fingerprint, mask_message


@pytest.mark.parametrize(
    ("message", "masked"),
    [
        (
            "Rate limit reached for gpt-4 in org org-abc123 on tokens per min: Limit 30000, "
            "Used 29500",
            "Rate limit reached for <id> in org <id> on tokens per min: Limit <num>, Used <num>",
        ),
        ("list index out of range", "list index out of range"),
        ("KeyError: 'user_id'", "KeyError: '<str>'"),
        (
            'duplicate key value violates unique constraint "users_email_key"\n'
            "DETAIL:  Key (email)=(ann@example.com) already exists.",
            'duplicate key value violates unique constraint "<str>" '
            "DETAIL: Key (email)=(<email>) already exists.",
        ),
        (
            "'utf-8' codec can't decode byte 0xff in position 0: invalid start byte",
            "'<str>' codec can't decode byte <hex> in position <num>: invalid start byte",
        ),
        (
            "run 123e4567-e89b-12d3-a456-426614174000 failed reading /srv/in/doc_17.pdf",
            "run <uuid> failed reading <path>",
        ),
        (r"cannot open C:\Users\ann\report.docx", "cannot open <path>"),
        (
            "Client error '429 Too Many Requests' for url 'https://api.example.com/v1?a=1'",
            "Client error '<num> Too Many Requests' for url '<str>'",
        ),
        ("see https://sqlalche.me/e/20/gkpj for details", "see <url> for details"),
        (
            "token sk-proj-AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEf rejected",
            "token <id> rejected",
        ),
        (
            "Error code: 400 - {'error': {'message': \"This model's maximum context length is "
            "8192 tokens. However, your messages resulted in 9013 tokens.\", 'code': "
            "'context_length_exceeded'}}",
            "Error code: <num> - {'<str>': {'<str>': \"This model's maximum context length is "
            "<num> tokens. However, your messages resulted in <num> tokens.\", '<str>': "
            "'<str>'}}",
        ),
        ("version 1.2.3 at 10.0.0.7:5432 on 2024-03-01", "version <num> at <num>:<num> on <num>"),
    ],
)
def test_mask_message(message: str, masked: str) -> None:
    assert mask_message(message) == masked


def test_same_shape_same_fingerprint() -> None:
    first = fingerprint(
        "rate_limited",
        "openai.RateLimitError",
        "Rate limit reached for gpt-4 in org org-abc123 on tokens per min: Limit 30000, Used 29500",
    )
    second = fingerprint(
        "rate_limited",
        "<class 'openai.RateLimitError'>",
        "Rate limit reached for gpt-4 in org org-xyz789 on tokens per min: Limit 90000, Used 89999",
    )
    assert first == second
    assert re.fullmatch(r"[0-9a-f]{16}", first)


@pytest.mark.parametrize(
    ("left", "right"),
    [
        (
            ("conflict", "psycopg.errors.UniqueViolation", 'duplicate key "a_pkey" (id)=(1)'),
            ("conflict", "psycopg.errors.UniqueViolation", 'duplicate key "b_pkey" (id)=(9)'),
        ),
        (
            ("agent_bug", "KeyError", "'choices'"),
            ("agent_bug", "KeyError", "'usage'"),
        ),
        (
            ("timeout", "httpx.ReadTimeout", "timed out"),
            ("timeout", "httpx.ReadTimeout", "timed  out\n"),
        ),
    ],
)
def test_messages_that_differ_only_in_values_group(
    left: tuple[str, str, str], right: tuple[str, str, str]
) -> None:
    assert fingerprint(*left) == fingerprint(*right)


@pytest.mark.parametrize(
    ("left", "right"),
    [
        # Another class, type or wording is another group.
        (
            ("rate_limited", "RateLimitError", "slow down"),
            ("timeout", "RateLimitError", "slow down"),
        ),
        (
            ("rate_limited", "openai.RateLimitError", "slow down"),
            ("rate_limited", "anthropic.RateLimitError", "slow down"),
        ),
        (
            ("agent_bug", "TypeError", "'NoneType' object is not subscriptable"),
            ("agent_bug", "TypeError", "'NoneType' object is not iterable"),
        ),
        (("unknown", None, None), ("unknown", None, "boom")),
    ],
)
def test_different_shapes_different_fingerprints(
    left: tuple[str, str | None, str | None], right: tuple[str, str | None, str | None]
) -> None:
    assert fingerprint(*left) != fingerprint(*right)


def test_a_fingerprint_is_a_digest_of_class_type_and_masked_message() -> None:
    # Fingerprints are stored: they must depend on nothing but these three, in this layout.
    key = "agent_bug\x1fKeyError\x1f'<str>'"
    expected = hashlib.sha256(key.encode()).hexdigest()[:16]
    assert fingerprint("agent_bug", "KeyError", "'choices'") == expected
    assert fingerprint("agent_bug", "<class 'KeyError'>", "'usage'") == expected


MESSAGE_PARTS = st.sampled_from(
    [
        "'",
        '"',
        " ",
        "/",
        "\\",
        "<",
        ">",
        "<num>",
        "<str>",
        ":",
        ",",
        ".",
        "-",
        "_",
        "@",
        "0x",
        "1",
        "42",
        "ab",
        "Z9",
        "http://",
        "a@b.io",
        "C:",
        "~",
        "(",
        ")",
        "{",
        "}",
        "=",
        "\n",
        "123e4567-e89b-12d3-a456-426614174000",
        "é",
        "\u00a0",
        "the",
        "tokens",
    ]
)
MESSAGES = st.one_of(st.text(max_size=200), st.lists(MESSAGE_PARTS, max_size=40).map("".join))


@settings(max_examples=500, deadline=None)
@given(MESSAGES)
@example("'\"a b\" c d'")
@example("x5'ab'")
@example("5/tmp/x")
@example("'a 'b5 c d'")
def test_mask_message_is_idempotent(message: str) -> None:
    once = mask_message(message)
    assert mask_message(once) == once


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200), st.integers(min_value=0, max_value=10**12))
def test_numbers_never_change_a_fingerprint(words: str, number: int) -> None:
    assert fingerprint("unknown", "E", f"{words} {number}") == fingerprint(
        "unknown", "E", f"{words} 7"
    )
