"""Input drift: statistics against scipy and hand computations, severities, novelty."""

from __future__ import annotations

import json
import math
import warnings
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special, stats
from scipy.spatial.distance import jensenshannon

from firstwatch.analytics.drift import (
    SAMPLE_SIZE,
    FeatureBaseline,
    compare,
    freeze_baseline,
    most_novel,
    novelty,
    novelty_many,
)
from firstwatch.analytics.stattests import (
    STAT_TESTS,
    Sides,
    StatTest,
    binomial_sf,
    chi2_homogeneity,
    chi2_sf,
    holm,
    js_distance,
    kolmogorov_sf,
    ks_pvalue,
    ks_statistic,
    novel_share_test,
    psi,
    register_stattest,
    stattests_for,
)

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


# --- PSI ---------------------------------------------------------------------------------------


def test_psi_by_hand() -> None:
    # Shares 0.5/0.3/0.2 against 0.3/0.3/0.4.
    by_hand = (0.3 - 0.5) * math.log(0.3 / 0.5) + 0 + (0.4 - 0.2) * math.log(0.4 / 0.2)
    assert psi([50, 30, 20], [30, 30, 40]) == pytest.approx(by_hand, rel=1e-12)
    assert by_hand == pytest.approx(0.24079, abs=1e-5)


def test_psi_floors_an_empty_bin_at_1e_4() -> None:
    by_hand = (0.5 - 1.0) * math.log(0.5 / 1.0) + (0.5 - 1e-4) * math.log(0.5 / 1e-4)
    assert psi([10, 0], [5, 5]) == pytest.approx(by_hand, rel=1e-12)


def test_psi_of_a_numeric_feature_uses_the_baseline_deciles() -> None:
    baseline = freeze_baseline({"x": list(range(1000))})
    # Half the current runs in the lowest decile, half in the highest: the other eight bins
    # are empty and floored.
    current = [float(v) for v in range(0, 100, 2)] + [float(v) for v in range(900, 1000, 2)]
    (drift,) = compare(baseline, {"x": current})
    by_hand = 2 * (0.5 - 0.1) * math.log(0.5 / 0.1) + 8 * (1e-4 - 0.1) * math.log(1e-4 / 0.1)
    assert drift.psi == pytest.approx(by_hand, rel=1e-9)
    assert [b["current_count"] for b in drift.bins] == [50, 0, 0, 0, 0, 0, 0, 0, 0, 50]
    assert drift.severity == "major"


@given(st.lists(st.integers(0, 1000), min_size=1, max_size=12))
def test_psi_is_zero_on_identical_histograms_and_positive_otherwise(counts: list[int]) -> None:
    if sum(counts) == 0:
        return
    assert psi(counts, counts) == pytest.approx(0.0, abs=1e-15)
    moved = [*counts[1:], counts[0]]
    assert psi(counts, moved) >= 0


# --- Jensen–Shannon ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("p", "q"),
    [([1, 0], [0, 1]), ([5, 5], [5, 5]), ([10, 0, 3], [1, 7, 2]), ([0.2, 0.8], [0.6, 0.4])],
)
def test_js_distance_matches_scipy(p: list[float], q: list[float]) -> None:
    assert js_distance(p, q) == pytest.approx(jensenshannon(p, q, base=2), abs=1e-12)


@given(
    st.lists(st.integers(0, 500), min_size=2, max_size=10).flatmap(
        lambda p: st.tuples(
            st.just(p), st.lists(st.integers(0, 500), min_size=len(p), max_size=len(p))
        )
    )
)
def test_js_distance_matches_scipy_on_any_histograms(pair: tuple[list[int], list[int]]) -> None:
    p, q = pair
    if sum(p) == 0 or sum(q) == 0:
        return
    ours = js_distance(p, q)
    assert ours == pytest.approx(jensenshannon(p, q, base=2), abs=1e-9)
    assert 0.0 <= ours <= 1.0


# --- Kolmogorov–Smirnov ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "m", "shift"),
    [(50, 50, 0.0), (50, 60, 0.5), (100, 3000, 0.0), (100, 3000, 0.3), (7, 400, 1.0), (1, 5, 0)],
)
def test_ks_matches_scipy_exact(n: int, m: int, shift: float) -> None:
    rng = np.random.default_rng(n * 7919 + m)
    a = np.sort(rng.normal(size=n))
    b = np.sort(rng.normal(shift, 1, size=m))
    reference = stats.ks_2samp(a, b, method="exact")
    d = ks_statistic(a, b)
    assert d == pytest.approx(reference.statistic, abs=1e-12)
    assert ks_pvalue(d, n, m) == pytest.approx(reference.pvalue, rel=1e-6, abs=1e-12)


def test_ks_with_ties_matches_scipy() -> None:
    rng = np.random.default_rng(3)
    a = np.sort(rng.poisson(3, 150).astype(float))
    b = np.sort(rng.poisson(3.4, 220).astype(float))
    reference = stats.ks_2samp(a, b, method="exact")
    d = ks_statistic(a, b)
    assert d == pytest.approx(reference.statistic, abs=1e-12)
    assert ks_pvalue(d, a.size, b.size) == pytest.approx(reference.pvalue, rel=1e-6)


