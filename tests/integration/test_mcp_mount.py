"""McpMount between the server and FastMCP's app: what it passes on and what it holds back."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from starlette.requests import Request
from starlette.types import Message, Receive, Scope, Send

from mcpchat.mcp_mount import MCP_PATH, McpMount


def started_mount(app: Any) -> McpMount:
    mount = McpMount(app)
    started = asyncio.get_running_loop().create_future()
    started.set_result(None)
    mount._ready = started  # FastMCP's lifespan is not what is under test
    return mount


async def test_a_second_answer_to_one_request_is_dropped() -> None:
    """The MCP SDK answers a notification with 202 and, when its session closed meanwhile,
    answers again with a 500: uvicorn raises on that, which logged a traceback (seen in the
    Redis soak). The client keeps the first answer; nothing escapes to the server."""

    async def answers_twice(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 202, "headers": []})
        await send({"type": "http.response.body", "body": b""})
        await send({"type": "http.response.start", "status": 500, "headers": []})
        await send({"type": "http.response.body", "body": b"Error handling POST request"})

    mount = started_mount(answers_twice)
    sent: list[Message] = []

    async def server_send(message: Message) -> None:
        if sent and sent[-1]["type"] == "http.response.body" and not sent[-1].get("more_body"):
            raise RuntimeError("Unexpected ASGI message sent, after response already completed.")
        sent.append(message)

    async def receive() -> Message:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    scope: dict[str, Any] = {"type": "http", "method": "POST", "path": MCP_PATH, "headers": []}
    await mount(scope, receive, server_send)
    assert [(m["type"], m.get("status")) for m in sent] == [
        ("http.response.start", 202),
        ("http.response.body", None),
    ]


async def test_a_client_gone_before_its_body_arrived_is_no_server_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Uvicorn calls the app before the request body is in. A client killed mid-upload makes
    the MCP SDK's body read raise starlette's ClientDisconnect, which uvicorn logged as an
    "Exception in ASGI application" (seen in the Redis soak). Nobody is left to answer."""

    async def reads_the_body(scope: Scope, receive: Receive, send: Send) -> None:
        await Request(scope, receive).body()  # as the MCP SDK does
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    parts = iter(
        [
            {"type": "http.request", "body": b'{"jsonrpc":', "more_body": True},
            {"type": "http.disconnect"},
        ]
    )

    async def receive() -> Message:
        return next(parts)

    sent: list[Message] = []

    async def server_send(message: Message) -> None:
        sent.append(message)

    scope: dict[str, Any] = {"type": "http", "method": "POST", "path": MCP_PATH, "headers": []}
    with caplog.at_level(logging.INFO):
        await started_mount(reads_the_body)(scope, receive, server_send)
    assert sent == []
    assert not caplog.records
