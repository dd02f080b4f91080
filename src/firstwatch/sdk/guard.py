"""The SDK never raises into the agent: its own failures are logged, loudly once, then quietly."""

from __future__ import annotations

import logging

log = logging.getLogger("firstwatch.sdk")

_seen: set[str] = set()


def internal_error(where: str) -> None:
    """Log the exception being handled as an internal SDK failure at `where`.

    The first failure at each place is a warning with its traceback; later ones are debug lines,
    so a broken hot path cannot flood the application's logs.
    """
    if where in _seen:
        log.debug("firstwatch: internal error in %s (ignored)", where, exc_info=True)
        return
    _seen.add(where)
    log.warning("firstwatch: internal error in %s (ignored)", where, exc_info=True)
