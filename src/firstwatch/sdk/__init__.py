"""The firstwatch SDK: instrument an agent on OpenTelemetry, never slowing or breaking it."""

from __future__ import annotations

from firstwatch.sdk.api import agent, current_run, retry, run, step
from firstwatch.sdk.config import SdkSettings, Setting
from firstwatch.sdk.lifecycle import flush, init, shutdown
from firstwatch.sdk.scopes import ResourceAccess, Run, Step

__all__ = [
    "ResourceAccess",
    "Run",
    "SdkSettings",
    "Setting",
    "Step",
    "agent",
    "current_run",
    "flush",
    "init",
    "retry",
    "run",
    "shutdown",
    "step",
]
