"""`firstwatch demo`: a simulated fleet of agents, replayed through the real SDK and OTLP path.

The demo starts `firstwatch serve` on a fresh store, local fake services (a language model, a
company registry, a CRM), and replays two days of three document-processing agents in about a
minute: staging, then production with the inputs real users send and five injected failures.
What really happened is written to `demo-truth.jsonl` next to the store.
"""

from firstwatch.demo.runner import DemoOptions, run_demo

__all__ = ["DemoOptions", "run_demo"]
