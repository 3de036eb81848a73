"""Request bodies over MCPCHAT_MAX_BODY_BYTES are refused (413) before they are buffered.

Two places, because servers differ. Daphne (Twisted) reads a whole body into memory or a
temporary file before the application sees any of it, so `limit_daphne_bodies` gives daphne a
request class that refuses from Content-Length, or as soon as the streamed bytes pass the
limit, and closes the connection. Servers that stream bodies to the application (uvicorn)
meet `BodyLimit`, which does the same at the ASGI level.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send


def refusal(limit: int) -> bytes:
    return json.dumps(
        {
            "error": "request_too_large",
            "detail": f"Request bodies are limited to {limit} bytes; send less.",
        }
    ).encode()


def limit_daphne_bodies(limit: int) -> None:
    """Make daphne's HTTP requests refuse bodies over `limit` bytes while they arrive."""
    from daphne import http_protocol

    base: Any = http_protocol.WebRequest
    if getattr(base, "body_limit", None) is not None:  # already bounded: just set the limit
        base.body_limit = limit
        return

    class BoundedWebRequest(base):  # type: ignore[misc, valid-type]
        body_limit = limit
        _received = 0
        _refused = False

        def gotLength(self, length: int | None) -> None:
            if length is not None and length > self.body_limit:
                self._refuse()
            super().gotLength(None if self._refused else length)

        def handleContentChunk(self, data: bytes) -> None:
            if self._refused:
                return
            if self.requestHeaders.hasHeader(b"content-length"):
                # gotLength checked it, and Twisted stops the body there: nothing to count
                # (and no counter kept on each request).
                super().handleContentChunk(data)
                return
            self._received += len(data)
            if self._received > self.body_limit:
                self._refuse()
                return
            super().handleContentChunk(data)

        def process(self) -> Any:
            if not self._refused:
                return super().process()
            return None

        def _refuse(self) -> None:
            self._refused = True
            body = refusal(self.body_limit)
            self.channel.transport.write(
                b"HTTP/1.1 413 Content Too Large\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)
            )
            self.channel.loseConnection()

    http_protocol.WebRequest = BoundedWebRequest


class BodyLimit:
    """ASGI: refuse a body over `limit` bytes from Content-Length or while it streams in.

    `__call__` is a plain function that hands back the next application's coroutine rather
    than awaiting it: a coroutine of its own would stay alive, one frame per request, for as
    long as a parked wait's request lasts (docs/PERFORMANCE.md). Only a body of unknown
    length needs a coroutine here, to count it."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        if scope["type"] != "http":
            return self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit():
            if int(declared) > self.limit:
                return self._refuse(send)
            # The server's HTTP parser ends the body at the declared length: nothing to count.
            return self.app(scope, receive, send)
        return self._counting(scope, receive, send)

    async def _counting(self, scope: Scope, receive: Receive, send: Send) -> None:
        received, refused, started = 0, False, False

        async def counted() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    refused = True
                    if not started:
                        await self._refuse(send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if refused:
                return  # we answered 413; the application's answer has nobody to go to
            started = True
            await send(message)

        await self.app(scope, counted, guarded)

    async def _refuse(self, send: Send) -> None:
        body = refusal(self.limit)
        headers = [(b"content-type", b"application/json"), (b"connection", b"close")]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})
