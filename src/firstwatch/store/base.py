"""The store interface: domain operations, never a generic `execute(sql)`.

Every backend implements this Protocol; the same suite in tests/store runs against each.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

Row = dict[str, Any]


class ArrowStreamSource(Protocol):
    """Rows as Arrow, through the Arrow PyCapsule interface (a pyarrow table, a nanoarrow
    array, the writer's `LoggedRecords`): each call gives a new stream of the same rows."""

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any: ...


@dataclass(frozen=True)
class RunFilter:
    """Which runs to list."""

    project: str
    agent: str | None = None
    version: str | None = None
    environment: str | None = None
    status: str | None = None
    since_ns: int | None = None
    until_ns: int | None = None


@dataclass(frozen=True)
class SpanFilter:
    """Which runs or steps a latency, dependency, concurrency or usage aggregate reads.

    `step` (a step's name), `kind` and `dependency` apply to steps only. The window is on
    `start_ns`, since inclusive, until exclusive.
    """

    project: str
    agent: str | None = None
    version: str | None = None
    environment: str | None = None
    status: str | None = None
    step: str | None = None
    kind: str | None = None
    dependency: str | None = None
    since_ns: int | None = None
    until_ns: int | None = None


@dataclass(frozen=True)
class ApiKey:
    """A stored key: only its hash is kept."""

    key_id: str
    project: str
    scope: str
    prefix: str
    created_ns: int


@dataclass(frozen=True)
class InputFeatures:
    """The input features (`firstwatch.input.<feature>`) of some runs, newest run first.

    `features` holds one column per feature name (the attribute without its prefix), one entry
    per run: float64 with NaN where a run lacks the feature when every value is a number, else
    objects (the value as text, None where missing).
    """

    trace_ids: list[str]
    span_ids: list[str]
    start_ns: list[int]
    versions: list[str | None]
    features: dict[str, NDArray[np.float64] | NDArray[np.object_]]

    @property
    def runs(self) -> int:
        """How many runs."""
        return len(self.trace_ids)


@dataclass(frozen=True)
class StoredBaseline:
    """A named baseline, frozen when created: the cohort it came from and its features."""

    project: str
    name: str
    agent: str
    cohort: str
    runs: int
    created_ns: int
    features: Mapping[str, Any]
    since_ns: int | None = None
    until_ns: int | None = None


class Store(Protocol):
    """What the server needs of a database."""

    def apply(self, spans: ArrowStreamSource, lsn: int) -> int:
        """Store spans (idempotent on project, trace_id, span_id; the first copy in `spans` wins),
        rebuild the runs and steps of the traces they touch (design.md §5 "Runs and names"), and
        record `lsn` as applied, in one transaction.

        `spans` has the columns of `schema.SPAN_COLUMNS` (a type the database casts from will
        do) and may be read more than once, each time giving the same rows in the same order.

        Returns the number of spans newly stored.
        """
        ...

    def applied_lsn(self) -> int:
        """The last log position whose spans are in the store (0 when none)."""
        ...

    def settle(self, *, hand_back_cache: bool = True) -> None:
        """Upkeep between writes, called by the writer when it holds no batch: make the
        database's own log part of its files when it has grown, and, with `hand_back_cache`,
        hand back memory the database holds only as a cache."""
        ...

    def recover(self) -> bool:
        """After a failed write or upkeep: make the database usable again if the failure left it
        unusable (open it again); True when it did."""
        ...

    def list_runs(
        self, where: RunFilter, limit: int, after: tuple[int, str, str] | None
    ) -> list[Row]:
        """Runs, newest first.

        `after` is the (start_ns, trace_id, span_id) of the previous page's last run.
        """
        ...

    def trace(self, project: str, trace_id: str) -> tuple[list[Row], list[Row]]:
        """The runs and the steps (with attributes and events) of one trace."""
        ...

    def run_spans(self, project: str, trace_id: str) -> list[Row]:
        """The stored rows (attributes, resource, events) of the run spans of one trace."""
        ...

    def agents(self, project: str, since_ns: int | None, until_ns: int | None) -> list[Row]:
        """Per agent, version and environment: run counts, errors, first and last seen."""
        ...

    def input_features(self, where: RunFilter, limit: int) -> InputFeatures:
        """The input features of the complete runs `where` selects, at most `limit`, newest
        first."""
        ...

    def create_baseline(self, baseline: StoredBaseline) -> bool:
        """Store a new named baseline; False (and nothing changed) when the name is taken."""
        ...

    def list_baselines(self, project: str, agent: str | None = None) -> list[StoredBaseline]:
        """The project's baselines (of one agent when given), without their features."""
        ...

    def get_baseline(self, project: str, name: str) -> StoredBaseline | None:
        """One baseline with its frozen features, if it exists."""
        ...

    def latency(
        self,
        scope: SpanFilter,
        *,
        of: str = "runs",
        by: Sequence[str] = (),
        bucket_ns: int | None = None,
    ) -> list[Row]:
        """Exact p50/p90/p95/p99 (`p50_ms`…), count `n`, `max_ms`, `mean_ms`, `total_ms`,
        `errors`, `retried` and `retry_wait_ms` of complete runs (`of="runs"`) or of steps,
        per group of `by` and per time bucket (`bucket_ns`, the bucket's start) when given.

        Runs also carry first-attempt percentiles (`first_attempt_p50_ms`…), `retried_ok` (ended
        ok after retries) and `retry_ms` (time lost to retries: duration − first attempt). A
        step's retries include its direct children's (the resends under it); an HTTP resend's
        wait, spent before it began, counts for its parent only. No rows for an empty
        selection. ValueError for an unknown grouping or a bucket of 0 or less.
        """
        ...

    def latency_summary(
        self, project: str, since_ns: int | None, until_ns: int | None
    ) -> list[Row]:
        """`p50_ms` and `p99_ms` of complete runs per agent, version and environment."""
        ...

    def retried_runs(self, scope: SpanFilter, limit: int) -> list[Row]:
        """Runs that ended ok only after retries, the most time lost (`retry_ms`) first."""
        ...

    def dependency_latency(self, scope: SpanFilter, bucket_ns: int | None = None) -> list[Row]:
        """Per dependency (and time bucket): `calls`, `errors`, `rate_limited` (429 or class
        rate_limited), `timeouts`, percentiles and `max_ms` of its calls (steps naming the
        dependency with no child step naming the same one). Per bucket also `median_low_ms`,
        a one-sided 95% lower bound of the median (None under 7 calls)."""
        ...

    def dependency_errors(self, scope: SpanFilter) -> list[Row]:
        """Failed dependency calls per dependency and error class."""
        ...

    def in_flight(self, scope: SpanFilter, *, of: str = "runs", bucket_ns: int) -> list[Row]:
        """The most runs in flight per agent (`of="runs"`), or calls per dependency across all
        agents (`of="calls"`), in each time bucket of the window (buckets with none left out)."""
        ...

    def concurrency_bands(
        self, scope: SpanFilter, *, of: str = "runs", band_width: int | None = None
    ) -> list[Row]:
        """Runs (per agent) or calls (per dependency) started in the window, by how many were in
        flight when each started (itself included), in bands (`band_low`–`band_high`: powers of
        two, or `band_width` wide): `n`, `peak`, `errors`, `rate_limited`, `timeouts`, `p50_ms`,
        `p99_ms`."""
        ...

    def usage(self, scope: SpanFilter, by: Sequence[str] = ("agent", "model")) -> list[Row]:
        """Steps with token counts per group of `by` (agent, version, environment, model):
        `calls`, `input_tokens`, `output_tokens`."""
        ...

    def error_counts(self, where: RunFilter, step: str | None = None) -> list[Row]:
        """Per agent, version, environment and error class (None for what did not fail): runs
        (steps named `step` when given), errors, silent failures, first and last start.

        Runs are taken by their start in the window; `where.status` is not used.
        """
        ...

    def error_steps(self, where: RunFilter, step: str | None = None) -> list[Row]:
        """Failed runs per agent, version, environment, class and the step their class came
        from (their earliest failed step of that class); with `step`, failed steps of that
        name. Each with its count and first and last start."""
        ...

    def failed_steps(self, where: RunFilter, step: str | None = None) -> list[Row]:
        """Failed steps (of name `step` when given) per agent, version, environment, name,
        kind, dependency and class, whether their run failed or went on (a retried call):
        count, how many runs they were in, first and last start."""
        ...

    def error_timeline(
        self, where: RunFilter, bucket_ns: int, step: str | None = None
    ) -> list[Row]:
        """Per time bucket (start rounded down to a multiple of `bucket_ns`) and error class
        (None for what did not fail): runs, errors and silent failures."""
        ...

    def error_fingerprints(
        self, where: RunFilter, limit: int, step: str | None = None
    ) -> list[Row]:
        """The most frequent error fingerprints of failed runs (or steps named `step`): count,
        class, first and last start, and the latest occurrence with its error type and
        message."""
        ...

    def run_cadence(self, project: str, until_ns: int | None, history_runs: int) -> list[Row]:
        """Per agent and environment, from its last `history_runs` runs started before
        `until_ns`: the last run's start and version, how many runs were read, and the median
        gap between consecutive starts."""
        ...

    def count_spans(self, project: str | None = None) -> int:
        """How many spans are stored."""
        ...

    def memory_bytes(self) -> dict[str, int]:
        """Memory the database engine holds now, in bytes by kind (such as cached table blocks);
        empty when the engine does not tell."""
        ...

    def add_key(self, key: ApiKey, key_hash: str) -> None:
        """Store a new API key's hash; creates the project if needed."""
        ...

    def key_by_hash(self, key_hash: str) -> ApiKey | None:
        """The key with this hash, if any."""
        ...

    def key_count(self) -> int:
        """How many keys exist."""
        ...

    def projects(self) -> Sequence[str]:
        """Known project names."""
        ...

    def close(self) -> None:
        """Release the database."""
        ...
