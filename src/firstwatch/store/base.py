"""The store interface: domain operations, never a generic `execute(sql)`.

Every backend implements this Protocol; the same suite in tests/store runs against each.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

Row = dict[str, Any]
Materializer = Callable[[Iterable[Mapping[str, Any]]], tuple[list[Row], list[Row]]]


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

    def apply(self, spans: pa.Table, lsn: int, materialize: Materializer) -> int:
        """Store spans (idempotent on project, trace_id, span_id), rebuild the runs and steps of
        the traces they touch, and record `lsn` as applied, in one transaction.

        Returns the number of spans newly stored.
        """
        ...

    def applied_lsn(self) -> int:
        """The last log position whose spans are in the store (0 when none)."""
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

    def count_spans(self, project: str | None = None) -> int:
        """How many spans are stored."""
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
