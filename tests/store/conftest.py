"""One store suite, every backend (design.md §1): the `store` fixture is parametrised."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from firstwatch.store import Store, open_store

BACKENDS = ["duckdb"]


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    backend = request.param
    if backend == "duckdb":
        opened = open_store(str(tmp_path / "test.duckdb"))
    else:  # pragma: no cover - other backends join this list as they land
        raise AssertionError(backend)
    try:
        yield opened
    finally:
        opened.close()
