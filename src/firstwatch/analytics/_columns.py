"""Columns of feature values, read the way drift and novelty need them.

A column is one sequence per feature with one value per run: a list, or a numpy array (the fast
path: what the store hands over). Numeric values that are None, NaN, ±inf or not numbers count as
missing; categorical values become labels (booleans `true` / `false`, None and NaN missing).
"""

from __future__ import annotations

import math
import numbers
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from firstwatch.analytics.stattests import Kind

Column = Sequence[Any] | NDArray[Any]

_SCAN_LIMIT: Final = 8
_PROBE: Final = 20_000


def label_of(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (float, np.floating)) and math.isnan(value):
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def as_float(value: object) -> float:
    if isinstance(value, numbers.Real):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return math.nan
    else:
        return math.nan
    return number if math.isfinite(number) else math.nan


def numeric_rows(values: Column) -> NDArray[np.float64]:
    """One float per run, NaN where the value is missing (None, NaN, ±inf, not a number)."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "fiub":
        rows = values.astype(np.float64, copy=False)
    else:
        try:
            rows = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError):
            rows = np.fromiter(map(as_float, values), dtype=np.float64, count=len(values))
    if rows.ndim != 1:
        raise ValueError("a column must be one-dimensional")
    finite = np.isfinite(rows)
    if not finite.all():
        rows = np.where(finite, rows, np.nan)
    return rows


def present_sorted(rows: NDArray[np.float64]) -> NDArray[np.float64]:
    present = rows[~np.isnan(rows)]
    present.sort()
    return present


def category_counts(
    values: Column, known: NDArray[np.str_] | None = None
) -> tuple[dict[str, int], int]:
    """Count per label, and the number of missing values.

    `known` (sorted distinct labels, the baseline's) only speeds up the count of string arrays.
    """
    if isinstance(values, np.ndarray):
        kind = values.dtype.kind
        if kind in "US":
            return _string_counts(values.astype(str, copy=False), known), 0
        if kind == "b":
            trues = int(np.count_nonzero(values))
            both = {"true": trues, "false": values.size - trues}
            return {label: count for label, count in both.items() if count}, 0
        if kind in "iuf":
            return _number_counts(values)
        values = values.tolist()
    raw: Counter[Any] = Counter(values)
    if any(_may_merge_a_bool(key) for key in raw):
        # True == 1 == 1.0 share one Counter key; count by type as well to keep them apart.
        typed: Counter[tuple[type, Any]] = Counter((type(v), v) for v in values)
        pairs = [(label_of(value), count) for (_, value), count in typed.items()]
    else:
        pairs = [(label_of(value), count) for value, count in raw.items()]
    return _fold(pairs)


def _fold(pairs: Iterable[tuple[str | None, int]]) -> tuple[dict[str, int], int]:
    """Counts per label summed (values with one label fold together), and the missing ones."""
    found: dict[str, int] = {}
    missing = 0
    for label, count in pairs:
        if label is None:
            missing += count
        else:
            found[label] = found.get(label, 0) + count
    return found, missing


def _may_merge_a_bool(key: object) -> bool:
    return isinstance(key, (bool, np.bool_, numbers.Number)) and key in (0, 1)


def match_strings(
    labels: NDArray[np.str_], candidates: NDArray[np.str_]
) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """How many labels equal each candidate (sorted, distinct), and which labels matched one."""
    if candidates.size <= _SCAN_LIMIT:
        counts = np.zeros(candidates.size, dtype=np.int64)
        matched = np.zeros(labels.size, dtype=np.bool_)
        for i, candidate in enumerate(candidates):
            hit = labels == candidate
            counts[i] = np.count_nonzero(hit)
            matched |= hit
        return counts, matched
    left = np.searchsorted(candidates, labels, side="left")
    matched = np.searchsorted(candidates, labels, side="right") > left
    return np.bincount(left[matched], minlength=candidates.size).astype(np.int64), matched


def _string_counts(labels: NDArray[np.str_], known: NDArray[np.str_] | None) -> dict[str, int]:
    # Sorting a million strings is slow; matching them against a few candidates is not. The
    # candidates are the baseline's categories, or those of an evenly strided probe.
    if known is None:
        known = np.unique(labels[:: max(1, labels.size // _PROBE)])
    counts, matched = match_strings(labels, known)
    found = {
        label: count for label, count in zip(known.tolist(), counts.tolist(), strict=True) if count
    }
    if not matched.all():
        rest, rest_counts = np.unique(labels[~matched], return_counts=True)
        found.update(zip(rest.tolist(), rest_counts.tolist(), strict=True))
    return found


def _number_counts(values: NDArray[Any]) -> tuple[dict[str, int], int]:
    numbers_, counts = np.unique(values, return_counts=True)
    return _fold(
        (label_of(number), count)
        for number, count in zip(numbers_.tolist(), counts.tolist(), strict=True)
    )


def infer_kind(values: Column) -> Kind:
    if isinstance(values, np.ndarray) and values.dtype.kind in "fiu":
        return "numeric"
    present = [v for v in values if v is not None]
    if present and all(
        isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_)) for v in present
    ):
        return "numeric"
    return "categorical"


def run_count(columns: Mapping[str, Column]) -> int:
    lengths = {len(column) for column in columns.values()}
    if len(lengths) > 1:
        raise ValueError(f"columns must have one value per run; lengths differ: {sorted(lengths)}")
    return lengths.pop() if lengths else 0
