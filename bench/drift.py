"""Benchmark of input drift: freeze a baseline, compare a window with it, score novelty.

1,000,000 baseline runs and 1,000,000 current runs × 20 features (10 numeric, 10 categorical),
as numpy columns (what the store hands over), some features shifted. The budget is 2 s for
freeze + compare + novelty on 2 cores.

    python bench/drift.py [--runs 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from firstwatch.analytics.drift import compare, freeze_baseline, most_novel, novelty_many

BUDGET_S = 2.0
LANGUAGES = np.array(["en", "fr", "de", "es", "it", "pt", "nl", "ja", "zh", "ko"])
MEDIA = np.array(["application/pdf", "image/png", "image/jpeg", "text/plain", "text/html"])


def columns(runs: int, seed: int, shifted: bool) -> tuple[dict[str, Any], dict[str, str]]:
    """Twenty feature columns of `runs` runs; `shifted` moves four of them."""
    rng = np.random.default_rng(seed)
    shift = 1.0 if shifted else 0.0
    cols: dict[str, Any] = {
        "size_bytes": rng.lognormal(10 + shift, 1.2, runs),
        "pages": rng.poisson(4, runs).astype(np.float64),
        "chars_per_page": rng.normal(1800, 400, runs),
        "repeated_share": rng.beta(1, 20, runs),
        "nonprintable_share": np.where(rng.random(runs) < 0.9, 0.0, rng.random(runs) / 100),
        "encoding_errors": rng.poisson(0.2, runs).astype(np.float64),
        "text_length": rng.gamma(2, 2000, runs),
        "json_keys": rng.integers(1, 30, runs).astype(np.float64),
        "latency_hint": rng.normal(0, 1, runs) + shift,
        "score": rng.uniform(0, 1, runs),
    }
    missing = rng.random(runs) < 0.01
    cols["chars_per_page"] = np.where(missing, np.nan, cols["chars_per_page"])
    language_p = np.array([40, 15, 10, 10, 5, 5, 5, 4, 3, 3], dtype=float)
    if shifted:
        language_p[7:] *= 4
    cols.update(
        language=LANGUAGES[rng.choice(10, runs, p=language_p / language_p.sum())],
        script=np.array(["Latn", "Cyrl", "Jpan", "Hans"])[
            rng.choice(4, runs, p=[0.9, 0.04, 0.03, 0.03])
        ],
        sniffed_type=MEDIA[rng.choice(5, runs, p=[0.6, 0.15, 0.15, 0.05, 0.05])],
        declared_type=MEDIA[rng.choice(5, runs, p=[0.62, 0.14, 0.14, 0.05, 0.05])],
        type_mismatch=rng.random(runs) < 0.02,
        scanned=rng.random(runs) < (0.3 if shifted else 0.1),
        has_tables=rng.random(runs) < 0.4,
        source=np.array(["upload", "email", "api"])[rng.integers(0, 3, runs)],
        tenant_tier=np.array(["free", "pro", "enterprise"])[
            rng.choice(3, runs, p=[0.7, 0.25, 0.05])
        ],
        json_root=np.array(["object", "array", "string"])[rng.choice(3, runs, p=[0.8, 0.15, 0.05])],
    )
    if shifted:
        novel = rng.random(runs) < 0.005
        cols["sniffed_type"] = np.where(novel, "application/zip", cols["sniffed_type"])
    kinds = {
        name: ("numeric" if value.dtype.kind == "f" else "categorical")
        for name, value in cols.items()
    }
    return cols, kinds


def timed(func: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    base_cols, kinds = columns(args.runs, seed=1, shifted=False)
    current_cols, _ = columns(args.runs, seed=2, shifted=True)

    freeze_s, baseline = timed(lambda: freeze_baseline(base_cols, kinds), args.repeat)
    compare_s, drift = timed(lambda: compare(baseline, current_cols), args.repeat)
    novelty_s, scores = timed(lambda: novelty_many(baseline, current_cols), args.repeat)
    top_s, top = timed(lambda: most_novel(baseline, current_cols, 10), args.repeat)
    total = freeze_s + compare_s + novelty_s

    print(f"python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} cores")
    print(f"{args.runs:,} baseline runs + {args.runs:,} current runs × {len(kinds)} features")
    print(f"freeze_baseline  {freeze_s * 1000:8.0f} ms")
    print(f"compare          {compare_s * 1000:8.0f} ms")
    print(f"novelty_many     {novelty_s * 1000:8.0f} ms")
    print(f"total            {total * 1000:8.0f} ms  (budget {BUDGET_S * 1000:.0f} ms)")
    print(f"most_novel(10)   {top_s * 1000:8.0f} ms  (novelty_many + profiles of the top runs)")
    flagged = [f"{d.feature}={d.severity}" for d in drift if d.severity in ("moderate", "major")]
    print(f"flagged: {', '.join(flagged)}")
    print(f"novel runs: {int(np.count_nonzero(scores))}, top score {top[0].score if top else 0}")
    print("within budget" if total <= BUDGET_S else "OVER BUDGET")


if __name__ == "__main__":
    main()
