"""Named drift statistics with default thresholds (design.md §4.3 and §5 "Statistics").

A registry in the manner of Evidently's stattests: each entry has a name, the kinds of feature it
applies to, a function over one feature seen from both sides (`Sides`) and a default threshold.
The building blocks are public too: PSI, Jensen–Shannon distance, the two-sample
Kolmogorov–Smirnov test, Pearson's χ² test of homogeneity, the test of the share of novel
categories (with the binomial tail it is built on) and Holm's correction.

Everything here runs on numpy and the standard library; the unit tests hold each number against
scipy (`ks_2samp`, `jensenshannon`, `chi2_contingency`, `chi2.sf`, `binomtest`, `hypergeom`),
which stays a development dependency.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "KS_EXACT_LIMIT",
    "NOVEL_NEGLIGIBLE",
    "PSI_FLOOR",
    "STAT_TESTS",
    "ChiSquare",
    "Kind",
    "NovelShare",
    "Sides",
    "StatResult",
    "StatTest",
    "binomial_sf",
    "chi2_homogeneity",
    "chi2_sf",
    "holm",
    "js_distance",
    "kolmogorov_sf",
    "ks_pvalue",
    "ks_statistic",
    "novel_share_test",
    "psi",
    "register_stattest",
    "stattests_for",
]

Kind = Literal["numeric", "categorical"]

PSI_FLOOR: Final = 1e-4
"""Smallest share a bin can have in PSI, so that an empty bin does not make it infinite."""

KS_EXACT_LIMIT: Final = 10_000_000
"""Largest product of the two sample sizes for which the KS p-value is computed exactly."""

CHI2_MIN_EXPECTED: Final = 5.0
"""Cochran's rule: below this expected count in any cell, χ² is replaced by a permutation test."""

CHI2_RESAMPLES: Final = 9_999
_CHI2_BATCH: Final = 1_000
_CHI2_STOP_AFTER: Final = 20
CHI2_MAX_CATEGORIES: Final = 30


# --- distances ---------------------------------------------------------------------------------


def _shares(counts: ArrayLike) -> NDArray[np.float64]:
    array = np.asarray(counts, dtype=np.float64)
    total = float(array.sum())
    if total <= 0:
        raise ValueError("counts must have a positive sum")
    return array / total


def psi(expected: ArrayLike, actual: ArrayLike, *, floor: float = PSI_FLOOR) -> float:
    """Population stability index between two histograms over the same bins.

    PSI = Σ (a − e) · ln(a / e) over the bins' shares, each share first raised to `floor`.

    Args:
        expected: Counts (or shares) of the baseline per bin.
        actual: Counts (or shares) of the current window over the same bins.
        floor: Smallest share of a bin.

    Returns:
        The index, 0 for identical histograms.
    """
    e = np.maximum(_shares(expected), floor)
    a = np.maximum(_shares(actual), floor)
    if e.shape != a.shape:
        raise ValueError("expected and actual must have the same bins")
    return float(np.sum((a - e) * np.log(a / e)))


def js_distance(p: ArrayLike, q: ArrayLike) -> float:
    """Jensen–Shannon distance in base 2 (between 0 and 1) of two histograms over the same bins.

    Args:
        p: Counts (or shares) of one side.
        q: Counts (or shares) of the other side.

    Returns:
        The square root of the Jensen–Shannon divergence, as scipy's `jensenshannon(base=2)`.
    """
    ps, qs = _shares(p), _shares(q)
    if ps.shape != qs.shape:
        raise ValueError("p and q must have the same bins")
    m = (ps + qs) / 2
    divergence = (_kl2(ps, m) + _kl2(qs, m)) / 2
    return float(math.sqrt(max(divergence, 0.0)))


def _kl2(p: NDArray[np.float64], m: NDArray[np.float64]) -> float:
    mask = p > 0
    return float(np.sum(p[mask] * np.log2(p[mask] / m[mask])))


# --- Kolmogorov–Smirnov ------------------------------------------------------------------------


