"""The frozen baseline of each feature (design.md §5: computed once, stored)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
from numpy.typing import ArrayLike, NDArray

from firstwatch.analytics._columns import (
    Column,
    category_counts,
    infer_kind,
    numeric_rows,
    present_sorted,
    run_count,
)
from firstwatch.analytics.stattests import Kind

BINS: Final = 10
SAMPLE_SIZE: Final = 10_000
"""Most values a baseline keeps for the KS test (evenly spaced order statistics beyond it)."""
CENTRAL: Final = (0.005, 0.995)
WIDEN: Final = 0.5
"""The central range grows by half its width: a quarter of it on each side."""

_KINDS: Final = ("numeric", "categorical")


@dataclass(frozen=True)
class FeatureBaseline:
    """The frozen reference for one feature, computed once by `freeze_baseline` and stored.

    Attributes:
        name: Feature name.
        kind: `numeric` or `categorical`.
        n: Runs in the baseline.
        missing: Runs of those without a value for this feature.
        edges: Numeric: the inner edges of the quantile bins, increasing (at most 9; equal
            quantiles merge). Bins are (−∞, e₁], (e₁, e₂], …, (eₖ, +∞).
        counts: Numeric: present values per bin; categorical: runs per category.
        categories: Categorical: the categories seen, sorted.
        central_low: Numeric: low end of the widened central range.
        central_high: Numeric: high end of the widened central range.
        sample: Numeric: the present values sorted, or, beyond `SAMPLE_SIZE` of them,
            `SAMPLE_SIZE` evenly spaced order statistics (the KS statistic computed from them is
            within 1/`SAMPLE_SIZE` of the full one; the p-value uses the full count).
        summary: Descriptive figures (n, missing share, mean, quantiles… or top categories).
    """

    name: str
    kind: Kind
    n: int
    missing: int
    edges: tuple[float, ...] | None
    counts: tuple[int, ...]
    categories: tuple[str, ...] | None
    central_low: float | None
    central_high: float | None
    sample: tuple[float, ...] | None
    summary: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)
    _known: frozenset[str] = field(init=False, repr=False, compare=False, hash=False)
    _ordered: NDArray[np.str_] = field(init=False, repr=False, compare=False, hash=False)
    _sample: NDArray[np.float64] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"kind must be numeric or categorical, not {self.kind!r}")
        categories = self.categories or ()
        object.__setattr__(self, "_known", frozenset(categories))
        object.__setattr__(self, "_ordered", np.asarray(categories, dtype=np.str_))
        object.__setattr__(self, "_sample", np.asarray(self.sample or (), dtype=np.float64))

    @property
    def present(self) -> int:
        """Runs with a value for this feature."""
        return self.n - self.missing

    @property
    def known_categories(self) -> frozenset[str]:
        """The baseline's categories as a set."""
        return self._known

    @property
    def sorted_categories(self) -> NDArray[np.str_]:
        """The baseline's categories as a sorted numpy array."""
        return self._ordered

    @property
    def sample_array(self) -> NDArray[np.float64]:
        """`sample` as a numpy array."""
        return self._sample

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form for storage; `from_dict` reads it back."""
        return {
            "name": self.name,
            "kind": self.kind,
            "n": self.n,
            "missing": self.missing,
            "edges": None if self.edges is None else list(self.edges),
            "counts": list(self.counts),
            "categories": None if self.categories is None else list(self.categories),
            "central_low": self.central_low,
            "central_high": self.central_high,
            "sample": None if self.sample is None else list(self.sample),
            "summary": dict(self.summary),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureBaseline:
        """Read back what `to_dict` wrote.

        Args:
            data: A mapping as written by `to_dict`.

        Returns:
            The baseline of one feature.
        """

        def floats(key: str) -> tuple[float, ...] | None:
            value = data.get(key)
            return None if value is None else tuple(float(v) for v in value)

        categories = data.get("categories")
        return cls(
            name=str(data["name"]),
            kind=data["kind"],
            n=int(data["n"]),
            missing=int(data["missing"]),
            edges=floats("edges"),
            counts=tuple(int(v) for v in data["counts"]),
            categories=None if categories is None else tuple(str(v) for v in categories),
            central_low=data.get("central_low"),
            central_high=data.get("central_high"),
            sample=floats("sample"),
            summary=dict(data.get("summary") or {}),
        )


def quantiles(ordered: NDArray[np.float64], qs: Sequence[float]) -> NDArray[np.float64]:
    """Linear-interpolation quantiles (numpy's default) of an already sorted array."""
    position = (ordered.size - 1) * np.asarray(qs, dtype=np.float64)
    low = np.floor(position).astype(np.intp)
    high = np.minimum(low + 1, ordered.size - 1)
    return ordered[low] + (position - low) * (ordered[high] - ordered[low])


def numeric_summary(ordered: NDArray[np.float64], n: int, outside: int) -> dict[str, Any]:
    summary: dict[str, Any] = {"n": n, "missing": n - ordered.size}
    summary["missing_share"] = (n - ordered.size) / n if n else None
    if ordered.size == 0:
        summary.update(dict.fromkeys(("mean", "std", "min", "p05", "p50", "p95", "max")))
        summary["outside_share"] = None
        return summary
    p05, p50, p95 = quantiles(ordered, (0.05, 0.5, 0.95)).tolist()
    summary.update(
        mean=float(ordered.mean()),
        std=float(ordered.std()),
        min=float(ordered[0]),
        p05=p05,
        p50=p50,
        p95=p95,
        max=float(ordered[-1]),
        outside_share=outside / n,
    )
    return summary


def categorical_summary(counts: Mapping[str, int], n: int, missing: int) -> dict[str, Any]:
    top = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:5]
    return {
        "n": n,
        "missing": missing,
        "missing_share": missing / n if n else None,
        "distinct": len(counts),
        "top": [[label, count / n] for label, count in top],
    }


