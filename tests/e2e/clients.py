"""The three kinds of real MCP client the e2e tests drive, behind one small interface."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Protocol

import mcp
from fastmcp import Client as FastMCPClient

ProgressFn = Callable[[float, float | None, str | None], Awaitable[None]]
KINDS = ["fastmcp", "fastmcp-legacy", "mcp-sdk"]


class ChatClient(Protocol):
    async def call(self, tool: str, progress: ProgressFn | None = None, **args: Any) -> Any: ...
    async def fail(self, tool: str, **args: Any) -> str: ...


class FastMCPChat:
    def __init__(self, client: FastMCPClient[Any]) -> None:
        self.client = client

    async def call(self, tool: str, progress: ProgressFn | None = None, **args: Any) -> Any:
        result = await self.client.call_tool(tool, args, progress_handler=progress)
        return result.structured_content

    async def fail(self, tool: str, **args: Any) -> str:
        result = await self.client.call_tool(tool, args, raise_on_error=False)
        assert result.is_error
        return str(result.content[0].text)


class SdkChat:
    def __init__(self, client: mcp.Client) -> None:
        self.client = client

    async def call(self, tool: str, progress: ProgressFn | None = None, **args: Any) -> Any:
        result = await self.client.call_tool(tool, args, progress_callback=progress)
        assert not result.is_error, result.content
        return result.structured_content

    async def fail(self, tool: str, **args: Any) -> str:
        result = await self.client.call_tool(tool, args)
        assert result.is_error
        return str(result.content[0].text)


@asynccontextmanager
async def connect(kind: str, url: str) -> AsyncIterator[ChatClient]:
    if kind == "mcp-sdk":
        async with mcp.Client(url) as sdk:
            yield SdkChat(sdk)
        return
    mode = {"mode": "legacy"} if kind == "fastmcp-legacy" else {}
    async with FastMCPClient(url, timeout=400, **mode) as client:
        yield FastMCPChat(client)