def ks_statistic(reference: NDArray[np.float64], current: NDArray[np.float64]) -> float:
    """Two-sample Kolmogorov–Smirnov statistic of two sorted samples.

    The empirical distribution functions are compared just before and at each distinct reference
    value, where the largest gap always lies, so the cost is a search of the reference's distinct
    values in the current sample. The reference can be a sketch: evenly spaced order statistics of
    a larger sample give its statistic within one over the sketch's size.

    Args:
        reference: Sorted values of the baseline (or a sorted sketch of them), without NaN.
        current: Sorted values of the current window, without NaN.

    Returns:
        The largest absolute gap between the two empirical distribution functions.
    """
    if reference.size == 0 or current.size == 0:
        raise ValueError("both samples must be non-empty")
    n, m = reference.size, current.size
    values, counts = np.unique(reference, return_counts=True)
    at = np.cumsum(counts)
    before = at - counts
    current_at = np.searchsorted(current, values, side="right")
    current_before = np.searchsorted(current, values, side="left")
    # Gaps in units of 1/(n·m), in integers, so equal samples give exactly 0.
    gap = max(
        int(np.abs(at * m - current_at * n).max()),
        int(np.abs(before * m - current_before * n).max()),
    )
    return gap / (n * m)


def kolmogorov_sf(x: float) -> float:
    """Survival function of the Kolmogorov distribution (scipy's `special.kolmogorov`).

    Args:
        x: The scaled statistic √n·D.

    Returns:
        P(K ≥ x) for the limiting distribution K of √n·D.
    """
    if x <= 0:
        return 1.0
    if x < 1.18:
        # Jacobi theta form of the CDF converges fast for small x.
        y = math.exp(-(math.pi**2) / (8 * x * x))
        series = math.fsum(y ** ((2 * k - 1) ** 2) for k in range(1, 8))
        cdf = math.sqrt(2 * math.pi) / x * series
        return min(1.0, max(0.0, 1.0 - cdf))
    total = math.fsum((-1) ** (k - 1) * math.exp(-2 * k * k * x * x) for k in range(1, 12))
    return min(1.0, max(0.0, 2 * total))


def ks_pvalue(d: float, n: int, m: int, *, exact_limit: int = KS_EXACT_LIMIT) -> float:
    """Two-sided p-value of the two-sample Kolmogorov–Smirnov statistic.

    Exact (counting lattice paths, as scipy's `ks_2samp(method="exact")`) when n·m is at most
    `exact_limit`; otherwise Stephens' approximation Q((√nₑ + 0.12 + 0.11/√nₑ)·D) with
    nₑ = n·m/(n+m), within a few per cent of the exact value at the sizes where it is used.
    Both assume continuous data; with ties they are conservative.

    Args:
        d: The statistic.
        n: Size of one sample.
        m: Size of the other.
        exact_limit: Largest n·m for the exact computation.

    Returns:
        P(D ≥ d) when both samples come from the same continuous distribution.
    """
    if n <= 0 or m <= 0:
        raise ValueError("sample sizes must be positive")
    if d <= 0:
        return 1.0
    if n * m <= exact_limit:
        return _ks_exact(d, n, m)
    en = n * m / (n + m)
    root = math.sqrt(en)
    return kolmogorov_sf((root + 0.12 + 0.11 / root) * d)


