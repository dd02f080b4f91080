"""Shared fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from serverproc import ServerProcess, start_server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A fresh server on an empty DuckDB store."""
    proc = start_server(tmp_path)
    try:
        yield proc
    finally:
        proc.stop()