@pytest.mark.parametrize(("n", "m"), [(3000, 5000), (5000, 20000)])
def test_ks_pvalue_for_large_samples_is_close_to_scipy(n: int, m: int) -> None:
    # Beyond the exact limit: Stephens' approximation, a few per cent from scipy's answer.
    rng = np.random.default_rng(n)
    for shift in (0.0, 0.03, 0.06):
        a = np.sort(rng.normal(size=n))
        b = np.sort(rng.normal(shift, 1, size=m))
        reference = stats.ks_2samp(a, b)
        d = ks_statistic(a, b)
        assert d == pytest.approx(reference.statistic, abs=1e-12)
        assert ks_pvalue(d, n, m) == pytest.approx(reference.pvalue, rel=0.1, abs=1e-4)


@settings(max_examples=60, deadline=None)
@given(st.lists(finite, min_size=1, max_size=60), st.lists(finite, min_size=1, max_size=60))
def test_ks_statistic_matches_scipy_on_any_samples(a: list[float], b: list[float]) -> None:
    x, y = np.sort(np.asarray(a)), np.sort(np.asarray(b))
    with warnings.catch_warnings(record=True) as fell_back:
        warnings.simplefilter("always")
        reference = stats.ks_2samp(x, y, method="exact")
    d = ks_statistic(x, y)
    assert d == pytest.approx(reference.statistic, abs=1e-12)
    # scipy's exact method gives up on a few lattice cases and answers asymptotically.
    tolerance = 0.05 if fell_back else 1e-10
    assert ks_pvalue(d, x.size, y.size) == pytest.approx(reference.pvalue, rel=1e-6, abs=tolerance)


def test_ks_from_a_sketched_baseline_is_within_its_resolution() -> None:
    rng = np.random.default_rng(11)
    full = rng.lognormal(size=200_000)
    baseline = freeze_baseline({"x": full})["x"]
    assert len(baseline.sample or ()) == SAMPLE_SIZE
    current = np.sort(rng.lognormal(0.05, 1, size=5_000))
    reference = stats.ks_2samp(full, current).statistic
    assert ks_statistic(baseline.sample_array, current) == pytest.approx(reference, abs=2e-4)


def test_kolmogorov_survival_matches_scipy() -> None:
    for x in np.linspace(0.01, 3.0, 300):
        assert kolmogorov_sf(float(x)) == pytest.approx(special.kolmogorov(x), abs=1e-12)


# --- χ² -----------------------------------------------------------------------------------------


def test_chi2_survival_matches_scipy() -> None:
    for dof in (1, 2, 3, 7, 30, 200):
        for x in np.linspace(0.01, 4 * dof + 40, 120):
            assert chi2_sf(float(x), dof) == pytest.approx(stats.chi2.sf(x, dof), rel=1e-10)


@pytest.mark.parametrize(
    ("baseline", "current"),
    [
        ([1200, 800], [40, 60]),  # 2×2: Yates-corrected, as scipy by default
        ([300, 200, 150, 350], [30, 25, 10, 35]),
        ([900, 50, 50], [80, 10, 10]),
        ([500, 500, 500], [50, 50, 50]),
    ],
)
def test_chi2_matches_scipy_contingency(baseline: list[int], current: list[int]) -> None:
    statistic, p_value, dof, _ = stats.chi2_contingency(np.array([baseline, current]))
    ours = chi2_homogeneity(baseline, current)
    assert ours.method == "asymptotic"
    assert ours.statistic == pytest.approx(statistic, rel=1e-10)
    assert ours.p_value == pytest.approx(p_value, rel=1e-9)
    assert ours.dof == dof


def test_chi2_with_small_expected_counts_is_a_permutation_test() -> None:
    # Rows baseline/current, columns common/rare; 3 of the 15 rare runs fell in the current 100.
    ours = chi2_homogeneity([2988, 12], [97, 3])
    assert ours.method == "permutation"
    # The exact conditional p-value of the same statistic: with the margins fixed, the rare
    # count k in the current row is hypergeometric.
    rows, columns = np.array([3000, 100]), np.array([3085, 15])
    expected = np.outer(rows, columns) / 3100
    ks = np.arange(0, 16)
    tables = [np.array([[2985 + k, 15 - k], [100 - k, k]]) for k in ks]
    pearson = np.array([np.sum((table - expected) ** 2 / expected) for table in tables])
    exact = stats.hypergeom.pmf(ks, 3100, 15, 100)[pearson >= ours.statistic * (1 - 1e-9)].sum()
    assert 0.005 < exact < 0.02
    assert exact / 2 < ours.p_value < exact * 2
    assert chi2_homogeneity([2988, 12], [97, 3]) == ours  # seeded from the margins


def test_chi2_permutation_p_values_are_calibrated() -> None:
    rng = np.random.default_rng(5)
    shares = np.array([50, 20, 10, 10, 5, 4, 1.0])
    shares /= shares.sum()
    p_values = []
    for _ in range(400):
        outcome = chi2_homogeneity(rng.multinomial(3000, shares), rng.multinomial(100, shares))
        assert outcome.method == "permutation"
        p_values.append(outcome.p_value)
    assert 0.02 <= np.mean(np.asarray(p_values) <= 0.05) <= 0.08


def test_chi2_has_nothing_to_test_with_one_category() -> None:
    outcome = chi2_homogeneity([100, 0], [40, 0])
    assert (outcome.p_value, outcome.method) == (1.0, "none")


# --- the share of novel categories -------------------------------------------------------------


