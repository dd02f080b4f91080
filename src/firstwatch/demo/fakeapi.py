"""The local fake services the demo's agents call: a language model, a registry and a CRM.

One Starlette app on 127.0.0.1 (a free port), served by uvicorn on a thread of the demo, so it
shares the timeline and the documents' truth with the runner. It answers like the real thing
(JSON, 429 with Retry-After, slow responses) and learns which run called from the W3C
`traceparent` header that the instrumented HTTP clients send.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import socket
import threading
import time
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from firstwatch.demo.world import World


def trace_of(request: Request) -> str:
    """The trace id of the caller's span, from its `traceparent` header ("" without one)."""
    parts = request.headers.get("traceparent", "").split("-")
    return parts[1] if len(parts) == 4 and len(parts[1]) == 32 else ""


def create_app(world: World) -> Starlette:
    """The fake services as one ASGI app.

    Args:
        world: Their state and behaviour.

    Returns:
        The app.
    """

    async def pause(sim_seconds: float) -> None:
        await asyncio.sleep(world.timeline.real_seconds(sim_seconds))

    async def model(request: Request) -> JSONResponse:
        task = request.path_params["task"]
        trace = trace_of(request)
        key = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not world.admit(key):
            wait = world.rate_limited(trace)
            await pause(0.05)
            return JSONResponse(
                {
                    "error": {
                        "type": "rate_limit_exceeded",
                        "message": "Too many requests in flight",
                    }
                },
                status_code=429,
                headers={"Retry-After": f"{world.timeline.real_seconds(wait):.3f}"},
            )
        try:
            body = await request.json()
            await pause(world.model_latency(task))
            try:
                data = base64.b64decode(body["document"], validate=True)
            except (KeyError, TypeError, binascii.Error):
                return JSONResponse({"error": {"message": "document must be base64"}}, 400)
            document = world.documents.get(hashlib.sha256(data).hexdigest())
            if document is None:
                return JSONResponse({"error": {"message": "unreadable document"}}, 422)
            model_name = str(body.get("model", ""))
            if task == "classify":
                output: dict[str, Any] = world.classify(document)
            else:
                output = world.extract(document, model_name, trace)
            usage = {"input_tokens": 350 + len(data) // 40, "output_tokens": 40 + 12 * len(output)}
            return JSONResponse({"model": model_name, "output": output, "usage": usage})
        finally:
            world.release(key)

    async def registry(request: Request) -> JSONResponse:
        name = request.query_params.get("name", "")
        world.registry_enter()
        try:
            await pause(world.registry_latency(trace_of(request)))
        finally:
            world.registry_leave()
        number = int(hashlib.sha256(name.encode()).hexdigest()[:8], 16) % 10**8
        return JSONResponse({"name": name, "registry_id": f"RC{number:08d}", "status": "active"})

    async def crm(request: Request) -> JSONResponse:
        account = request.path_params["account"]
        trace = trace_of(request)
        await pause(world.crm_latency())
        if request.method == "PUT":
            return JSONResponse(world.crm_put(account, await request.json(), trace))
        return JSONResponse(world.crm_get(account, trace))

    return Starlette(
        routes=[
            Route("/llm/v1/{task:str}", model, methods=["POST"]),
            Route("/registry/v1/companies", registry, methods=["GET"]),
            Route("/crm/v1/accounts/{account:str}", crm, methods=["GET", "PUT"]),
        ]
    )


class FakeApi:
    """The fake services, served on a thread.

    Args:
        world: Their state and behaviour.
    """

    def __init__(self, world: World) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(2048)
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        config = uvicorn.Config(
            create_app(world),
            log_level="error",
            access_log=False,
            lifespan="off",
            timeout_keep_alive=60,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            name="firstwatch-demo-fakeapi",
            daemon=True,
        )

    def start(self, timeout: float = 10.0) -> None:
        """Start serving; returns once it accepts connections (at most `timeout` seconds)."""
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the demo's fake services did not start")
            time.sleep(0.01)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving (calls still sleeping are cut short)."""
        self._server.should_exit = True
        self._server.force_exit = True
        self._thread.join(timeout)
        self._socket.close()
