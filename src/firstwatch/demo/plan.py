"""What the demo replays: every run's agent, environment, simulated start and input document.

Staging is six hours, two days and eight hours ago: each agent's clean English documents one
after another. Production is the last 48 hours: users upload a few documents at a time, mostly in
business hours, with the inputs real users send; twenty hours ago a customer's month-end batch
arrives all at once and pushes about two hundred runs into flight together. Each agent's last
run is planned at the very end.

The runner replays the plan in waves (runs close together in simulated time): fast through quiet
hours, at `peak_rate` through the peak, jumping over the gaps while nothing is in flight; the last
wave is live, at the real present, so the simulated history ends now.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final

from firstwatch.demo import documents as docs
from firstwatch.demo import texts
from firstwatch.demo.documents import Document, Spec
from firstwatch.demo.world import Limits

STAGING: Final = "staging"
PRODUCTION: Final = "production"
ENVIRONMENTS: Final = (STAGING, PRODUCTION)
SECOND: Final = 10**9
MINUTE: Final = 60 * SECOND
HOUR: Final = 60 * MINUTE
PRODUCTION_HOURS: Final = 48
STAGING_HOURS: Final = (56, 50)  # staging runs from 56 to 50 hours before the end
PEAK_HOURS_AGO: Final = 20
PEAK_ARRIVALS_PER_S: Final = 36.0
WAVE_GAP: Final = 30 * SECOND
LIVE_TAIL: Final = 2 * MINUTE  # each agent's last run is planned this close to the end: live
QUIET_RATE: Final = 40.0  # simulated seconds per real second, at speed 1
PEAK_RATE: Final = 1.0

DOC_TYPES: Final = {
    "contract-extractor": "contract",
    "invoice-agent": "invoice",
    "nda-screener": "nda",
}
# Production inputs that are not clean English text PDFs: (kind, share of the agent's runs).
MESSY_MIX: Final[dict[str, tuple[tuple[str, float], ...]]] = {
    "contract-extractor": (
        (docs.SCANNED, 0.06),
        (docs.IMAGE_AS_PDF, 0.03),
        (docs.FOREIGN, 0.10),
        (docs.PASTED, 0.04),
        (docs.TRUNCATED, 0.04),
    ),
    "invoice-agent": (
        (docs.SCANNED, 0.07),
        (docs.IMAGE_AS_PDF, 0.04),
        (docs.FOREIGN, 0.06),
        (docs.TRUNCATED, 0.03),
    ),
    "nda-screener": (),
}
FOREIGN_LANGUAGES: Final = {
    "contract-extractor": ("de", "fr", "es", "ru", "zh", "ja"),
    "invoice-agent": ("de", "fr", "es"),
    "nda-screener": (),
}
PEAK_SHARE: Final = {"contract-extractor": 0.45, "invoice-agent": 0.3, "nda-screener": 0.0}


@dataclass
class Job:
    """One run to replay, and what became of it."""

    index: int
    agent: str
    environment: str
    sim_start_ns: int
    peak: bool
    spec: Spec
    seed: int
    document: Document | None = None
    trace_id: str = ""
    span_id: str = ""
    started_ns: int = 0
    status: str = "pending"
    error_type: str | None = None


@dataclass(frozen=True)
class Wave:
    """Runs close together in simulated time, replayed at one rate.

    A live wave is replayed at the real present, in real time: the history ends now.
    """

    environment: str
    rate: float
    jobs: tuple[Job, ...]
    live: bool = False

    @property
    def start_ns(self) -> int:
        """Simulated start of the wave's first run."""
        return self.jobs[0].sim_start_ns


