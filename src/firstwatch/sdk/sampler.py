"""Record our own spans always, and anything else (httpx, requests…) only inside a run."""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry import context as context_api
from opentelemetry import trace as trace_api
from opentelemetry.context import Context
from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult
from opentelemetry.trace import Link, SpanKind
from opentelemetry.trace.span import TraceState
from opentelemetry.util.types import Attributes

from firstwatch import semconv
from firstwatch.sdk.scopes import SCOPE_KEY

_DROP = SamplingResult(Decision.DROP)


class RunScopedSampler(Sampler):
    """Sample spans that carry `firstwatch.kind`, or that start inside a run; drop the rest.

    So auto-instrumented HTTP calls become dependency spans of the run they belong to, while the
    same calls made outside any run are not recorded at all.
    """

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: TraceState | None = None,
    ) -> SamplingResult:
        """Decide for one span about to start."""
        if not (attributes and semconv.KIND in attributes) and (
            context_api.get_value(SCOPE_KEY, parent_context) is None
        ):
            return _DROP
        parent = trace_api.get_current_span(parent_context).get_span_context()
        return SamplingResult(
            Decision.RECORD_AND_SAMPLE,
            attributes,
            parent.trace_state if parent.is_valid else None,
        )

    def get_description(self) -> str:
        """The sampler's name."""
        return "FirstwatchRunScopedSampler"
