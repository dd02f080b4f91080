"""The public names of firstwatch.errors."""

from __future__ import annotations

import firstwatch.errors


def test_exported_members() -> None:
    assert sorted(firstwatch.errors.__all__) == sorted(
        [
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
    )
    for name in firstwatch.errors.__all__:
        member = getattr(firstwatch.errors, name)
        if callable(member):
            assert member.__doc__, name
