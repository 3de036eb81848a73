"""The chat window as MCP clients see it: which tools point at it, and a page that needs
nothing from the network and shows other people's text only as text."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastmcp import Client
from mcp.client import advertise

from chat import runtime
from chat.mcp_app import mcp

URI = "ui://mcpchat/chat"


@pytest.fixture
def client(mcp_client: Client[Any]) -> Client[Any]:
    return mcp_client  # here `client` is the MCP client, not pytest-django's


async def test_enter_queue_and_join_room_point_at_the_window(client: Client[Any]) -> None:
    tools = {t.name: t for t in await client.list_tools()}
    with_window = {n for n, t in tools.items() if (t.meta or {}).get("ui", {}).get("resourceUri")}
    assert with_window == {"enter_queue", "join_room"}
    assert tools["join_room"].meta["ui"]["resourceUri"] == URI  # type: ignore[index]
    only_for_the_window = {
        n for n, t in tools.items() if (t.meta or {}).get("ui", {}).get("visibility") == ["app"]
    }
    assert only_for_the_window == {"show_typing"}


async def test_the_window_is_one_self_contained_page(client: Client[Any]) -> None:
    listed = {str(r.uri): r for r in await client.list_resources()}
    assert listed[URI].mime_type == "text/html;profile=mcp-app"
    (page,) = await client.read_resource(URI)
    html = page.text  # type: ignore[union-attr]
    assert html.startswith("<!doctype html>") and "McpExtApps" in html and "new App(" in html
    # Works offline, in a frame that may load nothing: no script, style or image from outside.
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", html, re.I)
    assert "@modelcontextprotocol/ext-apps 2.0.4" in html  # the vendored SDK says its version
    # Other people's words are set as text, never parsed as HTML.
    script = html[html.index("// The chat window") :]
    assert "textContent" in script
    assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write", script)


async def test_only_a_client_that_shows_apps_is_told_the_window_chats() -> None:
    ui = advertise("io.modelcontextprotocol/ui", {"mimeTypes": ["text/html;profile=mcp-app"]})
    runtime.reset_service()
    async with Client(mcp) as plain, Client(mcp, extensions=[ui]) as host:
        for c, shown in ((plain, False), (host, True)):
            joined = (await c.call_tool("join_room", {"room_id": f"r{shown}"})).structured_content
            queued = (await c.call_tool("enter_queue", {})).structured_content
            for result in (joined, queued):
                assert result is not None
                assert ("chat window" in result["hint"]) is shown, result["hint"]
    runtime.reset_service()
