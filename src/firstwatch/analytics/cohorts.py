"""Cohorts: which runs a comparison takes, written `env=production,version=1.1,since=24h`.

design.md §5: a cohort is any of `env`, `version`, `since` and `until`, comma-separated; a key
left out does not narrow the cohort. `since` and `until` stay as written (RFC 3339 or relative,
such as `24h`) until a caller resolves them against a clock, so parsing is pure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from firstwatch.store.base import RunFilter

__all__ = ["KEYS", "Cohort", "parse_cohort"]

KEYS: Final = ("env", "version", "since", "until")
"""The keys a cohort may have, in the order `str(cohort)` writes them."""

_FORBIDDEN: Final = frozenset(",=")


@dataclass(frozen=True)
class Cohort:
    """A set of runs of one agent: by environment, version and a time window.

    Attributes:
        environment: `env=`: only runs of this environment.
        version: `version=`: only runs of this agent version.
        since: `since=`: only runs started at or after this time, as written.
        until: `until=`: only runs started before this time, as written.
    """

    environment: str | None = None
    version: str | None = None
    since: str | None = None
    until: str | None = None

    def __post_init__(self) -> None:
        for key, value in zip(KEYS, self._values(), strict=True):
            if value is not None and (
                not value or value != value.strip() or _FORBIDDEN & set(value)
            ):
                raise ValueError(
                    f"{key}={value!r}: a value must be non-empty, without surrounding spaces, "
                    "commas or '='"
                )

    def _values(self) -> tuple[str | None, ...]:
        return (self.environment, self.version, self.since, self.until)

    def __str__(self) -> str:
        return ",".join(
            f"{key}={value}"
            for key, value in zip(KEYS, self._values(), strict=True)
            if value is not None
        )

    def run_filter(
        self,
        project: str,
        agent: str | None,
        resolve: Callable[[str | None], int | None],
    ) -> RunFilter:
        """The store filter for this cohort's runs of one agent.

        Args:
            project: The project the runs belong to.
            agent: The agent; None for every agent.
            resolve: Turns a `since` / `until` text into nanoseconds since the epoch (None
                stays None); it raises ValueError for a text it cannot read.

        Returns:
            The filter.
        """
        return RunFilter(
            project=project,
            agent=agent,
            version=self.version,
            environment=self.environment,
            since_ns=resolve(self.since),
            until_ns=resolve(self.until),
        )


def parse_cohort(text: str) -> Cohort:
    """Read a cohort written `env=production,version=1.1,since=24h`.

    Spaces around keys, values and commas are ignored; an empty text is every run. `environment`
    is accepted for `env`.

    Args:
        text: The cohort.

    Returns:
        The cohort.

    Raises:
        ValueError: An unknown or repeated key, a part without `=`, or an empty value.
    """
    values: dict[str, str] = {}
    for part in text.split(","):
        if not part.strip():
            if text.strip():
                raise ValueError(f"cohort {text!r} has an empty part")
            continue
        key, equals, value = (piece.strip() for piece in part.partition("="))
        key = "env" if key == "environment" else key
        if not equals:
            raise ValueError(f"cohort part {part.strip()!r} is not key=value")
        if key not in KEYS:
            raise ValueError(f"unknown cohort key {key!r}: use {', '.join(KEYS)}")
        if key in values:
            raise ValueError(f"cohort key {key!r} is given twice")
        if not value:
            raise ValueError(f"cohort key {key!r} has no value")
        values[key] = value
    return Cohort(
        environment=values.get("env"),
        version=values.get("version"),
        since=values.get("since"),
        until=values.get("until"),
    )
