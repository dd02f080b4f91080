"""Run a profile in a thread and fail, rather than hang, if it does not return in time."""

from __future__ import annotations

import threading
from typing import Any

from firstwatch.profiling import profile_input

GUARD_S = 60.0


def profile_bounded(value: object, **kwargs: Any) -> dict[str, str | int | float | bool]:
    """Profile ``value``; fail the test if the call has not returned within ``GUARD_S``."""
    result: list[dict[str, str | int | float | bool]] = []
    worker = threading.Thread(
        target=lambda: result.append(profile_input(value, **kwargs)), daemon=True
    )
    worker.start()
    worker.join(GUARD_S)
    assert not worker.is_alive(), f"profile_input did not return within {GUARD_S} s"
    assert result, "profile_input raised"
    return result[0]
