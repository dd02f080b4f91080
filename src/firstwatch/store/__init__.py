"""Stores: the embedded DuckDB file and (for scale-out) PostgreSQL."""

from __future__ import annotations

from firstwatch.settings import DUCKDB_MEMORY_LIMIT
from firstwatch.store.base import ApiKey, RunFilter, Store
from firstwatch.store.url import StoreUrl, parse_store_url

__all__ = ["ApiKey", "RunFilter", "Store", "StoreUrl", "open_store", "parse_store_url"]


def open_store(url: str, *, memory_limit: str = DUCKDB_MEMORY_LIMIT) -> Store:
    """Open the store a URL names (design.md §5 forms)."""
    parsed = parse_store_url(url)
    if parsed.backend == "duckdb":
        from firstwatch.store.duckdb import DuckDBStore

        assert parsed.path is not None
        return DuckDBStore(parsed.path, memory_limit=memory_limit)
    raise ValueError(
        f"the {parsed.backend} backend is not available in this version; use a .duckdb file"
    )
