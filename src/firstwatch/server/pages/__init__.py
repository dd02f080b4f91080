"""The dashboard: server-rendered HTML over the same functions as the REST API.

`/` lists every agent, version and environment with its status and why; `/agents/{name}` shows
one agent's errors, latency, dependencies, drift and runs; `/runs/{trace_id}` a trace's runs
and their steps as a tree. Each page takes `since` (default 24h) and `until`. Where keys are
required, `/login` signs a browser in with a key kept in a cookie.
"""

from __future__ import annotations

from fastapi import APIRouter

from firstwatch.server.pages import agent, login, overview, run

router = APIRouter(include_in_schema=False)
router.include_router(overview.router)
router.include_router(agent.router)
router.include_router(run.router)
router.include_router(login.router)

__all__ = ["router"]
