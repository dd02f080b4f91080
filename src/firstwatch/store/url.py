"""Store URLs (design.md §5): a path ending .duckdb, duckdb:///relative, duckdb:////absolute,
or postgresql://…"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class StoreUrl:
    """A parsed store location."""

    backend: str
    path: Path | None = None
    url: str | None = None


def parse_store_url(text: str) -> StoreUrl:
    """Parse a store URL; raises ValueError with the accepted forms when it is none of them."""
    if text.startswith("duckdb:///"):
        rest = text[len("duckdb:///") :]
        if not rest:
            raise ValueError("duckdb:/// needs a file path, e.g. duckdb:///firstwatch.duckdb")
        return StoreUrl("duckdb", path=Path(rest))
    if text.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        return StoreUrl("postgresql", url=text)
    if "://" not in text and text.endswith(".duckdb"):
        return StoreUrl("duckdb", path=Path(text).expanduser())
    raise ValueError(
        f"unrecognised store {text!r}: use a path ending .duckdb, duckdb:///relative.duckdb, "
        "duckdb:////absolute.duckdb or postgresql://user@host/db"
    )
