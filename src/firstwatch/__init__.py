"""firstwatch: watch an AI agent's first days in production.

Example:
    ```python
    import firstwatch

    firstwatch.init(agent="contract-extractor", version="1.1", environment="production")
    with firstwatch.run(input=document) as run:
        with run.step("extract"):
            parties, date = extract(document)
        run.output(parties=parties, effective_date=date)
        run.check("has_parties", bool(parties), reason="no party found")
    ```
"""

from __future__ import annotations

__version__ = "0.1.0"

from firstwatch.sdk import (
    ResourceAccess,
    Run,
    Step,
    agent,
    current_run,
    flush,
    init,
    retry,
    run,
    shutdown,
    step,
)

__all__ = [
    "ResourceAccess",
    "Run",
    "Step",
    "__version__",
    "agent",
    "current_run",
    "flush",
    "init",
    "retry",
    "run",
    "shutdown",
    "step",
]
