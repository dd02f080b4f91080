"""Cohorts written `env=production,version=1.1,since=24h` (design.md §5)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from firstwatch.analytics.cohorts import KEYS, Cohort, parse_cohort
from firstwatch.store.base import RunFilter


def test_every_key() -> None:
    cohort = parse_cohort("env=production,version=1.1,since=24h,until=2026-11-26T10:00:00Z")
    assert cohort == Cohort("production", "1.1", "24h", "2026-11-26T10:00:00Z")


def test_keys_in_any_order_with_spaces_and_the_long_name() -> None:
    assert parse_cohort(" version = 2.0 , environment=staging ") == Cohort("staging", "2.0")


def test_empty_is_every_run() -> None:
    assert parse_cohort("") == parse_cohort("  ") == Cohort()
    assert str(Cohort()) == ""


def test_written_in_one_order() -> None:
    assert str(parse_cohort("until=1h,env=staging,since=7d")) == "env=staging,since=7d,until=1h"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("agent=x", "unknown cohort key 'agent'"),
        ("env=a,env=b", "given twice"),
        ("env=a,environment=b", "given twice"),
        ("env", "not key=value"),
        ("env=", "has no value"),
        ("env=a,,version=1", "empty part"),
        ("env=a,", "empty part"),
        ("version=1=2", "without surrounding spaces, commas or '='"),
    ],
)
def test_mistakes_are_named(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_cohort(text)


def test_a_cohort_cannot_hold_what_it_cannot_write() -> None:
    for bad in ("a,b", "", " x"):
        with pytest.raises(ValueError):
            Cohort(environment=bad)


values = st.none() | st.text(
    st.characters(blacklist_characters=",=", blacklist_categories=("Cs",)), min_size=1
).map(str.strip).filter(bool)


@given(values, values, values, values)
def test_writing_and_reading_back_round_trips(
    environment: str | None, version: str | None, since: str | None, until: str | None
) -> None:
    cohort = Cohort(environment, version, since, until)
    assert parse_cohort(str(cohort)) == cohort


def test_run_filter_resolves_times_with_the_given_clock() -> None:
    resolved = {"24h": 1_000, "1h": 2_000}

    def resolve(text: str | None) -> int | None:
        return None if text is None else resolved[text]

    cohort = parse_cohort("env=production,since=24h,until=1h")
    assert cohort.run_filter("acme", "extractor", resolve) == RunFilter(
        project="acme",
        agent="extractor",
        environment="production",
        since_ns=1_000,
        until_ns=2_000,
    )
    assert Cohort().run_filter("acme", None, resolve) == RunFilter(project="acme")
    assert KEYS == ("env", "version", "since", "until")
