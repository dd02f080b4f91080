"""The price table: a TOML file users edit, example prices without one, and pure costs."""

from __future__ import annotations

from pathlib import Path

import pytest

from firstwatch.analytics.pricing import (
    EXAMPLE_PRICES,
    ModelPrice,
    PriceTable,
    cost,
    load_prices,
    parse_prices,
)

TABLE = """
currency = "EUR"

[models."acme-large"]
input = 3.0
output = 15

[models."acme-large-mini"]
input = 0.25
output = 1.25

[models."free-local"]
input = 0
output = 0
"""


def test_a_file_replaces_the_examples(tmp_path: Path) -> None:
    path = tmp_path / "prices.toml"
    path.write_text(TABLE)
    table = load_prices(path)
    assert table.source == str(path) and not table.examples
    assert table.currency == "EUR"
    assert table.models == {
        "acme-large": ModelPrice(3.0, 15.0),
        "acme-large-mini": ModelPrice(0.25, 1.25),
        "free-local": ModelPrice(0.0, 0.0),
    }
    assert cost(table, "gpt-4o", 1000, 1000) is None  # the examples are not mixed in


def test_cost_is_per_million_input_and_output_tokens() -> None:
    table = parse_prices({"models": {"m": {"input": 2.0, "output": 8.0}}}, "inline")
    assert cost(table, "m", 1_000_000, 0) == pytest.approx(2.0)
    assert cost(table, "m", 0, 1_000_000) == pytest.approx(8.0)
    assert cost(table, "m", 1500, 250) == pytest.approx((1500 * 2.0 + 250 * 8.0) / 1e6)
    assert cost(table, "m", 0, 0) == 0.0
    assert table.currency == "USD"


def test_a_dated_model_takes_the_longest_entry_its_name_starts_with() -> None:
    table = parse_prices(
        {
            "models": {
                "acme-large": {"input": 3, "output": 15},
                "acme-large-mini": {"input": 0.25, "output": 1.25},
            }
        },
        "inline",
    )
    assert table.price_of("acme-large-2025-06-01") == ("acme-large", ModelPrice(3, 15))
    assert table.price_of("ACME-Large-Mini-2025") == ("acme-large-mini", ModelPrice(0.25, 1.25))
    assert table.price_of("acme") is None
    assert table.price_of(None) is None and table.price_of("") is None
    assert cost(table, "other-model", 10, 10) is None


def test_without_a_file_the_examples_are_labelled_as_such() -> None:
    for empty in (None, ""):
        table = load_prices(empty)
        assert table is EXAMPLE_PRICES
        assert table.examples and table.source == "examples"
    assert cost(EXAMPLE_PRICES, "gpt-4o-mini-2024-07-18", 1_000_000, 1_000_000) == pytest.approx(
        0.15 + 0.60
    )
    assert cost(EXAMPLE_PRICES, "gpt-4o-2024-08-06", 1_000_000, 0) == pytest.approx(2.50)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("models = 3", "must be a table"),
        ('[models."m"]\ninput = 1\n', "'output' must be a price"),
        ('[models."m"]\ninput = -1\noutput = 1\n', "'input' must be a price"),
        ('[models."m"]\ninput = "1"\noutput = 1\n', "'input' must be a price"),
        ('[models."m"]\ninput = true\noutput = 1\n', "'input' must be a price"),
        ('[models."m"]\ninput = nan\noutput = 1\n', "'input' must be a price"),
        ('[models."m"]\ninput = 1\noutput = 1\ncached = 0.5\n', "unknown key"),
        ('[models."M"]\ninput = 1\noutput = 1\n[models."m"]\ninput = 1\noutput = 1\n', "twice"),
        ("price = 1", "unknown key"),
        ('currency = ""', "currency"),
        ("[models", "not valid TOML"),
    ],
)
def test_a_bad_file_is_refused_with_the_file_and_model_named(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message) as raised:
        load_prices(path)
    assert str(path) in str(raised.value)


def test_a_missing_file_is_an_os_error(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        load_prices(tmp_path / "absent.toml")


def test_an_empty_table_prices_nothing() -> None:
    table = PriceTable(models={}, source="empty")
    assert cost(table, "anything", 1, 1) is None
