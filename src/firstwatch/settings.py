"""Server settings, each declared once: name, environment variable, type, default and help.

The order is: command-line argument, then environment variable, then default. `docs/settings.md` is
generated from this table (`firstwatch db settings-doc`) and a test keeps the two in step.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import platformdirs

log = logging.getLogger(__name__)


def _default_store() -> str:
    return str(Path(platformdirs.user_data_dir("firstwatch")) / "firstwatch.duckdb")


def _parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"expected true or false, got {text!r}")


def _parse_optional_bool(text: str) -> bool | None:
    if text.strip().lower() in {"", "auto"}:
        return None
    return _parse_bool(text)


DUCKDB_MEMORY_LIMIT = "128MB"
"""DuckDB's default memory_limit: the most its cache of the file and its working memory take.
The writer cuts the cache back after each large write, so under heavy ingest the server stays
around 230–250 MB with peaks of 270–330 MB (docs/benchmarks.md); otherwise queries may fill the
cache up to the limit. Below about 96MB the heaviest queries over 10M spans run out of memory."""


@dataclass(frozen=True)
class Setting:
    """One declared setting."""

    name: str
    env: str
    parse: Callable[[str], Any]
    default: Any
    help: str
    type_name: str


def _setting(
    name: str, parse: Callable[[str], Any], default: Any, help: str, type_name: str
) -> Any:
    return field(
        default=default,
        metadata={
            "setting": Setting(
                name=name,
                env="FIRSTWATCH_" + name.upper(),
                parse=parse,
                default=default,
                help=help,
                type_name=type_name,
            )
        },
    )


@dataclass(frozen=True)
class Settings:
    """All server settings. Build with `Settings.load(...)`."""

    store: str = _setting(
        "store",
        str,
        "",
        "Where runs are stored: a path ending .duckdb, duckdb:///relative.duckdb, "
        "duckdb:////absolute.duckdb or postgresql://... Empty means firstwatch.duckdb in the "
        "user data directory.",
        "str",
    )
    host: str = _setting(
        "host", str, "127.0.0.1", "Address to bind. Keys are always required off loopback.", "str"
    )
    http_port: int = _setting(
        "http_port", int, 4318, "Port for OTLP/HTTP, the REST API and the dashboard.", "int"
    )
    grpc_port: int = _setting(
        "grpc_port", int, 4317, "Port for OTLP/gRPC (0 picks a free port, -1 disables).", "int"
    )
    require_keys: bool | None = _setting(
        "require_keys",
        _parse_optional_bool,
        None,
        "Require an API key on every request. Unset means: required unless bound to loopback.",
        "bool|auto",
    )
    max_body_bytes: int = _setting(
        "max_body_bytes",
        int,
        16 * 2**20,
        "Largest OTLP request accepted, checked before and after decompression (413 beyond).",
        "int",
    )
    max_attributes: int = _setting(
        "max_attributes",
        int,
        1024,
        "Attributes kept per span; the rest are dropped and counted.",
        "int",
    )
    max_value_chars: int = _setting(
        "max_value_chars",
        int,
        4096,
        "Longest attribute value kept; longer values are truncated and counted.",
        "int",
    )
    redact_keys: str = _setting(
        "redact_keys",
        str,
        "",
        "Attributes to store as [redacted] besides the credential names always hidden "
        "(authorization, cookie, api_key, password, token…): names separated by commas, each "
        "the last part of an attribute's name (ssn) or a whole attribute name (app.user.email).",
        "str",
    )
    wal_dir: str = _setting(
        "wal_dir",
        str,
        "",
        "Directory of the write-ahead log. Empty means '<store>.wal.d' next to a DuckDB file.",
        "str",
    )
    wal_max_pending_mb: int = _setting(
        "wal_max_pending_mb",
        int,
        256,
        "Unapplied log size beyond which ingest answers 503 with Retry-After.",
        "int",
    )
    duckdb_memory_limit: str = _setting(
        "duckdb_memory_limit",
        str,
        DUCKDB_MEMORY_LIMIT,
        "DuckDB's memory_limit for the embedded store: the most its cache of the file and its "
        "working memory take (the cache is cut back after each large write). More makes the "
        "heaviest queries over millions of spans faster; below about 96MB they run out of memory.",
        "str",
    )
    writer_batch_spans: int = _setting(
        "writer_batch_spans",
        int,
        50_000,
        "Most spans the writer applies to the store in one transaction.",
        "int",
    )
    drift_min_runs: int = _setting(
        "drift_min_runs",
        int,
        50,
        "Fewest runs on each side of an input drift comparison for a severity; with fewer the "
        "answer is 'not enough data'.",
        "int",
    )
    drift_alpha: float = _setting(
        "drift_alpha",
        float,
        0.05,
        "Family-wise error rate of the drift tests (Holm-corrected across the features).",
        "float",
    )
    status_degraded_error_rate: float = _setting(
        "status_degraded_error_rate",
        float,
        0.05,
        "Share of an agent's runs in the status window that failed (status error) from which "
        "its status is degraded.",
        "float",
    )
    status_failing_error_rate: float = _setting(
        "status_failing_error_rate",
        float,
        0.25,
        "Share of an agent's runs in the status window that failed from which its status is "
        "failing.",
        "float",
    )
    status_degraded_silent_rate: float = _setting(
        "status_degraded_silent_rate",
        float,
        0.05,
        "Share of an agent's runs in the status window that ended OK but failed an output "
        "check (silent failures) from which its status is degraded.",
        "float",
    )
    status_min_runs: int = _setting(
        "status_min_runs",
        int,
        5,
        "Fewest runs in the status window for an error or silent-failure rate to change an "
        "agent's status; also the fewest past runs for it to be judged silent.",
        "int",
    )
    status_silence_gaps: float = _setting(
        "status_silence_gaps",
        float,
        10.0,
        "An agent is silent when it has had no run for this many of its usual gaps between "
        "runs (the median of its recent gaps).",
        "float",
    )
    status_min_silence_s: float = _setting(
        "status_min_silence_s",
        float,
        300.0,
        "Shortest quiet time, in seconds, that can make an agent silent, however often it "
        "usually runs.",
        "float",
    )
    prices_file: str = _setting(
        "prices_file",
        str,
        "",
        "TOML price table for token costs: per model, input and output prices per million "
        "tokens (see firstwatch.analytics.pricing). Read at each request, so edits apply at "
        "once. Empty means a few example prices of well-known models, shown as examples.",
        "str",
    )
    error_rules_file: str = _setting(
        "error_rules_file",
        str,
        "",
        "A TOML file of error-class rules tried before the built-in ones (docs/errors.md).",
        "str",
    )
    log_level: str = _setting("log_level", str, "info", "Server log level.", "str")

    @classmethod
    def declared(cls) -> list[Setting]:
        """The declarations, in order."""
        return [f.metadata["setting"] for f in fields(cls)]

    @classmethod
    def load(
        cls, overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
    ) -> Settings:
        """Resolve every setting: explicit override, then environment, then default.

        A bad environment value is logged and replaced by the default; a bad override raises.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for setting in cls.declared():
            override = (overrides or {}).get(setting.name)
            if override is not None:
                values[setting.name] = override
                continue
            raw = env.get(setting.env)
            if raw is None:
                continue
            try:
                values[setting.name] = setting.parse(raw)
            except ValueError as exc:
                log.warning("ignoring %s=%r (%s); using %r", setting.env, raw, exc, setting.default)
        resolved = cls(**values)
        if not resolved.store:
            resolved = cls(**{**values, "store": _default_store()})
        return resolved

    @property
    def keys_required(self) -> bool:
        """Whether requests must carry a key."""
        if self.require_keys is not None:
            return self.require_keys or not is_loopback(self.host)
        return not is_loopback(self.host)


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost."""
    return host == "localhost" or host.startswith("127.") or host in {"::1", "[::1]"}


def settings_markdown() -> str:
    """The settings reference page, generated from the declarations."""
    lines = [
        "# Settings",
        "",
        "Each setting is read from its environment variable; the main ones are also options of "
        "`firstwatch serve` (see `firstwatch serve --help`), and an option wins over the "
        "environment. A bad environment value is logged and the default is used.",
        "",
        "| setting | environment variable | type | default | meaning |",
        "| --- | --- | --- | --- | --- |",
    ]
    for s in Settings.declared():
        default = "" if s.default in ("", None) else f"`{s.default}`"
        lines.append(f"| `{s.name}` | `{s.env}` | {s.type_name} | {default} | {s.help} |")
    return "\n".join(lines) + "\n"
