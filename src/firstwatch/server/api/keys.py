"""`/api/v1/keys`: create API keys (admin scope)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field

from firstwatch.server.api.deps import admin, state_of
from firstwatch.server.auth import SCOPES, Principal, create_key

router = APIRouter(prefix="/api/v1", tags=["keys"])


class KeyRequest(BaseModel):
    """What key to create."""

    project: str = Field(min_length=1, max_length=128)
    scope: str = Field(description="ingest, read or admin")


class KeyCreated(BaseModel):
    """The new key: shown once, stored only as a hash."""

    project: str
    scope: str
    key: str


@router.post("/keys", response_model=KeyCreated, status_code=201)
def new_key(
    request: Request, body: KeyRequest, who: Annotated[Principal, Depends(admin)]
) -> KeyCreated:
    """Create a key for a project (the project is created if new)."""
    if body.scope not in SCOPES:
        raise HTTPException(400, f"scope must be one of {', '.join(SCOPES)}")
    key = create_key(state_of(request).store, body.project, body.scope)
    return KeyCreated(project=body.project, scope=body.scope, key=key)