def outside_count(ordered: NDArray[np.float64], low: float | None, high: float | None) -> int:
    if low is None or high is None:
        return int(ordered.size)
    below = int(np.searchsorted(ordered, low, side="left"))
    above = int(ordered.size - np.searchsorted(ordered, high, side="right"))
    return below + above


def bin_counts(ordered: NDArray[np.float64], edges: ArrayLike) -> NDArray[np.int64]:
    at_most = np.searchsorted(ordered, np.asarray(edges, dtype=np.float64), side="right")
    bounds = np.concatenate(([0], at_most, [ordered.size]))
    return np.diff(bounds).astype(np.int64)


def _freeze_numeric(name: str, values: Column) -> FeatureBaseline:
    rows = numeric_rows(values)
    ordered = present_sorted(rows)
    n = int(rows.size)
    if ordered.size == 0:
        return FeatureBaseline(
            name, "numeric", n, n, (), (0,), None, None, None, (), numeric_summary(ordered, n, 0)
        )
    inner = quantiles(ordered, [i / BINS for i in range(1, BINS)])
    edges = np.unique(inner)
    low, high = quantiles(ordered, CENTRAL).tolist()
    margin = (high - low) * WIDEN / 2
    central_low, central_high = low - margin, high + margin
    if ordered.size > SAMPLE_SIZE:
        picks = np.round(np.linspace(0, ordered.size - 1, SAMPLE_SIZE)).astype(np.intp)
        sample = ordered[picks]
    else:
        sample = ordered
    return FeatureBaseline(
        name=name,
        kind="numeric",
        n=n,
        missing=n - int(ordered.size),
        edges=tuple(edges.tolist()),
        counts=tuple(bin_counts(ordered, edges).tolist()),
        categories=None,
        central_low=central_low,
        central_high=central_high,
        sample=tuple(sample.tolist()),
        summary=numeric_summary(ordered, n, outside_count(ordered, central_low, central_high)),
    )


def _freeze_categorical(name: str, values: Column) -> FeatureBaseline:
    counts, missing = category_counts(values)
    n = len(values)
    categories = tuple(sorted(counts))
    return FeatureBaseline(
        name=name,
        kind="categorical",
        n=n,
        missing=missing,
        edges=None,
        counts=tuple(counts[c] for c in categories),
        categories=categories,
        central_low=None,
        central_high=None,
        sample=None,
        summary=categorical_summary(counts, n, missing),
    )


def freeze_baseline(
    features: Mapping[str, Column], kinds: Mapping[str, str] | None = None
) -> dict[str, FeatureBaseline]:
    """Freeze the baseline of each feature: bins, categories, central range and KS sample.

    Args:
        features: One column per feature, one value per baseline run; all of one length.
        kinds: `numeric` or `categorical` per feature. A feature left out is numeric when its
            present values are all numbers (booleans excluded), else categorical.

    Returns:
        The frozen baseline of each feature, by name.
    """
    run_count(features)
    kinds = kinds or {}
    frozen: dict[str, FeatureBaseline] = {}
    for name, values in features.items():
        kind = kinds.get(name) or infer_kind(values)
        if kind == "numeric":
            frozen[name] = _freeze_numeric(name, values)
        elif kind == "categorical":
            frozen[name] = _freeze_categorical(name, values)
        else:
            raise ValueError(f"kind of {name!r} must be numeric or categorical, not {kind!r}")
    return frozen


def absent_baseline(name: str, kind: Kind, runs: int) -> FeatureBaseline:
    """The baseline of a feature the baseline never had: missing from all its runs."""
    if kind == "numeric":
        return FeatureBaseline(
            name,
            kind,
            runs,
            runs,
            (),
            (0,),
            None,
            None,
            None,
            (),
            numeric_summary(np.empty(0), runs, 0),
        )
    return FeatureBaseline(
        name, kind, runs, runs, None, (), (), None, None, None, categorical_summary({}, runs, runs)
    )