@dataclass
class Plan:
    """Every run of the demo, in simulated time."""

    jobs: list[Job]
    history_end_ns: int
    production_start_ns: int
    peak_start_ns: int
    peak_end_ns: int
    quiet_rate: float
    peak_rate: float
    limits: Limits
    languages: tuple[str, ...]
    notes: list[str] = field(default_factory=list)

    def jobs_in(self, environment: str) -> list[Job]:
        """The jobs of one environment, in simulated order."""
        return sorted(
            (j for j in self.jobs if j.environment == environment), key=lambda j: j.sim_start_ns
        )

    def waves(self, environment: str) -> list[Wave]:
        """The environment's jobs cut into waves where simulated time has a gap."""
        waves: list[list[Job]] = []
        for job in self.jobs_in(environment):
            if waves and job.sim_start_ns - waves[-1][-1].sim_start_ns <= WAVE_GAP:
                waves[-1].append(job)
            else:
                waves.append([job])
        return [
            Wave(environment, 1.0, tuple(jobs), live=True)
            if jobs[0].sim_start_ns >= self.history_end_ns - LIVE_TAIL
            else Wave(
                environment,
                self.peak_rate if any(j.peak for j in jobs) else self.quiet_rate,
                tuple(jobs),
            )
            for jobs in waves
        ]


def _kinds(
    agent: str, count: int, languages: tuple[str, ...], rng: random.Random
) -> list[tuple[str, str]]:
    """(kind, language) of `count` production inputs: exact shares, each messy kind once or more."""
    chosen: list[tuple[str, str]] = []
    foreign = [x for x in FOREIGN_LANGUAGES[agent] if x in languages]
    for kind, share in MESSY_MIX[agent]:
        if kind == docs.FOREIGN and not foreign:
            continue
        n = max(1, round(share * count))
        for i in range(n):
            chosen.append((kind, foreign[i % len(foreign)] if kind == docs.FOREIGN else "en"))
    chosen = chosen[:count]
    chosen += [(docs.CLEAN, "en")] * (count - len(chosen))
    rng.shuffle(chosen)
    return chosen


def _fields(
    doc_type: str, index: int, language: str, account: str, day: dt.date, rng: random.Random
) -> dict[str, str]:
    a, b = rng.sample(range(3 * len(texts.COMPANIES)), 2)
    date = day + dt.timedelta(days=rng.randint(-40, 40))
    date = date.replace(day=min(date.day, 28))
    high = 250_000 if doc_type == "contract" else 40_000
    amount = Decimal(round(math.exp(rng.uniform(math.log(500), math.log(high))) / 50) * 50)
    prefix = {"contract": "C", "invoice": "INV", "nda": "NDA"}[doc_type]
    return {
        "reference": f"{prefix}-{date.year}-{index:05d}",
        "account": account,
        "party_a": texts.company(a, language),
        "party_b": texts.company(b, language),
        "date": date.isoformat(),
        "amount": f"{amount:.2f}",
        "currency": texts.CURRENCIES[language],
        "law": rng.choice(texts.LAWS),
        "term": str(rng.choice((12, 24, 24, 36, 60))),
    }


def _filename(kind: str, language: str, fields: dict[str, str], index: int) -> str:
    reference = fields["reference"]
    return {
        docs.CLEAN: f"{reference}.pdf",
        docs.FOREIGN: f"{reference}_{language}.pdf",
        docs.SCANNED: f"scan_{index:05d}.pdf",
        docs.IMAGE_AS_PDF: f"IMG_{index:05d}.pdf",
        docs.PASTED: f"pasted_{reference}.txt",
        docs.TRUNCATED: f"{reference}.pdf",
    }[kind]


