"""Input drift: how far a window of runs moved from a frozen baseline (design.md §4.3, §5).

Inputs are columns: one sequence per feature, one value per run (a list, or a numpy array for
speed). Numeric values that are None, NaN, ±inf or not numbers count as missing; categorical
values are labels (booleans become `true` / `false`, None and NaN are missing).

- `freeze_baseline` computes, once, what a comparison needs: 10 quantile bins, the category set,
  the widened central range and a bounded sorted sample for the KS test.
- `compare` reports per feature PSI, KS (numeric), Jensen–Shannon distance, the share of novel
  values and categories, and a severity that is `moderate` or `major` only when PSI says so *and*
  a test rejects "no change" after Holm's correction across the features compared.
- `novelty`, `novelty_many` and `most_novel` score runs by how many of their features fall
  outside the baseline.

The test of "no change" is one p-value per feature, from two tests joined by Bonferroni (the
smaller p-value doubled):

- numeric: KS on the present values, and, when values are missing on either side, χ² on the
  missing share;
- categorical: χ² over the categories (missing values one of them), and the novel-share test:
  do more current runs fall in categories the baseline never had than chance gives? χ² alone
  is weak there: a novelty spread thinly over several new categories is diluted among its
  sparse cells (a quarter of production runs in languages staging never had came out at
  p = 0.006, not flagged after Holm across 24 features). The novel-share test's null is
  exchangeability: with nothing changed, the current window is a random draw of the baseline
  and current runs pooled, so a category of t pooled runs is novel with probability
  C(m, t) / C(n + m, t) (for a small window, about the pooled singletons' share: the missing
  mass Good–Turing estimates). It needs only the baseline's counts per category, which a
  frozen baseline keeps. See `stattests.novel_share_test`.

A feature on one side only is compared as if it were missing from every run on the other side,
so a feature that appears in (or vanishes from) most runs of a large enough window is `major`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Final, Literal, cast

import numpy as np

from firstwatch.analytics._baseline import (
    SAMPLE_SIZE,
    FeatureBaseline,
    absent_baseline,
    bin_counts,
    categorical_summary,
    freeze_baseline,
    numeric_summary,
    outside_count,
)
from firstwatch.analytics._columns import (
    Column,
    category_counts,
    infer_kind,
    numeric_rows,
    present_sorted,
    run_count,
)
from firstwatch.analytics._novelty import NovelRun, most_novel, novelty, novelty_many
from firstwatch.analytics.stattests import STAT_TESTS, Kind, Sides, chi2_homogeneity, holm

__all__ = [
    "ALPHA",
    "MIN_RUNS",
    "PSI_MAJOR",
    "PSI_MODERATE",
    "SAMPLE_SIZE",
    "Column",
    "FeatureBaseline",
    "FeatureDrift",
    "NovelRun",
    "Presence",
    "Severity",
    "compare",
    "freeze_baseline",
    "most_novel",
    "novelty",
    "novelty_many",
]

Severity = Literal["none", "moderate", "major", "not_enough_data"]
Presence = Literal["both", "baseline_only", "current_only"]

MIN_RUNS: Final = 50
ALPHA: Final = 0.05
PSI_MODERATE: Final = 0.1
PSI_MAJOR: Final = 0.25
LISTED_CATEGORIES: Final = 20

_SEVERITY_RANK: Final = {"major": 0, "moderate": 1, "none": 2, "not_enough_data": 3}
_MISSING_LABEL: Final = "(missing)"
_OTHER_LABEL: Final = "(other)"


@dataclass(frozen=True)
class FeatureDrift:
    """How far one feature moved from its baseline.

    Attributes:
        feature: Feature name.
        kind: `numeric` or `categorical`.
        presence: `both`, or the one side the feature was found on (the other side then counts
            it as missing from every run).
        n_baseline: Runs in the baseline.
        n_current: Runs in the current window.
        psi: Population stability index over the baseline's bins or categories (missing values
            a bin of their own), each share floored at 1e-4.
        ks: Numeric: the two-sample Kolmogorov–Smirnov statistic over present values.
        js: Jensen–Shannon distance (base 2) over the same bins or categories.
        p_value: The test of "no change": KS (numeric) or χ² (categorical, missing values a
            category); when values are missing on either side, numeric features also test the
            missing share, and categorical features always also test the share of runs in
            novel categories; of two tests the smaller p-value is doubled (Bonferroni).
        p_adjusted: `p_value` after Holm's correction across the features compared.
        novel_share: Share of current runs outside the widened central range (numeric) or in
            a category the baseline never had (categorical).
        novel_categories: Categorical: the most frequent categories the baseline never had.
        severity: `none`, `moderate`, `major`, or `not_enough_data` when either side has fewer
            runs than the minimum.
        baseline_summary: Descriptive figures of the baseline.
        current_summary: The same figures for the current window.
        bins: One entry per bin or category for a histogram: label, low/high (numeric), counts
            and shares (of all runs) on both sides, and whether a category is novel.
    """

    feature: str
    kind: Kind
    presence: Presence
    n_baseline: int
    n_current: int
    psi: float | None
    ks: float | None
    js: float | None
    p_value: float | None
    p_adjusted: float | None
    novel_share: float | None
    novel_categories: tuple[str, ...]
    severity: Severity
    baseline_summary: dict[str, Any]
    current_summary: dict[str, Any]
    bins: list[dict[str, Any]]


def _statistic(name: str, sides: Sides) -> float | None:
    result = STAT_TESTS[name].func(sides)
    return None if result is None else result.statistic


def _bin_label(low: float | None, high: float | None) -> str:
    if low is None and high is None:
        return "any value"
    if low is None:
        return f"≤ {high:.4g}"
    if high is None:
        return f"> {low:.4g}"
    return f"({low:.4g}, {high:.4g}]"


def _bin_entry(label: str, b: int, c: int, n_b: int, n_c: int, **extra: Any) -> dict[str, Any]:
    return {
        "label": label,
        **extra,
        "baseline_count": b,
        "current_count": c,
        "baseline_share": b / n_b if n_b else None,
        "current_share": c / n_c if n_c else None,
    }


def _measure_numeric(baseline: FeatureBaseline, values: Column, presence: Presence) -> FeatureDrift:
    rows = numeric_rows(values)
    ordered = present_sorted(rows)
    n_b, n_c = baseline.n, int(rows.size)
    missing_c = n_c - int(ordered.size)
    edges = baseline.edges or ()
    current_bins = bin_counts(ordered, edges)
    base_bins = np.asarray(baseline.counts, dtype=np.int64)
    sides = Sides(
        kind="numeric",
        baseline_counts=np.append(base_bins, baseline.missing),
        current_counts=np.append(current_bins, missing_c),
        baseline_sorted=baseline.sample_array,
        baseline_present=baseline.present,
        current_sorted=ordered,
    )
    ks = STAT_TESTS["ks"].func(sides)
    p_values = [] if ks is None else [cast(float, ks.p_value)]
    if baseline.missing or missing_c:
        share_test = chi2_homogeneity(
            [baseline.present, baseline.missing], [int(ordered.size), missing_c]
        )
        p_values.append(share_test.p_value)
    p_value = min(1.0, len(p_values) * min(p_values)) if p_values else 1.0

    outside = outside_count(ordered, baseline.central_low, baseline.central_high)
    bounds: list[float | None] = [None, *edges, None]
    bins = [
        _bin_entry(
            _bin_label(bounds[i], bounds[i + 1]),
            int(base_bins[i]),
            int(current_bins[i]),
            n_b,
            n_c,
            low=bounds[i],
            high=bounds[i + 1],
        )
        for i in range(len(edges) + 1)
    ]
    if baseline.missing or missing_c:
        bins.append(
            _bin_entry(_MISSING_LABEL, baseline.missing, missing_c, n_b, n_c, low=None, high=None)
        )
    return FeatureDrift(
        feature=baseline.name,
        kind="numeric",
        presence=presence,
        n_baseline=n_b,
        n_current=n_c,
        psi=_statistic("psi", sides),
        ks=None if ks is None else ks.statistic,
        js=_statistic("jensenshannon", sides),
        p_value=p_value,
        p_adjusted=None,
        novel_share=outside / n_c if n_c else None,
        novel_categories=(),
        severity="not_enough_data",
        baseline_summary=dict(baseline.summary),
        current_summary=numeric_summary(ordered, n_c, outside),
        bins=bins,
    )


def _measure_categorical(
    baseline: FeatureBaseline, values: Column, presence: Presence
) -> FeatureDrift:
    counts, missing_c = category_counts(values, baseline.sorted_categories)
    n_b, n_c = baseline.n, len(values)
    known = dict(zip(baseline.categories or (), baseline.counts, strict=True))
    novel = sorted(
        (label for label in counts if label not in known), key=lambda label: (-counts[label], label)
    )
    # One order for every split of the same totals (sorted labels), so that the χ² test's
    # pooling of rare categories depends on the totals alone.
    labels = sorted([*known, *novel])
    base_counts = [known.get(label, 0) for label in labels]
    current_counts = [counts.get(label, 0) for label in labels]
    sides = Sides(
        kind="categorical",
        baseline_counts=np.asarray([*base_counts, baseline.missing], dtype=np.int64),
        current_counts=np.asarray([*current_counts, missing_c], dtype=np.int64),
    )
    tests = (STAT_TESTS["chisquare"].func(sides), STAT_TESTS["novel_share"].func(sides))
    p_values = [cast(float, test.p_value) for test in tests if test is not None]
    p_value = min(1.0, len(p_values) * min(p_values)) if p_values else 1.0
    novel_runs = sum(counts[label] for label in novel)

    order = sorted(
        range(len(labels)),
        key=lambda i: (-max(base_counts[i] / (n_b or 1), current_counts[i] / (n_c or 1)), i),
    )
    listed, rest = order[:LISTED_CATEGORIES], order[LISTED_CATEGORIES:]
    novel_set = set(novel)
    bins = [
        _bin_entry(
            labels[i], base_counts[i], current_counts[i], n_b, n_c, novel=labels[i] in novel_set
        )
        for i in listed
    ]
    if rest:
        bins.append(
            _bin_entry(
                _OTHER_LABEL,
                sum(base_counts[i] for i in rest),
                sum(current_counts[i] for i in rest),
                n_b,
                n_c,
                novel=False,
            )
        )
    if baseline.missing or missing_c:
        bins.append(_bin_entry(_MISSING_LABEL, baseline.missing, missing_c, n_b, n_c, novel=False))
    return FeatureDrift(
        feature=baseline.name,
        kind="categorical",
        presence=presence,
        n_baseline=n_b,
        n_current=n_c,
        psi=_statistic("psi", sides),
        ks=None,
        js=_statistic("jensenshannon", sides),
        p_value=p_value,
        p_adjusted=None,
        novel_share=novel_runs / n_c if n_c else None,
        novel_categories=tuple(novel[:LISTED_CATEGORIES]),
        severity="not_enough_data",
        baseline_summary=dict(baseline.summary),
        current_summary=categorical_summary(counts, n_c, missing_c),
        bins=bins,
    )


def _severity(psi: float | None, p_adjusted: float, alpha: float) -> Severity:
    if psi is None or p_adjusted > alpha or psi < PSI_MODERATE:
        return "none"
    return "major" if psi > PSI_MAJOR else "moderate"


def compare(
    baseline: Mapping[str, FeatureBaseline],
    current: Mapping[str, Column],
    *,
    min_runs: int = MIN_RUNS,
    alpha: float = ALPHA,
) -> list[FeatureDrift]:
    """Compare a window of runs with a frozen baseline, feature by feature.

    Severity comes from PSI (below 0.1 `none`, 0.1–0.25 `moderate`, above 0.25 `major`) and
    only when the test of "no change" rejects at `alpha` after Holm's correction across the
    features compared here; with fewer than `min_runs` runs on either side it is
    `not_enough_data` (the statistics are still given, but no p-value). A feature on one side
    only is compared as missing from every run of the other side.

    Args:
        baseline: The frozen baseline, by feature.
        current: One column per feature, one value per current run; all of one length.
        min_runs: Fewest runs on each side for a severity.
        alpha: Family-wise error rate of the tests.

    Returns:
        One entry per feature on either side, the most severe first (then by PSI, then name).
    """
    n_current = run_count(current)
    n_baseline = max((feature.n for feature in baseline.values()), default=0)
    measured: list[FeatureDrift] = []
    for name, frozen in baseline.items():
        if name in current:
            measured.append(_measure(frozen, current[name], "both"))
        else:
            measured.append(_measure(frozen, [None] * n_current, "baseline_only"))
    for name, values in current.items():
        if name not in baseline:
            absent = absent_baseline(name, infer_kind(values), n_baseline)
            measured.append(_measure(absent, values, "current_only"))

    tested = [m for m in measured if min(m.n_baseline, m.n_current) >= min_runs]
    adjusted = dict(
        zip(
            (id(m) for m in tested),
            holm([cast(float, m.p_value) for m in tested]),
            strict=True,
        )
    )
    results = []
    for m in measured:
        p_adjusted = adjusted.get(id(m))
        if p_adjusted is None:
            results.append(replace(m, p_value=None))
        else:
            severity = _severity(m.psi, p_adjusted, alpha)
            results.append(replace(m, p_adjusted=p_adjusted, severity=severity))
    results.sort(
        key=lambda r: (
            _SEVERITY_RANK[r.severity],
            -(r.psi if r.psi is not None else -1.0),
            r.feature,
        )
    )
    return results


def _measure(baseline: FeatureBaseline, values: Column, presence: Presence) -> FeatureDrift:
    """The feature's statistics; its severity waits for Holm's correction in `compare`."""
    if baseline.kind == "numeric":
        return _measure_numeric(baseline, values, presence)
    return _measure_categorical(baseline, values, presence)
