"""The ASGI application: OTLP/HTTP ingest, the REST API and health endpoints."""

from __future__ import annotations

from fastapi import FastAPI

import firstwatch
from firstwatch.server import otlp_http, pages
from firstwatch.server.api import agents, drift, errors, health, keys, latency, runs
from firstwatch.server.state import AppState


def create_app(state: AppState) -> FastAPI:
    """Build the app around a running server's state."""
    app = FastAPI(
        title="firstwatch",
        version=firstwatch.__version__,
        description="Watch an AI agent's first days in production.",
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.firstwatch = state
    app.include_router(otlp_http.router)
    app.include_router(health.router)
    app.include_router(pages.router)
    app.include_router(agents.router)
    app.include_router(runs.router)
    app.include_router(keys.router)
    app.include_router(drift.router)
    app.include_router(errors.router)
    app.include_router(latency.router)
    return app
