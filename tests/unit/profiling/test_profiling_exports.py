"""The public surface of firstwatch.profiling and its declared feature table."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import firstwatch.profiling
from firstwatch.profiling import FEATURES, Limits, feature_for, profile_input
from unit.profiling import docs

NAME = re.compile(r"^[a-z]+(\.[a-z0-9_]+|\.\{key\})+$")


def test_exported_members() -> None:
    assert sorted(firstwatch.profiling.__all__) == [
        "FEATURES",
        "Feature",
        "FeatureKind",
        "Limits",
        "feature_for",
        "profile_input",
    ]


def test_feature_names_are_flat_lower_snake_case() -> None:
    for name, feature in FEATURES.items():
        assert NAME.match(name), name
        assert feature.name == name
        assert feature.kind in ("numeric", "categorical")
        assert feature.description


def test_patterned_names_resolve() -> None:
    feature = feature_for("json.len.question")
    assert feature is not None and feature.name == "json.len.{key}"
    assert feature_for("json.len.") is None
    assert feature_for("text.colour") is None


def _inputs(folder: Path) -> list[tuple[object, dict[str, Any]]]:
    return [
        (folder / "en.pdf", {}),
        (folder / "scanned.pdf", {}),
        (folder / "image.pdf", {}),
        (folder / "encrypted.pdf", {}),
        (folder / "truncated.pdf", {}),
        (folder / "letter.docx", {}),
        (folder / "missing.pdf", {}),
        (docs.SAMPLES["ja"] * 50, {"limits": Limits(max_text_chars=500)}),
        (docs.SAMPLES["fr"].encode("cp1252"), {"filename": "a.txt"}),
        (b'{"a": {"b": [1, "two"]}}', {"filename": "a.json"}),
        ({"question": docs.SAMPLES["en"], "k": 3}, {}),
        (list(range(50)), {"limits": Limits(max_json_nodes=10)}),
        (3.5, {}),
        (None, {}),
    ]


def test_every_emitted_feature_is_declared_with_a_matching_type(corpus: Path) -> None:
    seen: set[str] = set()
    for value, kwargs in _inputs(corpus):
        profile = profile_input(value, **kwargs)
        for name, result in profile.items():
            feature = feature_for(name)
            assert feature is not None, f"{name} is not declared in FEATURES"
            seen.add(feature.name)
            if feature.kind == "numeric":
                assert isinstance(result, (int, float)) and not isinstance(result, bool), name
            else:
                assert isinstance(result, (str, bool)), name
    # The corpus above exercises nearly the whole table.
    assert len(seen) >= len(FEATURES) - 2, sorted(set(FEATURES) - seen)


@pytest.mark.parametrize("value", ["text", b"%PDF-1.4", {"a": 1}, 7])
def test_profile_always_reports_its_own_cost(value: object) -> None:
    profile = profile_input(value)
    assert profile["profile.capped"] is False
    assert isinstance(profile["profile.ms"], float)
    assert profile["profile.ms"] >= 0.0
