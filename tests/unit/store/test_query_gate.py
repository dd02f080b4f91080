"""The gate between queries and the store's upkeep."""

from __future__ import annotations

import threading

from firstwatch.store.query_gate import QueryGate

WAIT_S = 10.0


def test_queries_do_not_wait_for_each_other() -> None:
    gate = QueryGate()
    with gate.query(), gate.query():
        pass
    with gate.alone() as alone:
        assert alone


def test_upkeep_is_skipped_while_a_query_runs() -> None:
    gate = QueryGate()
    with gate.query(), gate.alone() as alone:
        assert not alone
    with gate.alone() as alone:
        assert alone


def test_a_query_started_during_upkeep_waits_for_it() -> None:
    gate = QueryGate()
    started = threading.Event()
    order: list[str] = []

    def query() -> None:
        started.set()
        with gate.query():
            order.append("query")

    with gate.alone() as alone:
        assert alone
        thread = threading.Thread(target=query)
        thread.start()
        assert started.wait(WAIT_S)
        thread.join(0.2)
        assert thread.is_alive()  # held back
        order.append("upkeep done")
    thread.join(WAIT_S)
    assert not thread.is_alive()
    assert order == ["upkeep done", "query"]


def test_upkeep_does_not_overlap_upkeep() -> None:
    gate = QueryGate()
    with gate.alone() as first, gate.alone() as second:
        assert first and not second
