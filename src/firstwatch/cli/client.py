"""The CLI's REST client: every command but serve, demo and db talks to a running server."""

from __future__ import annotations

import os
from typing import Any

import httpx
import typer
from rich.console import Console
from rich.markup import escape

DEFAULT_SERVER = "http://127.0.0.1:4318"

err = Console(stderr=True, soft_wrap=True)


class Client:
    """A thin wrapper that turns transport and HTTP errors into clear messages and exit 1."""

    def __init__(self, server: str | None, key: str | None, timeout_s: float = 30.0) -> None:
        self.server = (server or os.environ.get("FIRSTWATCH_SERVER") or DEFAULT_SERVER).rstrip("/")
        api_key = key or os.environ.get("FIRSTWATCH_API_KEY")
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._timeout_s = timeout_s

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send a request and return the decoded JSON body."""
        try:
            with httpx.Client(
                base_url=self.server, headers=self._headers, timeout=self._timeout_s
            ) as http:
                response = http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            err.print(
                f"[red]cannot reach firstwatch at {escape(self.server)}[/red]: {escape(str(exc))}. "
                "Is `firstwatch serve` running? Use --server or FIRSTWATCH_SERVER."
            )
            raise typer.Exit(1) from None
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail") or response.json().get("message")
            except ValueError:
                detail = response.text
            err.print(
                f"[red]{method} {path} failed ({response.status_code})[/red]: {escape(str(detail))}"
            )
            raise typer.Exit(1)
        return response.json()

    def get(self, path: str, **params: Any) -> Any:
        """GET with the non-None params."""
        return self.request("GET", path, params={k: v for k, v in params.items() if v is not None})
