"""Error classes, the rules that assign them, and message fingerprints (design.md §4.2)."""

from firstwatch.errors.classify import classify, matching_rule
from firstwatch.errors.default_rules import DEFAULT_RULES
from firstwatch.errors.facts import GRPC_CODES, ErrorFacts, facts_from_span, normalize_type
from firstwatch.errors.fingerprint import fingerprint, mask_message
from firstwatch.errors.rule import Rule
from firstwatch.errors.rules_file import load_rules
from firstwatch.errors.taxonomy import ERROR_CLASS_DESCRIPTIONS, ERROR_CLASSES

__all__ = [
    "DEFAULT_RULES",
    "ERROR_CLASSES",
    "ERROR_CLASS_DESCRIPTIONS",
    "GRPC_CODES",
    "ErrorFacts",
    "Rule",
    "classify",
    "facts_from_span",
    "fingerprint",
    "load_rules",
    "mask_message",
    "matching_rule",
    "normalize_type",
]
