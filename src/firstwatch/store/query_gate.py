"""Queries run together; a short upkeep step runs only while none is running."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class QueryGate:
    """Counts the queries running, so that upkeep that would disturb them can wait its turn.

    Queries never wait for each other. Upkeep (`alone`) never waits for queries: it is skipped
    while any runs, and queries that start during it wait the few milliseconds it takes.
    """

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._running = 0
        self._upkeep = False

    @contextmanager
    def query(self) -> Iterator[None]:
        """Hold the gate open for one query."""
        with self._changed:
            while self._upkeep:
                self._changed.wait()
            self._running += 1
        try:
            yield
        finally:
            with self._changed:
                self._running -= 1

    @contextmanager
    def alone(self) -> Iterator[bool]:
        """Yields True, with new queries held back until the block ends, when no query is
        running; yields False at once otherwise."""
        with self._changed:
            free = self._running == 0 and not self._upkeep
            if free:
                self._upkeep = True
        try:
            yield free
        finally:
            if free:
                with self._changed:
                    self._upkeep = False
                    self._changed.notify_all()