@pytest.mark.parametrize(
    ("k", "trials", "p"),
    [
        (0, 10, 0.3),
        (1, 1, 0.5),
        (3, 10, 0.3),
        (46, 200, 1 / 70),  # far in the tail: relative accuracy still holds
        (30, 1000, 0.05),
        (60, 1000, 0.05),
        (600, 1000, 0.5),
        (4100, 5000, 0.8),
        (1200, 1_000_000, 1e-3),
        (900, 1_000_000, 1e-3),
        (10, 10, 0.999),
    ],
)
def test_binomial_tail_matches_scipy_binomtest(k: int, trials: int, p: float) -> None:
    reference = stats.binomtest(k, trials, p, alternative="greater").pvalue
    assert binomial_sf(k, trials, p) == pytest.approx(reference, rel=1e-8)


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 3000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
    st.floats(1e-6, 1 - 1e-6),
)
def test_binomial_tail_matches_scipy_on_any_counts(case: tuple[int, int], p: float) -> None:
    k, trials = case
    reference = stats.binomtest(k, trials, p, alternative="greater").pvalue
    if reference > 1e-200:  # below that, scipy's answer loses digits (see the next test)
        assert binomial_sf(k, trials, p) == pytest.approx(reference, rel=1e-8)


def test_binomial_tail_keeps_its_accuracy_far_out() -> None:
    exact = sum(
        math.comb(362, y) * Fraction(1, 8) ** y * Fraction(7, 8) ** (362 - y)
        for y in range(348, 363)
    )
    assert float(exact) == pytest.approx(4.8556495614930e-291, rel=1e-12)
    assert binomial_sf(348, 362, 0.125) == pytest.approx(float(exact), rel=1e-10)


def test_binomial_tail_edges() -> None:
    assert (binomial_sf(0, 0, 0.5), binomial_sf(1, 0, 0.5), binomial_sf(5, 4, 0.5)) == (1, 0, 0)
    assert (binomial_sf(1, 10, 0.0), binomial_sf(10, 10, 1.0)) == (0.0, 1.0)
    with pytest.raises(ValueError, match="probability"):
        binomial_sf(1, 10, 1.5)


def test_novel_share_of_pooled_singletons_is_a_binomial_test() -> None:
    # Baseline: 2990 `en` and 10 categories seen once; current: 95 `en` and 5 new categories seen
    # once. With nothing changed, each of the 15 pooled singletons fell in the current window
    # with probability m / N = 100 / 3100, and `en` cannot be novel.
    baseline = [2990, *[1] * 10, *[0] * 5]
    current = [95, *[0] * 10, *[1] * 5]
    outcome = novel_share_test(baseline, current)
    assert (outcome.novel, outcome.share) == (5, 0.05)
    assert outcome.expected_share == pytest.approx(15 / 3100)
    reference = stats.binomtest(5, 15, 100 / 3100, alternative="greater").pvalue
    assert outcome.p_value == pytest.approx(reference, rel=1e-9)
    # For a small window, close to a binomial test against the baseline's Good–Turing missing
    # mass (its singletons over its runs), which takes no account of the current singletons.
    good_turing = stats.binomtest(5, 100, 10 / 3000, alternative="greater").pvalue
    assert good_turing < outcome.p_value < 4 * good_turing


@pytest.mark.parametrize(("t", "n", "m"), [(1, 70, 200), (8, 70, 200), (3, 3000, 100)])
def test_one_novel_category_has_the_exact_hypergeometric_p_value(t: int, n: int, m: int) -> None:
    # All t runs of the one small category fell in the current window: with the m current runs
    # a random m of the n + m, that happens with probability C(m, t) / C(n + m, t).
    outcome = novel_share_test([n, 0], [m - t, t])
    exact = stats.hypergeom.pmf(t, n + m, t, m)
    assert outcome.p_value == pytest.approx(exact, rel=1e-9)


def _permutation_p_value(baseline: np.ndarray, current: np.ndarray, draws: int) -> float:
    """Monte Carlo p-value of the novel runs, drawing current windows from the pooled runs."""
    rng = np.random.default_rng(0)
    totals = baseline + current
    observed = current[baseline == 0].sum()
    drawn = rng.multivariate_hypergeometric(totals, int(current.sum()), size=draws)
    novel = np.where(totals - drawn == 0, drawn, 0).sum(axis=1)
    return float((1 + np.count_nonzero(novel >= observed)) / (draws + 1))


@pytest.mark.parametrize(
    ("tail", "n", "m", "extra"), [(1.2, 500, 500, 20), (2.0, 70, 200, 10), (1.2, 3000, 100, 6)]
)
def test_novel_share_p_value_agrees_with_a_permutation_test(
    tail: float, n: int, m: int, extra: int
) -> None:
    # A long tail of 300 categories (shares ∝ rank^−tail), and a few more novel runs than chance.
    rng = np.random.default_rng(n + m)
    shares = 1 / np.arange(1, 301) ** tail
    shares /= shares.sum()
    baseline = np.append(rng.multinomial(n, shares), [0] * extra)
    current = np.append(rng.multinomial(m - extra, shares), [1] * extra)
    ours = novel_share_test(baseline, current).p_value
    reference = _permutation_p_value(baseline, current, 20_000)
    assert 0.005 < reference < 0.5
    # Slightly conservative (the categories' draws are taken as independent).
    assert reference * 0.8 <= ours <= reference * 1.6


