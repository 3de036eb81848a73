"""The benchmark's baseline: a bare FastMCP server, served the way mcpchat is served.

    daphne bench.bare_server:application      (or uvicorn bench.bare_server:application)

Three tools and nothing else: `echo` answers at once, `park` awaits an event (what a parked
`wait_for_message` is, minus the chat), `wake` sets it. No middleware, no settings: FastMCP
4's defaults, so each mcpchat figure can be quoted as a ratio to what the MCP stack itself
costs on the same machine in the same run.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastmcp import FastMCP
from starlette.types import Receive, Scope, Send

mcp = FastMCP("bare")
_events: dict[str, asyncio.Event] = {}


@mcp.tool
async def echo(text: str) -> str:
    """Answer with the text."""
    return text


@mcp.tool
async def park(key: str, timeout: float = 60) -> bool:
    """Wait until `wake(key)` or the timeout; true if woken."""
    event = _events.setdefault(key, asyncio.Event())
    try:
        await asyncio.wait_for(event.wait(), timeout)
        return True
    except TimeoutError:
        return False
    finally:
        _events.pop(key, None)


@mcp.tool
async def parked() -> int:
    """How many calls are parked."""
    return len(_events)


@mcp.tool
async def wake(key: str) -> bool:
    """Wake the call parked on `key`; false if none is."""
    event = _events.get(key)
    if event is None:
        return False
    event.set()
    return True


class _WithLifespan:
    """Daphne sends no ASGI lifespan, and FastMCP's app needs one (its session manager):
    start it on the first request and keep it for the process's life, under uvicorn too (its
    lifespan messages are acknowledged here), so both servers run the same code."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._started: asyncio.Future[None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] == "http" and scope["path"] == "/ready":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})
            return
        if self._started is None:
            self._started = asyncio.get_running_loop().create_future()
            asyncio.get_running_loop().create_task(self._run())
        await asyncio.shield(self._started)
        await self.app(scope, receive, send)

    async def _run(self) -> None:
        assert self._started is not None
        async with self.app.router.lifespan_context(self.app):
            self._started.set_result(None)
            await asyncio.Event().wait()  # until the process ends


application = _WithLifespan(mcp.http_app(path="/mcp"))
