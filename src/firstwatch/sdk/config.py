"""SDK settings, each declared once: name, environment variable, type, default and help.

The order is: argument of `firstwatch.init`, then environment variable, then default. A bad value
is logged and the next source is used; nothing here ever raises into the host application.
`SdkSettings.declared()` is the table that documentation is generated from.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger("firstwatch.sdk")

DEFAULT_ENDPOINT = "http://127.0.0.1:4318"


def _text(raw: object) -> str | None:
    if not isinstance(raw, str):
        raise ValueError(f"expected a string, got {type(raw).__name__}")
    stripped = raw.strip()
    return stripped or None


def _endpoint(raw: object) -> str | None:
    text = _text(raw)
    if text is None:
        return None
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"expected an http:// or https:// URL, got {text!r}")
    return text.rstrip("/")


def _flag(raw: object) -> bool | None:
    if isinstance(raw, bool):
        return raw
    text = _text(raw)
    if text is None:
        return None
    lowered = text.lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"expected true or false, got {text!r}")


def _number(raw: object) -> float | None:
    if isinstance(raw, bool):
        raise ValueError("expected a number, got a bool")
    if isinstance(raw, int | float):
        value = float(raw)
    else:
        text = _text(raw)
        if text is None:
            return None
        value = float(text)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"expected a finite number >= 0, got {raw!r}")
    return value


def _positive(raw: object) -> float | None:
    value = _number(raw)
    if value is not None and value <= 0:
        raise ValueError(f"expected a number > 0, got {raw!r}")
    return value


@dataclass(frozen=True)
class Setting:
    """One declared setting: a row of the settings table."""

    name: str
    env: str
    type_name: str
    default: Any
    help: str
    parse: Callable[[object], Any]


def _setting(
    name: str, env: str, parse: Callable[[object], Any], default: Any, type_name: str, help: str
) -> Any:
    row = Setting(name=name, env=env, type_name=type_name, default=default, help=help, parse=parse)
    return field(default=default, metadata={"setting": row})


@dataclass(frozen=True)
class SdkSettings:
    """All SDK settings. Build with `SdkSettings.load(...)`."""

    endpoint: str = _setting(
        "endpoint",
        "FIRSTWATCH_ENDPOINT",
        _endpoint,
        DEFAULT_ENDPOINT,
        "str",
        "Base URL of the firstwatch server; spans are sent as OTLP/HTTP protobuf to "
        "{endpoint}/v1/traces.",
    )
    api_key: str | None = _setting(
        "api_key",
        "FIRSTWATCH_API_KEY",
        _text,
        None,
        "str",
        "API key with the ingest scope, sent as 'Authorization: Bearer <key>'. Unset sends none.",
    )
    agent: str | None = _setting(
        "agent",
        "FIRSTWATCH_AGENT",
        _text,
        None,
        "str",
        "Agent name: service.name and firstwatch.agent of every run.",
    )
    version: str | None = _setting(
        "version",
        "FIRSTWATCH_AGENT_VERSION",
        _text,
        None,
        "str",
        "Agent version: service.version and firstwatch.agent.version of every run.",
    )
    environment: str | None = _setting(
        "environment",
        "FIRSTWATCH_ENVIRONMENT",
        _text,
        None,
        "str",
        "Deployment environment (deployment.environment.name), such as staging or production.",
    )
    queue_mb: float = _setting(
        "queue_mb",
        "FIRSTWATCH_QUEUE_MB",
        _positive,
        64.0,
        "float",
        "Memory bound of the queue of finished spans waiting to be sent, in megabytes; beyond "
        "it spans are dropped, counted and the count reported, never blocking the agent.",
    )
    send_inputs: bool = _setting(
        "send_inputs",
        "FIRSTWATCH_SEND_INPUTS",
        _flag,
        False,
        "bool",
        "Also send each run's raw input (as input.value, truncated); by default only its "
        "profile leaves the process.",
    )
    disabled: bool = _setting(
        "disabled",
        "FIRSTWATCH_DISABLED",
        _flag,
        False,
        "bool",
        "Turn the SDK off: init does nothing and every call stays a no-op.",
    )
    instrument_http: bool = _setting(
        "instrument_http",
        "FIRSTWATCH_INSTRUMENT_HTTP",
        _flag,
        True,
        "bool",
        "Record httpx and requests calls made inside a run as dependency spans.",
    )
    export_timeout: float = _setting(
        "export_timeout",
        "FIRSTWATCH_EXPORT_TIMEOUT",
        _positive,
        30.0,
        "float",
        "Seconds spent sending one batch, retries and Retry-After waits included, before its "
        "spans are given up and counted as dropped.",
    )
    exit_timeout: float = _setting(
        "exit_timeout",
        "FIRSTWATCH_EXIT_TIMEOUT",
        _number,
        3.0,
        "float",
        "Seconds the process may spend at exit sending what is still queued.",
    )

    @classmethod
    def declared(cls) -> list[Setting]:
        """The settings table, in declaration order."""
        return [f.metadata["setting"] for f in fields(cls)]

    @classmethod
    def load(
        cls, arguments: Mapping[str, object] | None = None, environ: Mapping[str, str] | None = None
    ) -> SdkSettings:
        """Resolve every setting: argument, then environment variable, then default.

        A bad argument or environment value is logged and skipped; this never raises.

        Args:
            arguments: Values passed to `init`; None means not given.
            environ: The environment; `os.environ` by default.

        Returns:
            The resolved settings.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for setting in cls.declared():
            candidates: list[tuple[str, object]] = []
            given = (arguments or {}).get(setting.name)
            if given is not None:
                candidates.append((f"argument {setting.name}", given))
            raw = env.get(setting.env)
            if raw is not None:
                candidates.append((setting.env, raw))
            for source, candidate in candidates:
                try:
                    parsed = setting.parse(candidate)
                except (ValueError, TypeError, OverflowError) as exc:
                    log.warning("firstwatch: ignoring %s=%r (%s)", source, candidate, exc)
                    continue
                if parsed is not None:
                    values[setting.name] = parsed
                    break
        return cls(**values)