def _null_sum_p_value(baseline: np.ndarray, current: np.ndarray) -> float:
    """P(Σ t·Binomial(cₜ, πₜ) ≥ novel runs), built from scipy's pmfs, πₜ hypergeometric."""
    n, m = int(baseline.sum()), int(current.sum())
    pooled = baseline + current
    totals, sizes = np.unique(pooled[pooled > 0], return_counts=True)
    null, offset = np.ones(1), 0
    for t, size in zip(totals.tolist(), sizes.tolist(), strict=True):
        pi = stats.hypergeom.pmf(t, n + m, t, m)
        pmf = stats.binom.pmf(np.arange(size + 1), size, pi)
        kept = np.flatnonzero(pmf > 1e-30)
        if size * pi < 1e-15 or kept.size == 0:
            continue
        spread = np.zeros((kept[-1] - kept[0]) * t + 1)
        spread[::t] = pmf[kept[0] : kept[-1] + 1]
        null, offset = np.convolve(null, spread), offset + int(kept[0]) * t
    novel = int(current[baseline == 0].sum())
    return float(null[max(0, novel - offset) :].sum() / null.sum())


def test_novel_share_of_many_categories_matches_the_sum_built_with_scipy() -> None:
    # 120,000 runs over 150,000 possible ids: long distributions, convolved through the FFT.
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 150_000, 120_000)
    labels, index = np.unique(ids, return_inverse=True)
    baseline = np.bincount(index[:60_000], minlength=labels.size)
    current = np.bincount(index[60_000:], minlength=labels.size)
    shared = np.flatnonzero((baseline > 0) & (current > 0))
    p_values = []
    for moved in (0, 1000, 2000):  # as drawn, then with runs moved from seen to new categories
        more_current = current.copy()
        more_current[shared[:moved]] -= 1
        more_current = np.concatenate([more_current, np.ones(moved, dtype=np.int64)])
        more_baseline = np.concatenate([baseline, np.zeros(moved, dtype=np.int64)])
        outcome = novel_share_test(more_baseline, more_current)
        reference = _null_sum_p_value(more_baseline, more_current)
        assert outcome.p_value == pytest.approx(reference, rel=1e-6, abs=1e-11)
        p_values.append(outcome.p_value)
    assert p_values[0] > 0.05 > p_values[1] > 1e-4 > p_values[2]


@pytest.mark.parametrize(("n", "m"), [(70, 200), (500, 2000), (3000, 100)])
def test_novel_share_p_values_are_calibrated_on_a_long_tail(n: int, m: int) -> None:
    # With nothing changed, a window as large as the baseline or larger finds many categories
    # the baseline missed by chance; rejections must stay within the level.
    rng = np.random.default_rng(m)
    shares = 1 / np.arange(1, 301) ** 1.2
    shares /= shares.sum()
    p_values = np.array(
        [
            novel_share_test(rng.multinomial(n, shares), rng.multinomial(m, shares)).p_value
            for _ in range(300)
        ]
    )
    assert np.mean(p_values <= 0.05) <= 0.06
    assert np.mean(p_values <= 0.2) >= 0.1  # not blind either


def test_novel_share_counts_runs_without_a_category() -> None:
    # 20 current runs have no value: they are runs, never novel.
    outcome = novel_share_test([50, 0], [30, 10], baseline_runs=60, current_runs=60)
    assert (outcome.novel, outcome.share) == (10, pytest.approx(1 / 6))
    assert outcome.p_value == pytest.approx(stats.hypergeom.pmf(10, 120, 10, 60), rel=1e-9)
    nothing_new = novel_share_test([50, 10], [30, 10])
    assert (nothing_new.novel, nothing_new.p_value) == (0, 1.0)
    assert novel_share_test([0, 0], [5, 5]).p_value == 1.0  # an empty baseline tests nothing
    with pytest.raises(ValueError, match="aligned"):
        novel_share_test([1, 2], [1])
    with pytest.raises(ValueError, match="at least"):
        novel_share_test([5, 5], [1, 1], baseline_runs=9)


# --- Holm and the registry ---------------------------------------------------------------------


def test_holm_by_hand() -> None:
    # Sorted: 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 → max(0.06, 0.04) = 0.06.
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    assert holm([]) == []


def test_registry_names_kinds_and_default_thresholds() -> None:
    assert {name: (t.default_threshold, t.measures) for name, t in STAT_TESTS.items()} == {
        "psi": (0.1, "distance"),
        "ks": (0.05, "p_value"),
        "jensenshannon": (0.1, "distance"),
        "chisquare": (0.05, "p_value"),
        "novel_share": (0.05, "p_value"),
    }
    assert [t.name for t in stattests_for("numeric")] == ["psi", "ks", "jensenshannon"]
    assert [t.name for t in stattests_for("categorical")] == [
        "psi",
        "jensenshannon",
        "chisquare",
        "novel_share",
    ]
    with pytest.raises(ValueError, match="already registered"):
        register_stattest(STAT_TESTS["psi"])


def test_registry_functions_compute_on_one_feature() -> None:
    sides = Sides(
        kind="numeric",
        baseline_counts=np.array([50, 30, 20, 0]),
        current_counts=np.array([30, 30, 40, 0]),
        baseline_sorted=np.array([0.0, 1.0, 2.0, 3.0]),
        baseline_present=4,
        current_sorted=np.array([10.0, 11.0, 12.0, 13.0]),
    )
    psi_test, ks_test = STAT_TESTS["psi"], STAT_TESTS["ks"]
    psi_result, ks_result = psi_test.func(sides), ks_test.func(sides)
    assert psi_result is not None and ks_result is not None
    assert psi_result.statistic == pytest.approx(psi([50, 30, 20, 0], [30, 30, 40, 0]))
    assert psi_test.drifted(psi_result) and not psi_test.drifted(psi_result, threshold=0.3)
    assert ks_result.statistic == 1.0
    assert ks_result.p_value == pytest.approx(stats.ks_2samp([0, 1, 2, 3], [10, 11, 12, 13]).pvalue)
    # Fully separated samples of 4: p = 2 / C(8, 4) ≈ 0.029.
    assert ks_test.drifted(ks_result) and not ks_test.drifted(ks_result, threshold=0.01)
    assert isinstance(ks_test, StatTest) and ks_test.kinds == frozenset({"numeric"})


