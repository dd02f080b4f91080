"""How the fake services behave, and what they saw happen to each trace.

The language model answers from the truth about each document (looked up by its SHA-256), and
makes the mistakes a real one makes on messy inputs; it rate-limits a shared key when too many
calls are in flight, and after its model update it writes some dates in another format. The
company registry slows down while a peak lasts (by the simulated clock) and under load (by its
real calls in flight), and then sometimes takes longer than its callers wait. The CRM applies
writes blindly, last writer wins, and keeps versions so that every lost update is known.

Latencies are in simulated seconds; the HTTP layer turns them into real sleeps with the timeline.
All methods run on the fake API's event loop thread; `facts` may be read from any thread.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import math
import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

from firstwatch.demo import documents as docs
from firstwatch.demo.documents import Document
from firstwatch.demo.timewarp import Timeline

DOCS_KEY: Final = "sk-demo-docs-team"
LEGAL_KEY: Final = "sk-demo-legal-team"
LARGE_MODEL: Final = "docs-large-2025-06"
SMALL_MODEL: Final = "docs-small-2025-03"
DRIFT_EVERY: Final = 12  # after the model update, one extraction in 12 writes dates as MM/DD/YYYY
REGISTRY_TIMEOUT_S: Final = 3.0  # how long the agents wait for the registry (simulated s)
SLOW_S: Final = 1.0
TIMEOUT_EVERY: Final = 8  # under load, one registry call in 8 outlasts its caller's patience
_MISTAKE_RATE: Final = {
    docs.SCANNED: 0.9,
    docs.IMAGE_AS_PDF: 0.95,
    docs.FOREIGN: 0.85,
    docs.PASTED: 0.8,
    docs.TRUNCATED: 0.9,
}
_LLM_MEDIAN_S: Final = {"classify": 0.7, "extract": 1.6, "screen": 1.1}


@dataclass(frozen=True)
class Limits:
    """The capacity of the fake services, sized to the planned peak."""

    llm_in_flight: int
    registry_knee: int
    registry_saturation: int

    @classmethod
    def for_peak(cls, peak_runs: int) -> Limits:
        """Limits that a peak of `peak_runs` concurrent runs exceeds, and quiet hours do not."""
        return cls(
            llm_in_flight=max(3, round(0.15 * peak_runs)),
            registry_knee=max(2, round(0.05 * peak_runs)),
            registry_saturation=max(6, round(0.25 * peak_runs)),
        )


@dataclass
class TraceFacts:
    """What the services saw of one trace (one run)."""

    rate_limited: int = 0
    retry_after_ms: float = 0.0
    slow_calls: int = 0
    registry_ms: list[float] = field(default_factory=list)
    wrong_output: bool = False
    mistake: str | None = None
    date_format_drift: bool = False
    stale_writes: int = 0
    lost_updates: int = 0
    crm_keys: set[str] = field(default_factory=set)


def unit(*parts: str) -> float:
    """A number in [0, 1) fixed by its parts: repeatable choices without shared state."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _lognormal(rng: random.Random, median: float, sigma: float) -> float:
    return median * math.exp(rng.gauss(0.0, sigma))


def _scaled(amount: str, factor: Decimal) -> str:
    return str((Decimal(amount) * factor).quantize(Decimal("0.01")))


