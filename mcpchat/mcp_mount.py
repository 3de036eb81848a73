"""Mount the FastMCP app at /mcp inside the Channels ASGI router.

Daphne does not speak the ASGI lifespan protocol, but FastMCP's app needs its lifespan (its
session manager's task group). `McpMount` therefore starts that lifespan itself, once per
process, on the first request, from a task of its own that also runs our background work; it
ends it on daphne's shutdown (a Twisted trigger) or on a real `lifespan.shutdown` (uvicorn).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import signal
import sys
import threading
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from types import FrameType
from typing import Any

import anyio
from fastmcp.server.http import HostOriginGuardMiddleware
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Receive, Scope, Send

from chat.mcp_requests import GONE
from chat.runtime import service, sweep_forever, tune_garbage_collector
from mcpchat.mcp_exchange import Exchange, let_through

log = logging.getLogger("chat.mcp")

MCP_PATH = "/mcp"
Handler = Callable[[int, FrameType | None], Any]


class McpMount:
    def __init__(
        self,
        mcp_app: Any,
        access_token: str | None = None,
        on_start: Callable[[], Awaitable[None]] | None = None,
        max_sessions: int | None = None,
        guard: HostOriginGuardMiddleware | None = None,
    ) -> None:
        self.app = mcp_app  # a Starlette app from FastMCP.http_app(path=MCP_PATH)
        self.guard = guard
        self.access_token = access_token
        self.on_start = on_start
        self.max_sessions = max_sessions
        self._task: asyncio.Task[None] | None = None
        self._ready: asyncio.Future[None] | None = None
        self._stop: asyncio.Event | None = None
        self._posts = 0  # /mcp POSTs in progress: answers on their way out
        self._no_posts = asyncio.Event()
        self._stopping = False

    @staticmethod
    def handles(path: str) -> bool:
        return path in (MCP_PATH, MCP_PATH + "/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self._authorized(scope):
            await _unauthorized(send)
            return
        if self.guard is not None and not await let_through(self.guard, scope, receive, send):
            return
        await self.ensure_started()
        if scope["path"] != MCP_PATH:  # /mcp/ too, without a redirect
            scope = dict(scope, path=MCP_PATH, raw_path=MCP_PATH.encode())
        exchange = Exchange(send)
        scope[GONE] = exchange.gone  # the request's own scope: a copy would be kept per call
        post = scope.get("method") == "POST"
        if post:
            self._posts += 1
            self._no_posts.clear()
        try:
            await self.app(scope, receive, exchange.send)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            # The MCP SDK raises these, after answering, when the session a request belongs to
            # closed meanwhile (its client sent DELETE or vanished): nobody is left to tell.
            log.debug("a request outlived its MCP session")
        except ClientDisconnect:
            # The client left while its request body was still arriving (a crash, a killed
            # agent). Uvicorn calls the app before the body is in, daphne after, so only
            # uvicorn shows it; the MCP SDK lets it through. Nobody is left to answer.
            log.debug("a client left before its request body arrived")
        finally:
            if not exchange.gone.done():
                exchange.gone.set_result(None)
            if post:
                self._posts -= 1
                if self._posts == 0:
                    self._no_posts.set()

    def _authorized(self, scope: Scope) -> bool:
        if not self.access_token:
            return True
        headers = dict(scope.get("headers") or [])
        given = headers.get(b"authorization", b"").decode("latin-1")
        return hmac.compare_digest(given.encode(), f"Bearer {self.access_token}".encode())

    async def ensure_started(self) -> None:
        # No await between the check and the assignment, so concurrent first requests on the
        # event loop start the lifespan exactly once; all of them wait for it to be ready.
        if self._ready is None:
            loop = asyncio.get_running_loop()
            self._ready, self._stop = loop.create_future(), asyncio.Event()
            self._task = loop.create_task(self._run(), name="mcpchat-lifespan")
            _stop_with_daphne(self)
        await asyncio.shield(self._ready)

    async def _run(self) -> None:
        assert self._ready is not None and self._stop is not None
        try:
            async with AsyncExitStack() as stack:
                await stack.enter_async_context(self.app.router.lifespan_context(self.app))
                self._cap_sessions()
                if self.on_start is not None:
                    await self.on_start()
                tune_garbage_collector()  # started: what exists now lives as long as we do
                sweeper = asyncio.create_task(sweep_forever(), name="mcpchat-sweeper")
                stack.callback(sweeper.cancel)
                self._ready.set_result(None)
                self._answer_waits_on_signals()
                log.info("MCP endpoint started")
                await self._stop.wait()
            log.info("MCP endpoint stopped")
        except BaseException as e:
            if not self._ready.done():
                self._ready.set_exception(e)
            raise

    def _cap_sessions(self) -> None:
        """The MCP SDK caps open sessions (503 past it) but FastMCP does not pass the setting
        through; its session manager exists once the lifespan runs."""
        if self.max_sessions is None:
            return
        for route in self.app.routes:
            manager = getattr(getattr(route, "endpoint", None), "session_manager", None)
            if manager is not None:
                manager.max_sessions = self.max_sessions

    def _answer_waits_on_signals(self) -> None:
        """On SIGTERM or SIGINT, answer every parked wait first (empty, with a hint to call
        again), let those answers out, then hand the signal to the server's own handler
        (daphne's reactor or uvicorn), which stops as before. A second signal stops at once."""
        if threading.current_thread() is not threading.main_thread():
            return
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous = signal.getsignal(signum)
            if not callable(previous):
                continue

            def on_signal(number: int, frame: FrameType | None, then: Handler = previous) -> None:
                if self._stopping:
                    then(number, frame)
                    return
                self._stopping = True
                loop.call_soon_threadsafe(lambda: loop.create_task(self._drain(number, then)))

            signal.signal(signum, on_signal)

    async def _drain(self, number: int, then: Handler) -> None:
        grace = service().config.shutdown_grace
        start = asyncio.get_running_loop().time()
        left = await service().answer_waits(grace)
        log.info("stopping: parked waits answered (%d still parked)", left)
        remaining = max(0.5, grace - (asyncio.get_running_loop().time() - start))
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(remaining):  # the answers on their way out
                if self._posts:
                    await self._no_posts.wait()
        then(number, None)

    async def shutdown(self) -> None:
        if self._task is None or self._stop is None:
            return
        self._stop.set()
        await asyncio.gather(self._task, return_exceptions=True)

    async def lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A real ASGI lifespan handler, for servers that have one (uvicorn)."""
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.ensure_started()
                except Exception as e:
                    await send({"type": "lifespan.startup.failed", "message": str(e)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return


def _stop_with_daphne(mount: McpMount) -> None:
    """Under daphne (Twisted's asyncio reactor) end the lifespan before the reactor stops."""
    if "twisted.internet.reactor" not in sys.modules:
        return
    from twisted.internet import defer, reactor

    if not reactor.running:
        return

    def before_shutdown() -> defer.Deferred[None]:
        return defer.Deferred.fromFuture(asyncio.ensure_future(mount.shutdown()))

    # Twisted's interface stub misnames these parameters; the call is addSystemEventTrigger(
    # phase, eventType, callable) as documented.
    reactor.addSystemEventTrigger("before", "shutdown", before_shutdown)  # type: ignore[arg-type]


async def _unauthorized(send: Send) -> None:
    body = json.dumps(
        {
            "error": "unauthorized",
            "detail": "This server needs an access token: send 'Authorization: Bearer <token>'.",
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 401,
            "headers": [
                (b"content-type", b"application/json"),
                (b"www-authenticate", b'Bearer realm="mcpchat"'),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def route_http(mcp: McpMount, django: Callable[..., Awaitable[None]]) -> ASGIApp:
    """Send /mcp to the MCP app and everything else to Django. A plain function that hands
    back the target's coroutine: no frame of its own stays alive while a request lasts."""

    def app(scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        target = mcp if McpMount.handles(scope["path"]) else django
        return target(scope, receive, send)

    return app
