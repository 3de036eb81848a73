"""What McpMount puts around one /mcp request: FastMCP's Host/Origin check before it, and the
send, and the future that tells the request's tools when their client has gone.

Their shapes keep what a parked `wait_for_message` holds small: its request lasts as long as
the wait, and everything alive per request is paid once per parked wait (docs/PERFORMANCE.md).
"""

from __future__ import annotations

import asyncio
import logging

from fastmcp.server.http import HostOriginGuardMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("chat.mcp")


def mcp_allowed_hosts(django_hosts: list[str]) -> list[str]:
    """Django's ALLOWED_HOSTS as FastMCP's Host patterns: ".example.com" means the domain and
    its subdomains in Django, "example.com" and "*.example.com" in fnmatch."""
    patterns: list[str] = []
    for host in django_hosts:
        if host.startswith("."):
            patterns += [host[1:], f"*{host}"]
        else:
            patterns.append(host)
    return patterns


def host_origin_guard(django_hosts: list[str], origins: list[str]) -> HostOriginGuardMiddleware:
    """FastMCP's DNS-rebinding check, as the MCP spec asks of HTTP servers: a foreign Host gets
    421 and a foreign Origin 403 before any tool runs; clients that send no Origin (every
    non-browser client) are served. Django's ALLOWED_HOSTS are its Host patterns."""
    return HostOriginGuardMiddleware(
        _passed,
        allowed_hosts=mcp_allowed_hosts(django_hosts),
        allowed_origins=origins,
        mode="strict",
    )


async def let_through(guard: ASGIApp, scope: Scope, receive: Receive, send: Send) -> bool:
    """Run FastMCP's guard as a check before the MCP app, not as the middleware around it
    (`http_app(host_origin_protection=True)`): around it, its frame and the headers it parsed
    stay alive for as long as a parked wait's request lasts. True if it let the request
    through; otherwise it has answered (421 or 403)."""
    await guard(scope, receive, send)
    return bool(scope.pop(_PASSED, False))


_PASSED = "mcpchat.host_origin_passed"


async def _passed(scope: Scope, receive: Receive, send: Send) -> None:
    scope[_PASSED] = True


class Exchange:
    """One /mcp request's answer, as the MCP app sends it, and when the request has ended.

    Tools learn when their client has gone (chat/mcp_requests.py): `gone` resolves once the
    request has ended while the call still runs (McpMount). A client that drops its
    connection ends its request (the MCP SDK stops its answer stream on the disconnect;
    tests/e2e/test_hardening.py checks it on both servers and protocol modes). In
    session mode the call itself goes on, and without `gone` a dropped client's wait would
    run to its timeout. The request's receive is handed through untouched: a wrapper around
    it would be one more coroutine alive per parked wait, and tell nothing the end does not.
    A slotted object rather than closures: a parked wait's request keeps it alive."""

    __slots__ = ("_send", "answered", "gone")

    def __init__(self, send: Send) -> None:
        self._send = send
        self.gone: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.answered = False

    async def send(self, message: Message) -> None:
        # The MCP SDK answers a notification (202) before it hands it on, and if the session
        # it belongs to closed meanwhile it answers again, with an error. Daphne drops that
        # second answer; uvicorn raises, which would log a traceback. The first answer stands.
        if self.answered:
            log.debug("dropped a second answer to one request")
            return
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            self.answered = True
        await self._send(message)
