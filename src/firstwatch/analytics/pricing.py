"""What tokens cost: a price table per model, read from a TOML file users edit, and pure sums.

Prices are per million tokens, input and output apart, in one currency::

    currency = "USD"

    [models."gpt-4o"]
    input = 2.50     # per million input (prompt) tokens
    output = 10.00   # per million output (completion) tokens

A model name is priced by its own entry, else by the longest entry its name starts with
(`gpt-4o-2024-08-06` takes `gpt-4o`'s price, `gpt-4o-mini-2024-07-18` takes `gpt-4o-mini`'s),
compared without regard to case. Without a file, `EXAMPLE_PRICES` is used: a few well-known models,
labelled as examples because providers change their prices.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

PER: Final = 1_000_000
"""Prices are per this many tokens."""


@dataclass(frozen=True)
class ModelPrice:
    """What one model costs per million input and output tokens."""

    input: float
    output: float


@dataclass(frozen=True)
class PriceTable:
    """Prices per model, where they came from, and the currency."""

    models: Mapping[str, ModelPrice]
    source: str
    currency: str = "USD"
    examples: bool = False
    _folded: dict[str, ModelPrice] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        folded = {name.casefold(): price for name, price in self.models.items()}
        object.__setattr__(self, "_folded", folded)

    def price_of(self, model: str | None) -> tuple[str, ModelPrice] | None:
        """The entry that prices `model`: its own, else the longest prefix of its name."""
        if not model:
            return None
        name = model.casefold()
        if name in self._folded:
            return name, self._folded[name]
        best = max(
            (entry for entry in self._folded if name.startswith(entry)), key=len, default=None
        )
        return (best, self._folded[best]) if best is not None else None


# Published list prices (USD per million tokens) of a few well-known models, as examples only:
# providers change prices and bill cached and batch tokens differently. Set `prices_file` to a
# table of your own to get costs you can rely on.
EXAMPLE_PRICES: Final = PriceTable(
    models={
        "gpt-4o": ModelPrice(input=2.50, output=10.00),
        "gpt-4o-mini": ModelPrice(input=0.15, output=0.60),
        "claude-3-5-sonnet": ModelPrice(input=3.00, output=15.00),
        "claude-3-5-haiku": ModelPrice(input=0.80, output=4.00),
        "gemini-1.5-flash": ModelPrice(input=0.075, output=0.30),
    },
    source="examples",
    examples=True,
)


def cost(
    table: PriceTable, model: str | None, input_tokens: int, output_tokens: int
) -> float | None:
    """What the tokens of one model cost in the table's currency; None when it has no price.

    Args:
        table: The price table.
        model: The model's name as recorded (`gen_ai.response.model` or the requested one).
        input_tokens: Input (prompt) tokens.
        output_tokens: Output (completion) tokens.

    Returns:
        The cost, or None when no entry prices the model.
    """
    found = table.price_of(model)
    if found is None:
        return None
    price = found[1]
    return (input_tokens * price.input + output_tokens * price.output) / PER


def parse_prices(data: Mapping[str, Any], source: str) -> PriceTable:
    """A price table from parsed TOML (see the module's docstring for the form).

    Args:
        data: The parsed file.
        source: Where it came from, for messages and for the table's `source`.

    Returns:
        The table.

    Raises:
        ValueError: A key is unknown, or a price is missing, not a number or negative; the
            message names the source and the model.
    """
    unknown = sorted(set(data) - {"currency", "models"})
    if unknown:
        raise ValueError(f"{source}: unknown key(s) {unknown}; allowed: currency, models")
    currency = data.get("currency", "USD")
    if not isinstance(currency, str) or not currency.strip():
        raise ValueError(f"{source}: 'currency' must be a non-empty string")
    models = data.get("models", {})
    if not isinstance(models, Mapping):
        raise ValueError(f"{source}: 'models' must be a table of [models.\"<name>\"] tables")
    prices: dict[str, ModelPrice] = {}
    for name, entry in models.items():
        if not isinstance(entry, Mapping):
            raise ValueError(f"{source}: model {name!r} must be a table with input and output")
        extra = sorted(set(entry) - {"input", "output"})
        if extra:
            raise ValueError(f"{source}: model {name!r}: unknown key(s) {extra}")
        values = []
        for side in ("input", "output"):
            value = entry.get(side)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or value < 0
            ):
                raise ValueError(
                    f"{source}: model {name!r}: '{side}' must be a price per million tokens "
                    f"(a number, 0 or more), not {value!r}"
                )
            values.append(float(value))
        if name.casefold() in {known.casefold() for known in prices}:
            raise ValueError(f"{source}: model {name!r} is listed twice (names ignore case)")
        prices[name] = ModelPrice(input=values[0], output=values[1])
    return PriceTable(models=prices, source=source, currency=currency.strip())


def load_prices(path: str | Path | None) -> PriceTable:
    """The price table of a TOML file, or the example table when no file is set.

    Args:
        path: The file (`prices_file` setting); empty or None for the examples.

    Returns:
        The table.

    Raises:
        ValueError: The file is not valid TOML or not a valid price table.
        OSError: The file cannot be read.
    """
    if path is None or str(path) == "":
        return EXAMPLE_PRICES
    file = Path(path)
    text = file.read_text(encoding="utf-8")
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{file}: not valid TOML: {exc}") from None
    return parse_prices(data, str(file))