def _ks_exact(d: float, n: int, m: int) -> float:
    if n > m:
        n, m = m, n
    g = math.gcd(n, m)
    lcm = n // g * m
    h = round(d * lcm)
    if h <= 0:
        return 1.0
    # A lattice point (i, j) is outside when |i/n − j/m| ≥ d, i.e. |i·m − j·n| ≥ h·g.
    bound = h * g

    def band(i: int) -> tuple[int, int]:
        low = (i * m - bound) // n + 1
        high = -((-(i * m + bound)) // n) - 1
        return max(low, 0), min(high, m)

    row = np.zeros(m + 1)
    low, high = band(0)
    row[low : high + 1] = 1.0
    log_scale = 0.0
    for i in range(1, n + 1):
        new_low, new_high = band(i)
        if new_low > new_high:
            return 1.0
        segment = np.cumsum(row[new_low : new_high + 1])
        row[low : high + 1] = 0.0
        top = segment.max()
        if top <= 0:
            return 1.0
        row[new_low : new_high + 1] = segment / top
        log_scale += math.log(top)
        low, high = new_low, new_high
    if row[m] <= 0:
        return 1.0
    log_paths = math.lgamma(n + m + 1) - math.lgamma(n + 1) - math.lgamma(m + 1)
    inside = math.exp(math.log(row[m]) + log_scale - log_paths)
    return min(1.0, max(0.0, 1.0 - inside))


# --- χ² -----------------------------------------------------------------------------------------


def chi2_sf(x: float, dof: int) -> float:
    """Survival function of the χ² distribution (scipy's `stats.chi2.sf`).

    Args:
        x: The statistic.
        dof: Degrees of freedom, at least 1.

    Returns:
        P(X ≥ x) for X ~ χ²(dof).
    """
    if dof < 1:
        raise ValueError("dof must be at least 1")
    if x <= 0:
        return 1.0
    return _gammaincc(dof / 2, x / 2)


def _gammaincc(a: float, x: float) -> float:
    """Regularised upper incomplete gamma function Q(a, x) (series or continued fraction)."""
    log_front = -x + a * math.log(x) - math.lgamma(a)
    if x < a + 1:
        term = total = 1.0 / a
        denominator = a
        for _ in range(10_000):
            denominator += 1
            term *= x / denominator
            total += term
            if abs(term) < abs(total) * 1e-16:
                break
        return min(1.0, max(0.0, 1.0 - total * math.exp(log_front)))
    tiny = 1e-300
    b = x + 1 - a
    c = 1 / tiny
    dd = 1 / b
    h = dd
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2
        dd = an * dd + b
        dd = tiny if abs(dd) < tiny else dd
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        dd = 1 / dd
        delta = dd * c
        h *= delta
        if abs(delta - 1) < 1e-16:
            break
    return min(1.0, max(0.0, math.exp(log_front) * h))


@dataclass(frozen=True)
class ChiSquare:
    """Outcome of a χ² test of homogeneity.

    Attributes:
        statistic: Pearson's statistic (Yates-corrected at one degree of freedom when asymptotic).
        p_value: P-value of "both sides come from the same distribution".
        dof: Degrees of freedom of the table that was tested.
        method: `asymptotic` (χ² distribution), `permutation` (Monte Carlo with fixed margins)
            or `none` (fewer than two categories: nothing to test, p-value 1).
    """

    statistic: float
    p_value: float
    dof: int
    method: Literal["asymptotic", "permutation", "none"]


def chi2_homogeneity(
    baseline: ArrayLike,
    current: ArrayLike,
    *,
    resamples: int = CHI2_RESAMPLES,
    max_categories: int = CHI2_MAX_CATEGORIES,
) -> ChiSquare:
    """Pearson's χ² test that two count vectors over the same categories share a distribution.

    With every expected count at least 5 (Cochran's rule) the p-value is the χ² distribution's,
    as scipy's `chi2_contingency` (Yates-corrected at one degree of freedom). Otherwise the
    χ² approximation is unsafe (a category the baseline never had has an expected count near 0)
    and the p-value is a Monte Carlo permutation one: up to `resamples` tables drawn with the
    same margins (sequentially: drawing stops once 20 tables are at least as extreme), seeded
    from the margins, so the same counts always give the same answer. Beyond
    `max_categories` categories, the ones with the smallest totals are pooled into one (ties go
    by position: give the categories in an order that does not depend on how each total splits
    between the two sides, or the permutation test loses its validity).

    Args:
        baseline: Counts of the baseline per category.
        current: Counts of the current window per category, aligned with `baseline`.
        resamples: Tables drawn for the permutation p-value.
        max_categories: Most categories tested separately.

    Returns:
        The statistic, p-value, degrees of freedom and method.
    """
    b = np.asarray(baseline, dtype=np.int64)
    c = np.asarray(current, dtype=np.int64)
    if b.shape != c.shape or b.ndim != 1:
        raise ValueError("baseline and current must be 1-d and aligned")
    keep = (b + c) > 0
    b, c = b[keep], c[keep]
    if b.size > max_categories:
        order = np.argsort(-(b + c), kind="stable")
        head, tail = order[: max_categories - 1], order[max_categories - 1 :]
        b = np.append(b[head], b[tail].sum())
        c = np.append(c[head], c[tail].sum())
    total_b, total_c = int(b.sum()), int(c.sum())
    if b.size < 2 or total_b == 0 or total_c == 0:
        return ChiSquare(0.0, 1.0, 0, "none")
    totals = b + c
    grand = total_b + total_c
    expected_b = totals * (total_b / grand)
    expected_c = totals * (total_c / grand)
    dof = b.size - 1
    if min(expected_b.min(), expected_c.min()) >= CHI2_MIN_EXPECTED:
        observed = np.stack([b, c]).astype(np.float64)
        expected = np.stack([expected_b, expected_c])
        if dof == 1:
            gap = expected - observed
            observed = observed + np.sign(gap) * np.minimum(0.5, np.abs(gap))
        statistic = float(np.sum((observed - expected) ** 2 / expected))
        return ChiSquare(statistic, chi2_sf(statistic, dof), dof, "asymptotic")
    statistic = float(
        np.sum((b - expected_b) ** 2 / expected_b + (c - expected_c) ** 2 / expected_c)
    )
    # Besag and Clifford's sequential Monte Carlo p-value: stop at the h-th simulated table at
    # least as extreme as the observed one (p = h / tables drawn), else after `resamples`.
    rng = np.random.default_rng([*totals.tolist(), total_c])
    threshold = statistic * (1 - 1e-12)
    drawn = exceeded = 0
    while drawn < resamples:
        size = min(_CHI2_BATCH, resamples - drawn)
        sim_c = rng.multivariate_hypergeometric(totals, total_c, size=size, method="marginals")
        sim_b = totals - sim_c
        simulated = np.sum((sim_b - expected_b) ** 2 / expected_b, axis=1) + np.sum(
            (sim_c - expected_c) ** 2 / expected_c, axis=1
        )
        running = exceeded + np.cumsum(simulated >= threshold)
        if running[-1] >= _CHI2_STOP_AFTER:
            tables = drawn + int(np.argmax(running >= _CHI2_STOP_AFTER)) + 1
            return ChiSquare(statistic, _CHI2_STOP_AFTER / tables, dof, "permutation")
        exceeded, drawn = int(running[-1]), drawn + size
    return ChiSquare(statistic, (1 + exceeded) / (resamples + 1), dof, "permutation")


# --- the share of novel categories -------------------------------------------------------------


NOVEL_NEGLIGIBLE: Final = 1e-12
"""Pooled categories whose chance of all falling in the current window adds up to less than this
are left out of the null distribution; their sum is added to the p-value instead."""

_TRIM: Final = 80.0  # Probabilities more than e⁸⁰ below a distribution's largest are dropped.
_DIRECT_LIMIT: Final = 1_000_000  # Longer convolutions go through the FFT.
_FFT_NOISE: Final = 1e-13  # Relative rounding noise of an FFT convolution, and more.


def _log_binomial_pmf(k: int, trials: int, p: float) -> float:
    return (
        math.lgamma(trials + 1)
        - math.lgamma(k + 1)
        - math.lgamma(trials - k + 1)
        + k * math.log(p)
        + (trials - k) * math.log1p(-p)
    )


def _falling_tail(k: int, trials: int, p: float) -> float:
    """Σ P(X = y) for y ≥ k, where the terms only fall from the first (k > (trials + 1)·p − 1)."""
    log_first = _log_binomial_pmf(k, trials, p)
    log_odds = math.log(p) - math.log1p(-p)
    total, log_at, y, chunk = 0.0, 0.0, k, 256
    while y <= trials:
        ys = np.arange(y, min(trials, y + chunk - 1) + 1, dtype=np.float64)
        steps = np.log((trials - ys[:-1]) / (ys[:-1] + 1)) + log_odds
        logs = log_at + np.concatenate(([0.0], np.cumsum(steps)))
        total += float(np.exp(logs).sum())
        if logs[-1] < -_TRIM or ys[-1] >= trials:
            break
        log_at = float(logs[-1] + math.log((trials - ys[-1]) / (ys[-1] + 1)) + log_odds)
        y, chunk = int(ys[-1]) + 1, chunk * 2
    if total <= 0:
        return 0.0
    return math.exp(log_first + math.log(total))


def binomial_sf(k: int, trials: int, p: float) -> float:
    """Upper tail of the binomial distribution (scipy's one-sided `binomtest`).

    Summed in log space on the side of the mode where the terms fall, starting from the largest
    term, so that tiny tails keep their relative accuracy.

    Args:
        k: Successes observed.
        trials: Number of trials.
        p: Probability of success of one trial.

    Returns:
        P(X ≥ k) for X ~ Binomial(trials, p).
    """
    if trials < 0 or not 0.0 <= p <= 1.0:
        raise ValueError("trials must be non-negative and p a probability")
    if k <= 0:
        return 1.0
    if k > trials or p == 0.0:
        return 0.0
    if p == 1.0:
        return 1.0
    if k > (trials + 1) * p - 1:
        return min(1.0, _falling_tail(k, trials, p))
    # P(X ≥ k) = 1 − P(trials − X ≥ trials − k + 1), and that tail falls from its first term.
    return max(0.0, 1.0 - _falling_tail(trials - k + 1, trials, 1.0 - p))


def _binomial_pmf(trials: int, p: float) -> tuple[int, NDArray[np.float64]]:
    """The binomial probabilities that are not negligible: the first count and the run of them."""
    if trials == 0 or p <= 0.0:
        return 0, np.ones(1)
    if p >= 1.0:
        return trials, np.ones(1)
    mode = min(trials, math.floor((trials + 1) * p))
    width = int(15 * math.sqrt(trials * p * (1 - p))) + 40
    low, high = max(0, mode - width), min(trials, mode + width)
    ys = np.arange(low, high, dtype=np.float64)
    steps = np.log((trials - ys) / (ys + 1)) + (math.log(p) - math.log1p(-p))
    logs = np.concatenate(([0.0], np.cumsum(steps)))
    logs += _log_binomial_pmf(mode, trials, p) - logs[mode - low]
    kept = np.flatnonzero(logs >= logs.max() - _TRIM)
    return low + int(kept[0]), np.exp(logs[kept[0] : kept[-1] + 1])


def _log_all_in_current(t: int, current: int, pooled: int) -> float:
    """log P(all t runs of a category fall in the current window) = log C(m, t) / C(N, t)."""
    if t <= 64:
        j = np.arange(t, dtype=np.float64)
        return float(np.sum(np.log((current - j) / (pooled - j))))
    return (
        math.lgamma(current + 1)
        - math.lgamma(current - t + 1)
        - math.lgamma(pooled + 1)
        + math.lgamma(pooled - t + 1)
    )


def _convolve(a: NDArray[np.float64], v: NDArray[np.float64]) -> tuple[NDArray[np.float64], float]:
    """The convolution of two distributions, and a bound on the probability it dropped."""
    if a.size * v.size <= _DIRECT_LIMIT:
        return np.convolve(a, v), 0.0
    size = a.size + v.size - 1
    fft_size = 1 << (size - 1).bit_length()
    out = np.fft.irfft(np.fft.rfft(a, fft_size) * np.fft.rfft(v, fft_size), fft_size)[:size]
    # Below the FFT's rounding noise nothing is known: drop it and count it as dropped.
    floor = float(out.max()) * _FFT_NOISE
    out[out < floor] = 0.0
    return out, size * floor


@dataclass(frozen=True)
class NovelShare:
    """Outcome of the test of the share of current runs in categories the baseline never had.

    Attributes:
        novel: Current runs in a category the baseline never had.
        share: `novel` over all current runs.
        expected_share: The share expected when nothing changed.
        p_value: P-value of "nothing changed" against "more novel runs than chance gives".
    """

    novel: int
    share: float
    expected_share: float
    p_value: float


def novel_share_test(
    baseline: ArrayLike,
    current: ArrayLike,
    *,
    baseline_runs: int | None = None,
    current_runs: int | None = None,
) -> NovelShare:
    """Test whether more current runs than chance gives fall in categories the baseline never had.

    When nothing changed, the n baseline and m current runs are exchangeable: the current
    window is a random m of the N = n + m runs pooled. A category with t runs in the pool is
    then missing from the baseline (novel) exactly when all t fell in the current window, with
    probability πₜ = C(m, t) / C(N, t), and the count of novel runs is K = Σₜ t·Yₜ, where Yₜ
    counts the categories of t pooled runs that came out novel. Taking each Yₜ as
    Binomial(cₜ, πₜ) over the cₜ such categories (independently: the exact draws are negatively
    dependent, so this is slightly conservative), the p-value is P(K ≥ k), from the exact
    distribution of that sum (convolved directly, or through the FFT when long, which leaves
    p-values below about 1e-12 imprecise). Categories whose πₜ·cₜ is below `NOVEL_NEGLIGIBLE`
    are left out and their sum added to the p-value (a union bound), as is any probability the
    FFT's rounding hides.

    This is Good–Turing's reasoning made exact for two samples: when m is small beside n only
    pooled singletons matter and the expected share is about the pooled singletons over N,
    the missing mass Good–Turing estimates. Unlike a binomial test against the baseline's own
    Good–Turing estimate, it stays calibrated when the current window is as large as the
    baseline or larger, where that estimate's error dominates.

    Args:
        baseline: Runs of the baseline per category.
        current: Runs of the current window per category, aligned with `baseline`.
        baseline_runs: All baseline runs, with those without a category (default: the sum).
        current_runs: All current runs, with those without a category (default: the sum).

    Returns:
        The novel runs, their share, the share expected by chance and the p-value.
    """
    b = np.asarray(baseline, dtype=np.int64)
    c = np.asarray(current, dtype=np.int64)
    if b.shape != c.shape or b.ndim != 1:
        raise ValueError("baseline and current must be 1-d and aligned")
    n = int(b.sum()) if baseline_runs is None else baseline_runs
    m = int(c.sum()) if current_runs is None else current_runs
    if n < int(b.sum()) or m < int(c.sum()):
        raise ValueError("runs must be at least the runs counted in categories")
    novel = int(c[b == 0].sum())
    share = novel / m if m else 0.0
    if n == 0 or m == 0:
        return NovelShare(novel, share, share, 1.0)
    pooled = n + m
    totals, categories = np.unique((b + c)[(b + c) > 0], return_counts=True)
    distribution, offset = np.ones(1), 0
    expected = slack = 0.0
    for t, count in zip(totals.tolist(), categories.tolist(), strict=True):
        if t > m:
            break
        pi = math.exp(_log_all_in_current(t, m, pooled))
        expected += t * count * pi
        if novel == 0:
            continue
        if count * pi < NOVEL_NEGLIGIBLE:
            slack += count * pi
            continue
        first, pmf = _binomial_pmf(count, pi)
        spread = np.zeros((pmf.size - 1) * t + 1)
        spread[::t] = pmf
        distribution, dropped = _convolve(distribution, spread)
        slack += dropped
        offset += first * t
        kept = np.flatnonzero(distribution >= distribution.max() * math.exp(-_TRIM))
        distribution = distribution[kept[0] : kept[-1] + 1]
        offset += int(kept[0])
    if novel == 0:
        return NovelShare(novel, share, expected / m, 1.0)
    tail = float(distribution[max(0, novel - offset) :].sum())
    p_value = min(1.0, tail / float(distribution.sum()) + slack)
    return NovelShare(novel, share, expected / m, p_value)


# --- multiple comparisons ----------------------------------------------------------------------


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values, in the order given.

    Reject the hypotheses whose adjusted p-value is at most α to keep the family-wise error rate
    at α across all of them.

    Args:
        p_values: Raw p-values of one family of tests.

    Returns:
        Adjusted p-values: the k-th smallest is max over j ≤ k of min(1, (m − j + 1)·p₍ⱼ₎).
    """
    count = len(p_values)
    order = sorted(range(count), key=lambda i: p_values[i])
    adjusted = [0.0] * count
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (count - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


# --- the registry ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sides:
    """One feature seen from both sides of a comparison: what a statistic needs.

    Attributes:
        kind: `numeric` or `categorical`.
        baseline_counts: Baseline counts per bin (numeric) or category, the missing values last.
        current_counts: Current counts over the same bins or categories.
        baseline_sorted: Numeric only: the baseline's sorted values, or a sketch of them
            (evenly spaced order statistics) when there are many.
        baseline_present: Numeric only: how many values `baseline_sorted` stands for.
        current_sorted: Numeric only: the current window's sorted values.
    """

    kind: Kind
    baseline_counts: NDArray[np.int64]
    current_counts: NDArray[np.int64]
    baseline_sorted: NDArray[np.float64] | None = None
    baseline_present: int = 0
    current_sorted: NDArray[np.float64] | None = None


@dataclass(frozen=True)
class StatResult:
    """A statistic's value and, for a test, its p-value."""

    statistic: float
    p_value: float | None = None


@dataclass(frozen=True)
class StatTest:
    """A named drift statistic.

    Attributes:
        name: Registry key.
        kinds: Kinds of feature it applies to.
        func: Computes the statistic for one feature.
        default_threshold: Drift when the statistic reaches it (a distance) or when the p-value
            falls below it (a test).
        measures: `distance` or `p_value`: which side of the threshold means drift.
        description: One line for people.
    """

    name: str
    kinds: frozenset[Kind]
    func: Callable[[Sides], StatResult | None]
    default_threshold: float
    measures: Literal["distance", "p_value"]
    description: str

    def drifted(self, result: StatResult, threshold: float | None = None) -> bool:
        """Whether a result of this statistic means drift.

        Args:
            result: What `func` returned.
            threshold: Overrides the default threshold.

        Returns:
            True when the result crosses the threshold.
        """
        limit = self.default_threshold if threshold is None else threshold
        if self.measures == "p_value":
            return result.p_value is not None and result.p_value < limit
        return result.statistic >= limit


def _psi_of(sides: Sides) -> StatResult | None:
    if sides.baseline_counts.sum() == 0 or sides.current_counts.sum() == 0:
        return None
    return StatResult(psi(sides.baseline_counts, sides.current_counts))


def _js_of(sides: Sides) -> StatResult | None:
    if sides.baseline_counts.sum() == 0 or sides.current_counts.sum() == 0:
        return None
    return StatResult(js_distance(sides.baseline_counts, sides.current_counts))


def _ks_of(sides: Sides) -> StatResult | None:
    reference, current = sides.baseline_sorted, sides.current_sorted
    if reference is None or current is None or reference.size == 0 or current.size == 0:
        return None
    d = ks_statistic(reference, current)
    return StatResult(d, ks_pvalue(d, sides.baseline_present, current.size))


def _chi2_of(sides: Sides) -> StatResult | None:
    if sides.baseline_counts.sum() == 0 or sides.current_counts.sum() == 0:
        return None
    outcome = chi2_homogeneity(sides.baseline_counts, sides.current_counts)
    return StatResult(outcome.statistic, outcome.p_value)


def _novel_share_of(sides: Sides) -> StatResult | None:
    baseline_runs, current_runs = int(sides.baseline_counts.sum()), int(sides.current_counts.sum())
    if baseline_runs == 0 or current_runs == 0:
        return None
    outcome = novel_share_test(
        sides.baseline_counts[:-1],
        sides.current_counts[:-1],
        baseline_runs=baseline_runs,
        current_runs=current_runs,
    )
    return StatResult(outcome.share, outcome.p_value)


_REGISTRY: dict[str, StatTest] = {}
STAT_TESTS: Mapping[str, StatTest] = MappingProxyType(_REGISTRY)
"""The registered statistics by name (read-only view; add with `register_stattest`)."""


def register_stattest(test: StatTest) -> StatTest:
    """Add a statistic to the registry.

    Args:
        test: The statistic; its name must be new.

    Returns:
        The same statistic.
    """
    if test.name in _REGISTRY:
        raise ValueError(f"a statistic named {test.name!r} is already registered")
    _REGISTRY[test.name] = test
    return test


def stattests_for(kind: Kind) -> Iterable[StatTest]:
    """The registered statistics that apply to a kind of feature, in registration order.

    Args:
        kind: `numeric` or `categorical`.

    Returns:
        The matching statistics.
    """
    return [test for test in _REGISTRY.values() if kind in test.kinds]


_BOTH: Final[frozenset[Kind]] = frozenset(("numeric", "categorical"))

register_stattest(
    StatTest(
        "psi", _BOTH, _psi_of, 0.1, "distance", "Population stability index over baseline bins"
    )
)
register_stattest(
    StatTest(
        "ks",
        frozenset(("numeric",)),
        _ks_of,
        0.05,
        "p_value",
        "Two-sample Kolmogorov–Smirnov test",
    )
)
register_stattest(
    StatTest("jensenshannon", _BOTH, _js_of, 0.1, "distance", "Jensen–Shannon distance, base 2")
)
register_stattest(
    StatTest(
        "chisquare",
        frozenset(("categorical",)),
        _chi2_of,
        0.05,
        "p_value",
        "Pearson's χ² test of homogeneity",
    )
)
register_stattest(
    StatTest(
        "novel_share",
        frozenset(("categorical",)),
        _novel_share_of,
        0.05,
        "p_value",
        "Share of current runs in categories the baseline never had (exchangeability test)",
    )
)