def test_the_novel_share_statistic_reads_one_categorical_feature() -> None:
    # Categories en, fr, ko (the baseline never had ko), then the missing values.
    sides = Sides(
        kind="categorical",
        baseline_counts=np.array([250, 40, 0, 10]),
        current_counts=np.array([70, 10, 12, 8]),
    )
    test = STAT_TESTS["novel_share"]
    result = test.func(sides)
    assert result is not None
    outcome = novel_share_test([250, 40, 0], [70, 10, 12], baseline_runs=300, current_runs=100)
    assert (result.statistic, result.p_value) == (0.12, outcome.p_value)
    assert test.drifted(result) and test.kinds == frozenset({"categorical"})
    empty = Sides("categorical", np.array([0, 0]), np.array([3, 0]))
    assert test.func(empty) is None


# --- freezing a baseline -----------------------------------------------------------------------


def test_numeric_baseline_has_decile_bins_and_a_widened_central_range() -> None:
    values = np.arange(1000, dtype=float)
    frozen = freeze_baseline({"x": values}, {"x": "numeric"})["x"]
    assert frozen.edges == pytest.approx(tuple(np.percentile(values, range(10, 100, 10))))
    assert frozen.counts == (100,) * 10
    low, high = np.percentile(values, [0.5, 99.5])
    width = high - low
    assert (frozen.central_low, frozen.central_high) == pytest.approx(
        (low - width / 4, high + width / 4)
    )
    assert frozen.sample == tuple(values.tolist())
    assert frozen.summary["p50"] == pytest.approx(np.median(values))


def test_tied_quantiles_merge_into_fewer_bins() -> None:
    values = [0.0] * 700 + [1.0] * 200 + [2.0] * 100
    frozen = freeze_baseline({"x": values})["x"]
    assert frozen.edges == tuple(np.unique(np.percentile(values, range(10, 100, 10))))
    assert frozen.edges is not None and len(frozen.edges) == 4  # 0, 0.3, 1, 1.1
    upper = [*frozen.edges, math.inf]
    lower = [-math.inf, *frozen.edges]
    by_hand = [sum(lo < v <= hi for v in values) for lo, hi in zip(lower, upper, strict=True)]
    assert frozen.counts == tuple(by_hand) == (700, 0, 200, 0, 100)
    constant = freeze_baseline({"c": [3.0] * 100})["c"]
    assert (constant.edges, constant.counts) == ((3.0,), (100, 0))
    assert (constant.central_low, constant.central_high) == (3.0, 3.0)


def test_categorical_baseline_counts_labels_and_missing_values() -> None:
    frozen = freeze_baseline(
        {"lang": ["en", "fr", None, "en", float("nan")], "flag": [True, False, True, None, True]}
    )
    lang, flag = frozen["lang"], frozen["flag"]
    assert (lang.kind, lang.categories, lang.counts, lang.missing) == (
        "categorical",
        ("en", "fr"),
        (2, 1),
        2,
    )
    assert (flag.kind, flag.categories, flag.counts, flag.missing) == (
        "categorical",
        ("false", "true"),
        (1, 3),
        1,
    )


def test_numpy_columns_and_lists_freeze_alike() -> None:
    rng = np.random.default_rng(2)
    labels = np.array(["b", "a", "c"])[rng.integers(0, 3, 50_000)]
    numbers = rng.normal(size=50_000)
    numbers[::97] = np.nan
    from_arrays = freeze_baseline({"l": labels, "x": numbers, "i": labels == "a"})
    listed = [None if math.isnan(v) else v for v in numbers.tolist()]
    from_lists = freeze_baseline({"l": labels.tolist(), "x": listed, "i": (labels == "a").tolist()})
    assert from_arrays == from_lists
    objects = freeze_baseline({"l": labels.astype(object)})["l"]
    assert objects == from_arrays["l"]


def test_ints_as_categories_and_strings_in_numbers() -> None:
    frozen = freeze_baseline(
        {"code": np.array([200, 404, 200, 500]), "n": ["1.5", "oops", None, 2]},
        {"code": "categorical", "n": "numeric"},
    )
    assert frozen["code"].categories == ("200", "404", "500")
    assert (frozen["n"].n, frozen["n"].missing, frozen["n"].sample) == (4, 2, (1.5, 2.0))


def test_booleans_and_numbers_stay_apart_in_one_column() -> None:
    frozen = freeze_baseline({"m": [1, "a", True, None, 1, False, 0] * 10}, {"m": "categorical"})
    assert dict(zip(frozen["m"].categories or (), frozen["m"].counts, strict=True)) == {
        "0": 10,
        "1": 20,
        "a": 10,
        "false": 10,
        "true": 10,
    }


def test_large_baseline_keeps_a_bounded_sketch() -> None:
    values = np.random.default_rng(4).normal(size=50_000)
    frozen = freeze_baseline({"x": values})["x"]
    sample = np.asarray(frozen.sample)
    assert sample.size == SAMPLE_SIZE
    assert np.all(np.diff(sample) >= 0)
    assert (sample[0], sample[-1]) == (values.min(), values.max())