def mistaken_fields(document: Document, fields: dict[str, str]) -> tuple[dict[str, str], str]:
    """Plausible wrong fields for a messy document, and the name of the mistake made.

    Every mistake keeps the fields well formed (positive amounts, real dates, two parties), so
    the agents' structural checks pass: the failure is silent.
    """
    wrong = dict(fields)
    day = dt.date.fromisoformat(fields["date"])
    if document.kind in (docs.SCANNED, docs.IMAGE_AS_PDF):
        if "amount" in wrong:
            wrong["amount"] = _scaled(fields["amount"], Decimal("0.1"))
            return wrong, "ocr_dropped_digit"
        wrong["date"] = day.replace(year=day.year - 1).isoformat()
        return wrong, "ocr_wrong_year"
    if document.kind == docs.FOREIGN:
        if document.language in ("zh", "ja"):
            wrong["party_a"], wrong["party_b"] = fields["party_b"], fields["party_a"]
            return wrong, "parties_swapped"
        if day.day <= 12 and day.day != day.month:
            wrong["date"] = day.replace(month=day.day, day=day.month).isoformat()
            return wrong, "day_month_swapped"
        if "amount" in wrong:
            wrong["amount"] = _scaled(fields["amount"], Decimal("0.001"))
            return wrong, "decimal_comma_misread"
        wrong["date"] = day.replace(year=day.year - 1).isoformat()
        return wrong, "wrong_year"
    if document.kind == docs.PASTED and "amount" in wrong:
        wrong["amount"] = _scaled(fields["amount"], Decimal(5))
        return wrong, "amount_summed_over_copies"
    if "amount" in wrong:
        digits = len(str(int(Decimal(fields["amount"]))))
        wrong["amount"] = f"{10 ** (digits - 1) * 5}.00"
        return wrong, "amount_guessed"
    wrong["date"] = day.replace(day=1).isoformat()
    return wrong, "date_guessed"