def _busy(ns: int) -> float:
    """Relative load by time of day (UTC): quiet nights, a busy afternoon."""
    hour = (ns // HOUR) % 24 + (ns % HOUR) / HOUR
    return 0.12 + math.exp(-(((hour - 14.0) / 3.5) ** 2))


def _quiet_time(rng: random.Random, start: int, end: int, avoid: tuple[int, int]) -> int:
    for _ in range(10_000):
        t = rng.randrange(start, end)
        if not avoid[0] <= t <= avoid[1] and rng.random() * 1.12 < _busy(t):
            return t
    return start


def make_plan(
    *,
    runs: int,
    staging_runs: int,
    speed: float,
    history_end_ns: int,
    seed: int = 7,
    agents: tuple[str, ...] = tuple(DOC_TYPES),
) -> Plan:
    """Plan every run of the demo.

    Args:
        runs: Production runs per agent.
        staging_runs: Staging runs per agent.
        speed: Multiplies both replay rates (quiet hours and the peak).
        history_end_ns: When the simulated history ends (the real present).
        seed: Seed of every random choice: the same seed plans the same demo.
        agents: The agents' names.

    Returns:
        The plan.
    """
    rng = random.Random(seed)
    languages = docs.languages_available()
    notes = [] if "ru" in languages else ["no font with Cyrillic letters: no Russian documents"]
    production_start = history_end_ns - PRODUCTION_HOURS * HOUR
    staging_start = history_end_ns - STAGING_HOURS[0] * HOUR
    staging_span = (STAGING_HOURS[0] - STAGING_HOURS[1]) * HOUR
    peak_start = (history_end_ns - PEAK_HOURS_AGO * HOUR) // MINUTE * MINUTE
    peak_runs = {a: round(PEAK_SHARE.get(a, 0.0) * runs) for a in agents}
    total_peak = sum(peak_runs.values())
    arrivals = max(4 * SECOND, round(total_peak / PEAK_ARRIVALS_PER_S * SECOND))
    peak_end = peak_start + arrivals
    avoid = (peak_start - 10 * MINUTE, peak_end + 20 * MINUTE)
    peak_accounts = max(3, total_peak // 20)
    jobs: list[Job] = []

    def add(
        agent: str, environment: str, start: int, kind: str, language: str, account: str, peak: bool
    ) -> None:
        index = len(jobs)
        day = dt.datetime.fromtimestamp(start / 1e9, tz=dt.timezone.utc).date()
        doc_type = DOC_TYPES[agent]
        fields = _fields(doc_type, index, language, account, day, rng)
        spec = Spec(doc_type, kind, language, fields, _filename(kind, language, fields, index))
        jobs.append(Job(index, agent, environment, start, peak, spec, seed * 100_003 + index))

    spacing = staging_span // max(1, staging_runs)
    for n in range(staging_runs):
        round_start = staging_start + round((n + rng.uniform(0.0, 0.6)) * spacing)
        for position, agent in enumerate(agents):
            offset = 0 if position == 0 else round(rng.uniform(0.5, 3.0) * SECOND)
            account = f"SBX-{agent[0].upper()}{rng.randint(1, 30):02d}"
            add(agent, STAGING, round_start + offset, docs.CLEAN, "en", account, False)

    for agent in agents:
        kinds = _kinds(agent, runs, languages, rng)
        in_peak = peak_runs[agent]
        for kind, language in kinds[:in_peak]:
            start = peak_start + rng.randrange(arrivals)
            account = f"ACCT-{900 + rng.randrange(peak_accounts)}"
            add(agent, PRODUCTION, start, kind, language, account, True)
        quiet = kinds[in_peak:]
        if quiet:
            kind, language = quiet.pop()
            start = history_end_ns - LIVE_TAIL + round(rng.uniform(0.0, 3.0) * SECOND)
            add(agent, PRODUCTION, start, kind, language, f"ACCT-{rng.randint(1, 60):03d}", False)
        while quiet:
            size = min(len(quiet), rng.choice((1, 2, 3, 3, 4, 4, 5, 6)))
            start = _quiet_time(
                rng, production_start + 5 * MINUTE, history_end_ns - 5 * MINUTE, avoid
            )
            for kind, language in quiet[:size]:
                account = f"ACCT-{rng.randint(1, 60):03d}"
                add(agent, PRODUCTION, start, kind, language, account, False)
                start += round(rng.uniform(0.3, 2.5) * SECOND)
            quiet = quiet[size:]

    return Plan(
        jobs=jobs,
        history_end_ns=history_end_ns,
        production_start_ns=production_start,
        peak_start_ns=peak_start,
        peak_end_ns=peak_end,
        quiet_rate=QUIET_RATE * speed,
        peak_rate=PEAK_RATE * speed,
        limits=Limits.for_peak(total_peak),
        languages=languages,
        notes=notes,
    )