def test_baseline_round_trips_through_json() -> None:
    frozen = freeze_baseline(
        {"x": [1.0, 2.5, None, 4.0] * 20, "lang": ["en", "fr", None, "de"] * 20}
    )
    again = {
        name: FeatureBaseline.from_dict(json.loads(json.dumps(feature.to_dict())))
        for name, feature in frozen.items()
    }
    assert again == frozen
    assert again["x"].summary == frozen["x"].summary


def test_a_baseline_read_back_compares_alike() -> None:
    # What the tests of a comparison need (bins, counts per category) is what a stored
    # baseline keeps.
    rng = np.random.default_rng(17)
    frozen = freeze_baseline(_mixed_features(rng, 300))
    again = {
        name: FeatureBaseline.from_dict(json.loads(json.dumps(feature.to_dict())))
        for name, feature in frozen.items()
    }
    current = _mixed_features(rng, 200)
    current["lang0"] = np.where(rng.random(200) < 0.1, "ko", current["lang0"])
    assert compare(again, current) == compare(frozen, current)


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="one value per run"):
        freeze_baseline({"a": [1, 2], "b": [1]})
    with pytest.raises(ValueError, match="numeric or categorical"):
        freeze_baseline({"a": [1, 2]}, {"a": "ordinal"})


# --- comparing ---------------------------------------------------------------------------------


def _severities(results: list[Any]) -> dict[str, str]:
    return {r.feature: r.severity for r in results}


def test_identical_samples_show_no_drift() -> None:
    rng = np.random.default_rng(8)
    columns: dict[str, Any] = {
        "x": rng.normal(size=400),
        "n": rng.poisson(2, 400).astype(float),
        "lang": np.array(["en", "fr", "de"])[rng.integers(0, 3, 400)],
        "flag": rng.random(400) < 0.2,
    }
    results = compare(freeze_baseline(columns), columns)
    assert set(_severities(results).values()) == {"none"}
    for result in results:
        assert result.psi == pytest.approx(0.0, abs=1e-12)
        assert result.js == pytest.approx(0.0, abs=1e-7)
        assert result.p_value == 1.0 and result.p_adjusted == 1.0
        assert result.novel_share == 0.0
    assert {r.ks for r in results if r.kind == "numeric"} == {0.0}


def _mixed_features(rng: np.random.Generator, n: int) -> dict[str, Any]:
    """Twenty features: normal, lognormal, integer-valued with ties, categorical."""
    shares = np.array([50, 20, 10, 10, 5, 4, 1.0])
    labels = np.array(["en", "fr", "de", "es", "ja", "zh", "ru"])
    features: dict[str, Any] = {}
    for i in range(5):
        features[f"normal{i}"] = rng.normal(10, 3, n)
        features[f"lognormal{i}"] = rng.lognormal(0, 1, n)
        features[f"count{i}"] = rng.poisson(3, n).astype(float)
    for i in range(3):
        features[f"lang{i}"] = labels[rng.choice(7, n, p=shares / shares.sum())]
    features["scanned"] = rng.random(n) < 0.1
    features["source"] = [
        None if r < 0.02 else "upload" if r < 0.6 else "email" if r < 0.9 else "api"
        for r in rng.random(n)
    ]
    return features


def test_same_distribution_comes_out_clean_in_at_least_95_percent_of_seeds() -> None:
    clean = 0
    for seed in range(200):
        rng = np.random.default_rng(seed)
        baseline = freeze_baseline(_mixed_features(rng, 3000))
        results = compare(baseline, _mixed_features(rng, 100))
        assert len(results) == 20
        clean += all(r.severity == "none" for r in results)
    assert clean >= 190


_TAIL = np.array([f"t{i:03d}" for i in range(300)])
_TAIL_SHARES = 1 / np.arange(1, 301) ** 1.2
_TAIL_SHARES /= _TAIL_SHARES.sum()


def _long_tail_features(rng: np.random.Generator, n: int) -> dict[str, Any]:
    """`_mixed_features` with three of its categorical features spread over a long tail."""
    features = _mixed_features(rng, n)
    for i in range(3):
        features[f"lang{i}"] = _TAIL[rng.choice(_TAIL.size, n, p=_TAIL_SHARES)]
    return features


@pytest.mark.parametrize(("n", "m", "seeds"), [(3000, 100, 200), (70, 200, 100)])
def test_categories_unseen_by_chance_do_not_raise_false_alarms(n: int, m: int, seeds: int) -> None:
    # Long tails of 300 categories: the current window takes categories the baseline missed by
    # chance in most comparisons (with 70 baseline runs, about a third of its runs). A binomial
    # test against the baseline's Good–Turing missing mass flags 24 of 100 of the 70 / 200
    # comparisons; the test of the novel share must not.
    clean = by_chance = 0
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        results = compare(freeze_baseline(_long_tail_features(rng, n)), _long_tail_features(rng, m))
        clean += all(r.severity == "none" for r in results)
        by_chance += any(r.novel_share and r.kind == "categorical" for r in results)
    assert by_chance >= seeds * 0.9
    assert clean >= seeds * 0.95


