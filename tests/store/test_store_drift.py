"""What drift needs of the store, on every backend: input features of runs, named baselines."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from arrowtables import SPAN_SCHEMA
from firstwatch.store import RunFilter, Store
from firstwatch.store.base import StoredBaseline
from firstwatch.store.schema import SPAN_COLUMN_NAMES

BASE = 1_800_000_000_000_000_000
SECOND = 1_000_000_000


def run_span(n: int, inputs: dict[str, Any], **over: Any) -> dict[str, Any]:
    """The run span of trace `n`, started `n` seconds after BASE, with input features."""
    values: dict[str, Any] = dict.fromkeys(SPAN_COLUMN_NAMES)
    start = BASE + n * SECOND
    attributes = {"firstwatch.kind": "run", "firstwatch.output.answer": "42"}
    attributes.update({f"firstwatch.input.{k}": v for k, v in inputs.items()})
    values.update(
        project="default",
        trace_id=f"{n:032x}",
        span_id=f"{n:016x}",
        name="extract",
        span_kind=1,
        kind="run",
        agent_marked=True,
        start_ns=start,
        end_ns=start + 2_000_000,
        duration_ms=2.0,
        status="ok",
        agent="extractor",
        version="1.0",
        environment="production",
        attributes=json.dumps(attributes),
        received_ns=0,
    )
    values.update(over)
    return values


def child_span(n: int) -> dict[str, Any]:
    """A step of trace `n`, carrying an input-like attribute that must be ignored."""
    values = run_span(n, {"text.language": "xx"}, span_id=f"{n + 10_000:016x}", kind="step")
    values.update(parent_span_id=f"{n:016x}", agent_marked=False, start_ns=BASE + n * SECOND + 1)
    return values


def apply(store: Store, *rows: dict[str, Any]) -> None:
    store.apply(pa.Table.from_pylist(list(rows), schema=SPAN_SCHEMA), 1)


def test_features_are_columns_newest_run_first(store: Store) -> None:
    apply(
        store,
        run_span(1, {"doc.pages": 3, "text.language": "en", "doc.scanned": False}),
        run_span(2, {"doc.pages": 1.5, "text.language": "de", "doc.scanned": True}),
        run_span(3, {"text.language": "en", "json.len.q": 7}),
        child_span(3),
    )
    got = store.input_features(RunFilter(project="default"), limit=100)
    assert got.runs == 3
    assert got.trace_ids == [f"{n:032x}" for n in (3, 2, 1)]
    assert got.span_ids == [f"{n:016x}" for n in (3, 2, 1)]
    assert got.start_ns == [BASE + n * SECOND for n in (3, 2, 1)]
    assert got.versions == ["1.0"] * 3
    assert set(got.features) == {"doc.pages", "text.language", "doc.scanned", "json.len.q"}
    pages = got.features["doc.pages"]
    assert pages.dtype == np.float64
    assert math.isnan(pages[0]) and pages[1:].tolist() == [1.5, 3.0]
    assert got.features["json.len.q"].tolist()[0] == 7.0
    assert math.isnan(got.features["json.len.q"][1])
    assert got.features["text.language"].tolist() == ["en", "de", "en"]
    assert got.features["doc.scanned"].tolist() == [None, "true", "false"]


def test_a_feature_with_numbers_and_text_is_text(store: Store) -> None:
    apply(store, run_span(1, {"odd": 2}), run_span(2, {"odd": "two"}), run_span(3, {}))
    got = store.input_features(RunFilter(project="default"), limit=10)
    assert got.features["odd"].tolist() == [None, "two", "2"]


def test_filters_and_limit(store: Store) -> None:
    rows = [
        run_span(n, {"doc.pages": n}, environment="staging" if n % 2 else "production")
        for n in range(1, 11)
    ]
    rows.append(run_span(11, {"doc.pages": 11}, agent="other"))
    rows.append(run_span(12, {"doc.pages": 12}, version="2.0"))
    rows.append(run_span(13, {"doc.pages": 13}, project="acme"))
    apply(store, *rows)

    def pages(limit: int = 100, **where: Any) -> list[float]:
        found = store.input_features(RunFilter(**{"project": "default", **where}), limit)
        return found.features["doc.pages"].tolist() if found.runs else []

    assert pages() == [12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]
    assert pages(agent="extractor", environment="staging") == [9, 7, 5, 3, 1]
    assert pages(agent="extractor", environment="production", version="1.0") == [10, 8, 6, 4, 2]
    assert pages(version="2.0") == [12]
    assert pages(project="acme") == [13]
    assert pages(3) == [12, 11, 10]
    assert pages(since_ns=BASE + 4 * SECOND, until_ns=BASE + 7 * SECOND) == [6, 5, 4]
    assert pages(agent="nobody") == []
    empty = store.input_features(RunFilter(project="default", agent="nobody"), 10)
    assert (empty.runs, empty.features) == (0, {})


def test_runs_whose_root_never_arrived_are_left_out(store: Store) -> None:
    apply(store, run_span(1, {"doc.pages": 1}), child_span(2))
    got = store.input_features(RunFilter(project="default"), limit=10)
    assert got.trace_ids == [f"{1:032x}"]


def test_runs_without_input_features_count_as_runs(store: Store) -> None:
    apply(store, run_span(1, {}), run_span(2, {}))
    got = store.input_features(RunFilter(project="default"), limit=10)
    assert got.runs == 2 and got.features == {}


def baseline(name: str = "staging-1.0", **over: Any) -> StoredBaseline:
    values: dict[str, Any] = {
        "project": "default",
        "name": name,
        "agent": "extractor",
        "cohort": "env=staging,version=1.0",
        "runs": 120,
        "created_ns": BASE,
        "features": {
            "doc.pages": {"name": "doc.pages", "kind": "numeric", "edges": [1.0, 2.5]},
            "text.language": {"name": "text.language", "categories": ["de", "en"]},
        },
        "since_ns": BASE - SECOND,
        "until_ns": None,
    }
    values.update(over)
    return StoredBaseline(**values)


def test_a_baseline_is_stored_once_and_read_back(store: Store) -> None:
    first = baseline()
    assert store.create_baseline(first)
    assert not store.create_baseline(baseline(runs=5, features={}))
    assert store.get_baseline("default", "staging-1.0") == first
    assert store.get_baseline("acme", "staging-1.0") is None
    assert store.get_baseline("default", "nope") is None


def test_baselines_are_listed_by_project_and_agent(store: Store) -> None:
    store.create_baseline(baseline("b"))
    store.create_baseline(baseline("a"))
    store.create_baseline(baseline("c", agent="another"))
    store.create_baseline(baseline("a", project="acme"))
    listed = store.list_baselines("default")
    assert [(b.agent, b.name) for b in listed] == [
        ("another", "c"),
        ("extractor", "a"),
        ("extractor", "b"),
    ]
    assert all(b.features == {} for b in listed)
    assert listed[1].cohort == "env=staging,version=1.0" and listed[1].runs == 120
    assert [b.name for b in store.list_baselines("default", "extractor")] == ["a", "b"]
    assert [b.name for b in store.list_baselines("acme")] == ["a"]


@pytest.mark.parametrize("name", ["it's", 'quo"te', "x; DROP TABLE runs"])
def test_names_are_data_not_sql(store: Store, name: str) -> None:
    assert store.create_baseline(baseline(name))
    found = store.get_baseline("default", name)
    assert found is not None and found.name == name
