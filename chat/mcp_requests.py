"""What a tool may know about the HTTP request that carried its call: who sent it (the
client address, for per-address limits) and whether that client is still there."""

from __future__ import annotations

import asyncio

from django.conf import settings
from fastmcp.server.dependencies import get_http_request

GONE = "mcpchat.client_gone"  # scope key: a future McpMount resolves when the request ends


def client_address() -> str | None:
    """The caller's address: the last entry of the configured trusted proxy header (the one
    our own proxy appended), else the peer address. None outside HTTP."""
    try:
        request = get_http_request()
    except RuntimeError:
        return None
    header = settings.MCPCHAT_TRUSTED_PROXY_HEADER
    if header:
        forwarded = request.headers.get(header, "")
        if forwarded.strip():
            return forwarded.split(",")[-1].strip()
    return request.client.host if request.client else None


def client_gone() -> asyncio.Future[None] | None:
    """Resolved once the HTTP request that carried this call has ended: the client cannot
    receive an answer any more (McpMount sets it)."""
    try:
        request = get_http_request()
    except RuntimeError:
        return None
    gone = request.scope.get(GONE)
    return gone if isinstance(gone, asyncio.Future) else None
