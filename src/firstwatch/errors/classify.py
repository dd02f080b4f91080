"""Sort a failed span into one error class by ordered, data-driven rules (design.md §4.2).

The facts of an error (exception type and message, ``error.type``, status description, HTTP
status, gRPC code, span kind) are tried against a table of rules, first match wins. Users put
their own rules, from a TOML file, in front of the defaults.
"""

from __future__ import annotations

from collections.abc import Sequence

from firstwatch.errors.default_rules import DEFAULT_RULES
from firstwatch.errors.facts import ErrorFacts, facts_from_span, gather_evidence
from firstwatch.errors.rule import Rule
from firstwatch.errors.rules_file import load_rules

__all__ = [
    "DEFAULT_RULES",
    "ErrorFacts",
    "Rule",
    "classify",
    "facts_from_span",
    "load_rules",
    "matching_rule",
]


def matching_rule(facts: ErrorFacts, rules: Sequence[Rule] = DEFAULT_RULES) -> Rule | None:
    """Returns the first rule that matches the facts, or None.

    Args:
        facts: what the failed span says about its error.
        rules: the rule table, in order.
    """
    evidence = gather_evidence(facts)
    return next((rule for rule in rules if rule.matches(evidence)), None)


def classify(facts: ErrorFacts, rules: Sequence[Rule] = DEFAULT_RULES) -> str:
    """Returns the error class of a failed span: the first matching rule's, else ``unknown``.

    Args:
        facts: what the failed span says about its error.
        rules: the rule table, in order; ``load_rules`` gives user rules followed by the
            defaults.

    Returns:
        One of ``ERROR_CLASSES``.
    """
    rule = matching_rule(facts, rules)
    return "unknown" if rule is None else rule.error_class
