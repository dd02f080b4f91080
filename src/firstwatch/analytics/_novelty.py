"""Novelty of runs: how many of their features lie outside the baseline (design.md §4.3, §5)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from firstwatch.analytics._baseline import FeatureBaseline
from firstwatch.analytics._columns import (
    Column,
    as_float,
    label_of,
    match_strings,
    numeric_rows,
    run_count,
)


def _novel_categories(values: Column, baseline: FeatureBaseline) -> NDArray[np.bool_]:
    """Per run: does it take a category the baseline never had?"""
    known = baseline.known_categories
    if isinstance(values, np.ndarray):
        kind = values.dtype.kind
        if kind in "US":
            _, matched = match_strings(values.astype(str, copy=False), baseline.sorted_categories)
            return ~matched
        if kind == "b":
            return np.where(values, "true" not in known, "false" not in known)
        if kind in "iuf":
            distinct, inverse = np.unique(values, return_inverse=True)
            flags = [
                label is not None and label not in known
                for label in map(label_of, distinct.tolist())
            ]
            return np.asarray(flags, dtype=np.bool_)[inverse.reshape(-1)]
        values = values.tolist()

    def novel(value: object) -> bool:
        if type(value) is str:
            return value not in known
        label = label_of(value)
        return label is not None and label not in known

    return np.fromiter(map(novel, values), dtype=np.bool_, count=len(values))


def _novel_value(baseline: FeatureBaseline, value: object) -> bool:
    if baseline.kind == "categorical":
        label = label_of(value)
        return label is not None and label not in baseline.known_categories
    number = as_float(value)
    if math.isnan(number):
        return False
    if baseline.central_low is None or baseline.central_high is None:
        return True
    return number < baseline.central_low or number > baseline.central_high


def novelty(baseline: Mapping[str, FeatureBaseline], run_features: Mapping[str, object]) -> int:
    """Novelty score of one run: how many of its features lie outside the baseline.

    A numeric value counts when it falls outside the baseline's widened central range (the
    0.5th–99.5th percentile grown by half its width, a quarter on each side), not its min–max;
    a categorical value counts when the baseline never had that category. Missing values and
    features the baseline does not have do not count.

    Args:
        baseline: The frozen baseline, by feature.
        run_features: The run's feature values, by name.

    Returns:
        The number of novel features.
    """
    return sum(
        1
        for name, value in run_features.items()
        if name in baseline and _novel_value(baseline[name], value)
    )


def _novel_rows(baseline: FeatureBaseline, values: Column) -> NDArray[np.bool_]:
    if baseline.kind == "categorical":
        return _novel_categories(values, baseline)
    rows = numeric_rows(values)
    if baseline.central_low is None or baseline.central_high is None:
        return ~np.isnan(rows)
    return (rows < baseline.central_low) | (rows > baseline.central_high)


def novelty_many(
    baseline: Mapping[str, FeatureBaseline], features: Mapping[str, Column]
) -> NDArray[np.int64]:
    """Novelty scores of many runs at once (vectorised `novelty`).

    Args:
        baseline: The frozen baseline, by feature.
        features: One column per feature, one value per run; all of one length.

    Returns:
        One score per run.
    """
    scores = np.zeros(run_count(features), dtype=np.int64)
    for name, values in features.items():
        if name in baseline:
            scores += _novel_rows(baseline[name], values)
    return scores


@dataclass(frozen=True)
class NovelRun:
    """A run among the least like the baseline.

    Attributes:
        index: The run's position in the columns given.
        score: Its novelty score.
        novel_features: The features that counted, sorted.
        profile: All its feature values, by name.
    """

    index: int
    score: int
    novel_features: tuple[str, ...]
    profile: dict[str, Any]


def most_novel(
    baseline: Mapping[str, FeatureBaseline], features: Mapping[str, Column], top: int = 10
) -> list[NovelRun]:
    """The runs least like anything in the baseline, with their profiles.

    Args:
        baseline: The frozen baseline, by feature.
        features: One column per feature, one value per run; all of one length.
        top: Most runs to list.

    Returns:
        Up to `top` runs with a score above 0, the highest first (earlier runs first on ties).
    """
    scores = novelty_many(baseline, features)
    order = np.argsort(-scores, kind="stable")[:top]
    found = []
    for index in order.tolist():
        if scores[index] == 0:
            break
        profile = {name: _plain(values[index]) for name, values in features.items()}
        novel = tuple(
            sorted(
                name
                for name, value in profile.items()
                if name in baseline and _novel_value(baseline[name], value)
            )
        )
        found.append(NovelRun(index, int(scores[index]), novel, profile))
    return found


def _plain(value: object) -> object:
    """A numpy scalar as the Python value it stands for."""
    return value.item() if isinstance(value, np.generic) else value