def test_a_quarter_of_runs_in_new_languages_is_major() -> None:
    # The demo: staging had 70 runs, all in English; in 200 production runs, 23 % are in six
    # languages staging never had, a few runs each. Twenty-four features are compared.
    new_languages = np.repeat(["de", "fr", "es", "ru", "zh", "ja"], [8, 8, 8, 8, 7, 7])
    clean_others = 0
    for seed in range(20):
        rng = np.random.default_rng(seed)
        baseline_columns, current = _mixed_features(rng, 70), _mixed_features(rng, 200)
        for side, n in ((baseline_columns, 70), (current, 200)):
            side["text.length"] = rng.gamma(2, 500, n)
            side["text.language_score"] = rng.beta(8, 2, n)
            side["text.script"] = np.full(n, "Latn")
        baseline_columns["text.language"] = np.full(70, "en")
        languages = np.full(200, "en").astype("<U2")
        languages[rng.permutation(200)[: new_languages.size]] = new_languages
        current["text.language"] = languages
        results = {r.feature: r for r in compare(freeze_baseline(baseline_columns), current)}
        assert len(results) == 24
        language = results.pop("text.language")
        assert language.severity == "major"
        assert language.novel_share == pytest.approx(0.23)
        assert set(language.novel_categories) == {"de", "fr", "es", "ru", "zh", "ja"}
        # χ² alone does not see it: after Holm across 24 features it stays above 5 %.
        chi2 = chi2_homogeneity(
            [b["baseline_count"] for b in language.bins],
            [b["current_count"] for b in language.bins],
        )
        assert chi2.p_value * 24 > 0.05
        clean_others += all(r.severity == "none" for r in results.values())
    assert clean_others >= 18


def test_many_categories_do_not_raise_false_alarms() -> None:
    # Ids drawn from 100,000: most categories are seen once, many on one side only. Which side
    # a rare category fell on must not decide how the χ² test pools it (when it did, about
    # half of these unchanged comparisons came out major).
    rng = np.random.default_rng(13)
    flagged = 0
    for _ in range(30):
        ids = np.char.add("id", rng.integers(0, 100_000, 25_000).astype(str))
        flagged += (
            compare(freeze_baseline({"id": ids[:20_000]}), {"id": ids[20_000:]})[0].severity
            != "none"
        )
    assert flagged <= 5


def test_a_clearly_shifted_feature_is_major_and_the_others_stay_clean() -> None:
    rng = np.random.default_rng(21)
    baseline = freeze_baseline(_mixed_features(rng, 3000))
    current = _mixed_features(rng, 100)
    current["normal0"] = current["normal0"] + 4.0  # 1.3 standard deviations
    current["lang1"] = np.where(rng.random(100) < 0.3, "ko", current["lang1"])
    results = compare(baseline, current)
    severities = _severities(results)
    assert severities.pop("normal0") == "major"
    assert severities.pop("lang1") == "major"
    assert set(severities.values()) == {"none"}
    assert [r.feature for r in results[:2]] == sorted(
        ["normal0", "lang1"], key=lambda f: -next(r.psi or 0 for r in results if r.feature == f)
    )
    lang1 = next(r for r in results if r.feature == "lang1")
    assert lang1.novel_categories == ("ko",)
    assert lang1.novel_share == pytest.approx(np.mean(current["lang1"] == "ko"))
    assert any(b["label"] == "ko" and b["novel"] for b in lang1.bins)


def test_moderate_drift() -> None:
    rng = np.random.default_rng(1)
    baseline = freeze_baseline({"x": rng.normal(size=5000)})
    (result,) = compare(baseline, {"x": rng.normal(0.35, 1, 2000)})
    assert 0.1 <= (result.psi or 0) <= 0.25
    assert result.severity == "moderate"


def test_p_values_are_holm_adjusted_across_the_features_compared() -> None:
    rng = np.random.default_rng(9)
    baseline = freeze_baseline(_mixed_features(rng, 3000))
    current = _mixed_features(rng, 200)
    current["normal1"] = current["normal1"] + 1.0
    results = compare(baseline, current)
    raw = [r.p_value for r in results]
    assert all(p is not None for p in raw)
    assert [r.p_adjusted for r in results] == pytest.approx(holm([p or 0.0 for p in raw]))


def test_a_big_psi_without_a_significant_test_is_not_drift() -> None:
    # 60 runs put ~9 to 10 noise into PSI's 10 bins; an unchanged feature must still be clean.
    rng = np.random.default_rng(12)
    baseline = freeze_baseline({"x": rng.normal(size=3000)})
    noisy = next(
        result
        for result in (compare(baseline, {"x": rng.normal(size=60)})[0] for _ in range(200))
        if (result.psi or 0) >= 0.1
    )
    assert noisy.p_adjusted is not None and noisy.p_adjusted > 0.05
    assert noisy.severity == "none"


def test_too_few_runs_is_not_enough_data_on_either_side() -> None:
    rng = np.random.default_rng(3)
    small_baseline = freeze_baseline({"x": rng.normal(size=49)})
    (result,) = compare(small_baseline, {"x": rng.normal(5, 1, 1000)})
    assert result.severity == "not_enough_data"
    assert result.p_value is None and result.p_adjusted is None
    assert result.psi is not None and result.psi > 1  # still measured, for the histogram
    baseline = freeze_baseline({"x": rng.normal(size=1000)})
    assert compare(baseline, {"x": rng.normal(5, 1, 49)})[0].severity == "not_enough_data"
    assert compare(baseline, {"x": rng.normal(5, 1, 50)})[0].severity == "major"
    assert compare(baseline, {"x": rng.normal(5, 1, 50)}, min_runs=51)[0].severity == (
        "not_enough_data"
    )