class World:
    """The state and behaviour of the fake services.

    Args:
        timeline: The demo's simulated time.
        limits: Capacity of the services.
        drift_from_ns: Simulated time of the large model's update (dates change format after).
        busy_window: Simulated start and end of the peak, when the registry is overloaded.
        seed: Seed of the latencies.
    """

    def __init__(
        self,
        timeline: Timeline,
        limits: Limits,
        *,
        drift_from_ns: int,
        busy_window: tuple[int, int],
        seed: int = 0,
    ) -> None:
        self.timeline = timeline
        self.limits = limits
        self.drift_from_ns = drift_from_ns
        self.busy_window = busy_window
        self.documents: dict[str, Document] = {}
        self._rng = random.Random(seed)
        self._in_flight: dict[str, int] = {}
        self._registry_in_flight = 0
        self._slow_calls = 0
        self._extractions_after_update = 0
        self._accounts: dict[str, dict[str, Any]] = {}
        self._writers: dict[tuple[str, int], str] = {}
        self._facts: dict[str, TraceFacts] = {}
        self._lock = threading.Lock()

    def add_documents(self, documents: Mapping[str, Document]) -> None:
        """Make documents known to the model, by the SHA-256 of their bytes."""
        with self._lock:
            self.documents.update(documents)

    def facts(self, trace_id: str) -> TraceFacts:
        """What the services saw of one trace (empty if they never saw it)."""
        with self._lock:
            return copy.deepcopy(self._facts.get(trace_id, TraceFacts()))

    def _of(self, trace_id: str) -> TraceFacts:
        with self._lock:
            return self._facts.setdefault(trace_id, TraceFacts())

    # -- the language model ----------------------------------------------------------------------

    def admit(self, key: str) -> bool:
        """Take a slot for a model call on `key`; False means answer 429."""
        limit = self.limits.llm_in_flight if key == DOCS_KEY else 1_000_000
        taken = self._in_flight.get(key, 0)
        if taken >= limit:
            return False
        self._in_flight[key] = taken + 1
        return True

    def release(self, key: str) -> None:
        """Give a model call's slot back."""
        self._in_flight[key] = max(0, self._in_flight.get(key, 0) - 1)

    def rate_limited(self, trace_id: str) -> float:
        """Record a 429 and return the Retry-After to send, in simulated seconds."""
        wait = round(self._rng.uniform(1.5, 4.5), 1)
        facts = self._of(trace_id)
        facts.rate_limited += 1
        facts.retry_after_ms += wait * 1000
        return wait

    def model_latency(self, task: str) -> float:
        """Simulated seconds one model call takes."""
        return _lognormal(self._rng, _LLM_MEDIAN_S.get(task, 1.0), 0.3)

    def classify(self, document: Document) -> dict[str, Any]:
        """The model's reading of what a document is."""
        readable = document.kind in (docs.CLEAN, docs.FOREIGN, docs.PASTED)
        return {
            "document_type": document.doc_type,
            "language": document.language if readable else "en",
            "confidence": round(0.9 + 0.09 * unit(document.digest, "confidence"), 3),
        }

    def extract(self, document: Document, model: str, trace_id: str) -> dict[str, str]:
        """The fields the model extracts: right for clean inputs, plausibly wrong for messy ones."""
        fields = dict(document.fields)
        facts = self._of(trace_id)
        if unit(document.digest, "mistake") < _MISTAKE_RATE.get(document.kind, 0.0):
            fields, facts.mistake = mistaken_fields(document, fields)
            facts.wrong_output = True
        if model == LARGE_MODEL and self.timeline.now() >= self.drift_from_ns:
            self._extractions_after_update += 1
            if self._extractions_after_update % DRIFT_EVERY == 0:
                fields["date"] = dt.date.fromisoformat(fields["date"]).strftime("%m/%d/%Y")
                facts.date_format_drift = True
        return fields

    # -- the company registry --------------------------------------------------------------------

    def registry_enter(self) -> None:
        """A registry call starts."""
        self._registry_in_flight += 1

    def registry_leave(self) -> None:
        """A registry call ends."""
        self._registry_in_flight = max(0, self._registry_in_flight - 1)

    def registry_latency(self, trace_id: str) -> float:
        """Simulated seconds a registry call takes: ~200 ms, ~2 s at a peak, sometimes more."""
        now = self.timeline.now()
        hour = dt.datetime.fromtimestamp(now / 1e9, tz=dt.timezone.utc).hour
        business_hours = 1.1 if 8 <= hour < 18 else 1.0
        limits = self.limits
        load = (self._registry_in_flight - limits.registry_knee) / max(
            1, limits.registry_saturation - limits.registry_knee
        )
        if self.busy_window[0] <= now <= self.busy_window[1]:
            load = 1.0
        load = min(1.0, max(0.0, load))
        median = 0.2 * business_hours * (1 + 9 * load)
        latency = min(_lognormal(self._rng, median, 0.25), 0.8 * REGISTRY_TIMEOUT_S)
        facts = self._of(trace_id)
        if load > 0.5:
            self._slow_calls += 1
            if self._slow_calls % TIMEOUT_EVERY == 0:
                latency = 1.5 * REGISTRY_TIMEOUT_S
        if latency > SLOW_S:
            facts.slow_calls += 1
        facts.registry_ms.append(round(latency * 1000, 1))
        return latency

    # -- the CRM ---------------------------------------------------------------------------------

    def crm_latency(self) -> float:
        """Simulated seconds one CRM call takes: slower while the peak lasts."""
        busy = self.busy_window[0] <= self.timeline.now() <= self.busy_window[1]
        return _lognormal(self._rng, 0.15 if busy else 0.06, 0.3)

    def crm_get(self, account: str, trace_id: str) -> dict[str, Any]:
        """An account record as it is now."""
        self._of(trace_id).crm_keys.add(account)
        record = self._accounts.setdefault(
            account,
            {"id": account, "version": 0, "contracts": [], "invoices": [], "value": "0.00"},
        )
        return copy.deepcopy(record)

    def crm_put(self, account: str, body: Mapping[str, Any], trace_id: str) -> dict[str, Any]:
        """Store a whole record, blindly; a write based on an old version loses updates."""
        facts = self._of(trace_id)
        facts.crm_keys.add(account)
        current = self._accounts.get(account, {"version": 0})
        read_version = int(body.get("version", 0))
        version = int(current["version"])
        if read_version < version:
            facts.stale_writes += 1
            for lost in range(read_version + 1, version + 1):
                writer = self._writers.get((account, lost))
                if writer is not None and writer != trace_id:
                    self._of(writer).lost_updates += 1
        record = {**body, "id": account, "version": version + 1}
        self._accounts[account] = record
        self._writers[(account, version + 1)] = trace_id
        return copy.deepcopy(record)
