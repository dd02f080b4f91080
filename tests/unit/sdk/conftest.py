"""Fixtures for the SDK's tests: a clean environment, an in-memory exporter, a local receiver."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import firstwatch
from firstwatch.sdk.config import SdkSettings
from unit.sdk.sdk_receiver import OtlpReceiver


@pytest.fixture(autouse=True)
def _isolated_sdk(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for setting in SdkSettings.declared():
        monkeypatch.delenv(setting.env, raising=False)
    firstwatch.shutdown(timeout=2)
    yield
    firstwatch.shutdown(timeout=2)


@pytest.fixture
def memory() -> InMemorySpanExporter:
    """The SDK configured to export to memory, without HTTP instrumentation."""
    exporter = InMemorySpanExporter()
    firstwatch.init(
        agent="extractor",
        version="1.1",
        environment="staging",
        exporter=exporter,
        instrument_http=False,
    )
    return exporter


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    """A local OTLP/HTTP receiver."""
    server = OtlpReceiver()
    try:
        yield server
    finally:
        server.close()