def test_features_on_one_side_only_are_compared_as_missing_on_the_other() -> None:
    rng = np.random.default_rng(4)
    baseline = freeze_baseline({"old": rng.normal(size=500), "kept": rng.normal(size=500)})
    current: dict[str, Any] = {"kept": rng.normal(size=100), "new": ["a", "b"] * 50}
    results = {r.feature: r for r in compare(baseline, current)}
    assert (results["old"].presence, results["old"].severity) == ("baseline_only", "major")
    assert results["old"].current_summary["missing_share"] == 1.0
    assert (results["new"].presence, results["new"].severity) == ("current_only", "major")
    assert results["new"].kind == "categorical"
    assert results["new"].novel_categories == ("a", "b")
    assert results["kept"].severity == "none"
    few = compare(baseline, {"kept": rng.normal(size=10), "new": ["a"] * 10})
    assert {r.feature: r.severity for r in few}["new"] == "not_enough_data"


def test_missing_values_are_a_share_of_their_own() -> None:
    rng = np.random.default_rng(6)
    baseline = freeze_baseline({"x": rng.normal(size=2000)})
    values: list[float | None] = list(rng.normal(size=200))
    values[:80] = [None] * 80  # 40 % missing where the baseline had none
    (result,) = compare(baseline, {"x": values})
    assert result.severity == "major"
    assert result.current_summary["missing_share"] == pytest.approx(0.4)
    assert result.bins[-1]["label"] == "(missing)"
    assert result.bins[-1]["current_count"] == 80
    assert sum(b["current_share"] for b in result.bins) == pytest.approx(1.0)
    assert result.ks is not None and result.ks < 0.2  # present values did not move


def test_histogram_bins_cover_every_run() -> None:
    rng = np.random.default_rng(7)
    labels = [f"c{i}" for i in range(30)]
    baseline = freeze_baseline({"many": [labels[i] for i in rng.integers(0, 30, 3000)]})
    (result,) = compare(baseline, {"many": [labels[i] for i in rng.integers(0, 30, 300)]})
    assert len(result.bins) == 21  # 20 categories listed, the rest as one
    assert result.bins[-1]["label"] == "(other)"
    assert sum(b["baseline_count"] for b in result.bins) == 3000
    assert sum(b["current_count"] for b in result.bins) == 300


# --- novelty -----------------------------------------------------------------------------------


def _novelty_baseline() -> dict[str, FeatureBaseline]:
    # 0…999 and one outlier at 10,000: min–max is [0, 10000], but the widened central range
    # (0.5th–99.5th percentile grown by half its width) is about [−245, 1245].
    return freeze_baseline(
        {"x": [*range(1000), 10_000], "lang": ["en", "fr"] * 500 + ["de"]},
        {"x": "numeric", "lang": "categorical"},
    )


def test_novelty_counts_the_widened_central_range_not_min_max() -> None:
    baseline = _novelty_baseline()
    low, high = np.percentile([*range(1000), 10_000], [0.5, 99.5])
    width = high - low
    assert baseline["x"].central_low == pytest.approx(low - width / 4)
    assert baseline["x"].central_high == pytest.approx(high + width / 4)
    assert novelty(baseline, {"x": 1100, "lang": "en"}) == 0  # beyond the bulk, inside the range
    assert novelty(baseline, {"x": -100}) == 0  # below min, still inside the widened range
    assert novelty(baseline, {"x": 5000}) == 1  # inside min–max, outside the widened range
    assert novelty(baseline, {"x": high + width / 4 + 1}) == 1
    assert novelty(baseline, {"x": 5000, "lang": "ko"}) == 2
    assert novelty(baseline, {"x": None, "lang": None, "unknown": 1e9}) == 0


def test_novelty_many_agrees_with_novelty_run_by_run() -> None:
    baseline = _novelty_baseline()
    rows: list[dict[str, Any]] = [
        {"x": 1100.0, "lang": "en"},
        {"x": 5000.0, "lang": "ko"},
        {"x": None, "lang": "de"},
        {"x": -100.0, "lang": None},
        {"x": -1000.0, "lang": "fr"},
        {"x": float("inf"), "lang": "ja"},
    ]
    columns = {name: [row[name] for row in rows] for name in ("x", "lang")}
    expected = [novelty(baseline, row) for row in rows]
    assert expected == [0, 2, 0, 0, 1, 1]
    assert novelty_many(baseline, columns).tolist() == expected
    as_arrays = {
        "x": np.array([np.nan if v is None else v for v in columns["x"]]),
        "lang": np.array([v or "" for v in columns["lang"]]),
    }
    assert novelty_many(baseline, as_arrays).tolist() == [0, 2, 0, 1, 1, 1]  # "" is a category


def test_most_novel_lists_the_runs_least_like_the_baseline() -> None:
    baseline = _novelty_baseline()
    columns: dict[str, Any] = {
        "x": [10.0, 5000.0, 20.0, 6000.0, -900.0],
        "lang": ["en", "ko", "ja", "fr", "en"],
        "pages": [1, 2, 3, 4, 5],
    }
    top = most_novel(baseline, columns, top=3)
    assert [(r.index, r.score, r.novel_features) for r in top] == [
        (1, 2, ("lang", "x")),
        (2, 1, ("lang",)),
        (3, 1, ("x",)),
    ]
    assert top[0].profile == {"x": 5000.0, "lang": "ko", "pages": 2}
    assert len(most_novel(baseline, columns, top=10)) == 4  # runs scoring 0 are not listed


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(st.none(), finite), min_size=1, max_size=40))
def test_novelty_many_matches_novelty_on_any_values(values: list[float | None]) -> None:
    baseline = freeze_baseline({"x": [float(i) for i in range(-50, 50)]})
    scores = novelty_many(baseline, {"x": values}).tolist()
    assert scores == [novelty(baseline, {"x": v}) for v in values]
