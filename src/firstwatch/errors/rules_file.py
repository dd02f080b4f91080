"""User rules for the error classifier, read from a TOML file and tried before the defaults."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from firstwatch.errors.default_rules import DEFAULT_RULES
from firstwatch.errors.facts import GRPC_CODES, is_int_in
from firstwatch.errors.rule import Rule, RuleError
from firstwatch.errors.taxonomy import ERROR_CLASSES

_RULE_KEYS: Final = ("name", "class", "types", "http_status", "grpc_codes", "message", "span_kinds")


def load_rules(path: Path, *, defaults: Sequence[Rule] = DEFAULT_RULES) -> tuple[Rule, ...]:
    """Reads user rules from a TOML file and puts them in front of the defaults.

    The file holds an array of ``[[rule]]`` tables::

        [[rule]]
        name = "acme-quota"
        class = "rate_limited"
        types = ["acme.QuotaError"]        # patterns, see Rule.types
        http_status = [402, "5xx"]         # numbers, or "4xx"/"5xx"
        grpc_codes = ["RESOURCE_EXHAUSTED"]  # numbers or names
        message = "quota .* exceeded"      # a regular expression
        span_kinds = ["tool"]

    Args:
        path: the TOML file.
        defaults: the rules tried after the file's; pass ``()`` for the file's rules alone.

    Returns:
        The file's rules in file order, followed by ``defaults``.

    Raises:
        ValueError: the file is not valid TOML, or a rule is malformed; the message names the
            file and the rule.
        OSError: the file cannot be read.
    """
    path = Path(path)
    raw = path.read_bytes()
    try:
        data = _parse_toml(raw)
    except ValueError as exc:
        raise ValueError(f"{path}: not valid TOML: {exc}") from exc
    extra = sorted(set(data) - {"rule"})
    if extra:
        raise ValueError(f"{path}: unknown top-level key(s) {extra}; rules go in [[rule]] tables")
    tables = data.get("rule", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise ValueError(f"{path}: 'rule' must be an array of tables, written [[rule]]")

    rules: list[Rule] = []
    seen: set[str] = set()
    for index, table in enumerate(tables, start=1):
        label = f"{path}: rule #{index}"
        if isinstance(table.get("name"), str):
            label += f" {table['name']!r}"
        try:
            rule = _rule_from_table(table)
        except RuleError as exc:
            raise ValueError(f"{label}: {exc.problem}") from None
        if rule.name in seen:
            raise ValueError(f"{label}: duplicate rule name")
        seen.add(rule.name)
        rules.append(rule)
    return (*rules, *defaults)


def _parse_toml(raw: bytes) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    parsed: dict[str, Any] = tomllib.loads(raw.decode("utf-8"))
    return parsed


def _rule_from_table(table: Mapping[str, Any]) -> Rule:
    name = table.get("name")
    unknown = sorted(set(table) - set(_RULE_KEYS))
    if unknown:
        raise RuleError(name, f"unknown key(s) {unknown}; allowed: {', '.join(_RULE_KEYS)}")
    if not isinstance(name, str) or not name.strip():
        raise RuleError(name, "'name' is required and must be a non-empty string")
    if not isinstance(table.get("class"), str):
        raise RuleError(name, f"'class' is required, one of: {', '.join(ERROR_CLASSES)}")
    message = table.get("message")
    if message is not None and not isinstance(message, str):
        raise RuleError(name, "'message' must be a string (a regular expression)")
    return Rule(
        name,
        table["class"],
        types=_strings(name, "types", table.get("types", ())),
        http_status=frozenset(_http_codes(name, table.get("http_status", ()))),
        grpc_codes=frozenset(_grpc_codes(name, table.get("grpc_codes", ()))),
        message=message,
        span_kinds=frozenset(_strings(name, "span_kinds", table.get("span_kinds", ()))),
    )


def _listed(value: object) -> list[object]:
    return list(value) if isinstance(value, list | tuple) else [value]


def _strings(name: str, key: str, value: object) -> tuple[str, ...]:
    items = _listed(value)
    if not all(isinstance(item, str) for item in items):
        raise RuleError(name, f"'{key}' must be a string or a list of strings")
    return tuple(str(item) for item in items)


def _http_codes(name: str, value: object) -> Iterable[int]:
    for item in _listed(value):
        if isinstance(item, str) and re.fullmatch(r"[1-5]xx", item, re.IGNORECASE):
            hundreds = int(item[0]) * 100
            yield from range(hundreds, hundreds + 100)
        elif is_int_in(item, 100, 599):
            yield item
        else:
            raise RuleError(name, f"'http_status' takes codes 100-599 or '4xx'/'5xx', not {item!r}")


def _grpc_codes(name: str, value: object) -> Iterable[int]:
    for item in _listed(value):
        if isinstance(item, str) and item.upper() in GRPC_CODES:
            yield GRPC_CODES[item.upper()]
        elif is_int_in(item, 0, 16):
            yield item
        else:
            raise RuleError(
                name, f"'grpc_codes' takes numbers 0-16 or names like UNAVAILABLE, not {item!r}"
            )
