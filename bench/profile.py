"""Input profiler throughput: documents per second for each kind of input, on one core.

The documents are generated with the test generators (tests/unit/profiling/docs.py) into a
temporary directory. Each kind is profiled once cold (imports, the language model), then
repeatedly for ``--seconds``; the table shows the warm rate and the mean and p95 per document.

    python bench/profile.py [--seconds 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from firstwatch.profiling import profile_input
from unit.profiling import docs


def kinds(folder: Path) -> dict[str, Callable[[], object]]:
    """Build one input per kind; return the callables that profile each."""
    text_pdf = docs.text_pdf(
        folder / "text.pdf", ["\n".join([docs.SAMPLES["en"]] * 12) for _ in range(3)]
    )
    scanned = docs.scanned_pdf(folder / "scanned.pdf", pages=3)
    image = docs.png(folder / "image.pdf")
    plain = (docs.SAMPLES["de"] + "\n") * (10_240 // (len(docs.SAMPLES["de"]) + 1))
    request = {
        "question": docs.SAMPLES["en"],
        "customer": {"id": 1234, "name": "ACME", "tier": "gold"},
        "documents": [f"invoice-{n}.pdf" for n in range(5)],
        "options": {"top_k": 5, "temperature": 0.2, "strict": True},
    }
    return {
        "text PDF, 3 pages (path)": lambda: profile_input(text_pdf),
        "scanned PDF, 3 pages (path)": lambda: profile_input(scanned),
        "PNG named .pdf (path)": lambda: profile_input(image),
        "plain text, 10 KB (str)": lambda: profile_input(plain),
        "JSON request (dict)": lambda: profile_input(request),
    }


def measure(call: Callable[[], object], seconds: float) -> tuple[float, list[float]]:
    """Profile once cold, then for ``seconds``; return (cold ms, warm durations in s)."""
    started = time.perf_counter()
    call()
    cold_ms = (time.perf_counter() - started) * 1000
    durations: list[float] = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        call()
        durations.append(time.perf_counter() - started)
    return cold_ms, durations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="warm run per kind")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        calls = kinds(Path(directory))
        print(f"{'kind':<30} {'docs/s':>9} {'mean ms':>9} {'p95 ms':>9} {'cold ms':>9}")
        for name, call in calls.items():
            cold_ms, durations = measure(call, args.seconds)
            rate = len(durations) / sum(durations)
            p95 = statistics.quantiles(durations, n=20)[-1] if len(durations) > 1 else 0.0
            mean = statistics.fmean(durations)
            print(f"{name:<30} {rate:>9.0f} {mean * 1000:>9.2f} {p95 * 1000:>9.2f} {cold_ms:>9.1f}")


if __name__ == "__main__":
    main()
