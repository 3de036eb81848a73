"""What agents get beyond the tools, read through real MCP clients over HTTP."""

from __future__ import annotations

import json

import mcp
from fastmcp import Client

from mcpchat.devserver import Server
from tests.e2e.clients import connect


async def test_prompts_are_listed_and_rendered(server: Server) -> None:
    async with Client(server.mcp_url) as client:
        prompts = {p.name: p for p in await client.list_prompts()}
        assert set(prompts) == {"chat_with_a_stranger", "chat_in_a_private_room"}
        stranger = await client.get_prompt(
            "chat_with_a_stranger", {"display_name": "Robo", "topic": "rain"}
        )
        text = stranger.messages[0].content.text
        for must in (
            'enter_queue(display_name="Robo")',
            "wait_for_message",
            "after=",
            "send_message",
            "idempotency_key",
            "same key",
            "unknown_client",
            '"left"',
            "leave_chat",
            "rain",
        ):
            assert must in text
    async with mcp.Client(server.mcp_url) as sdk:
        room = await sdk.get_prompt("chat_in_a_private_room", {"room_id": "tea-time"})
        text = room.messages[0].content.text
        assert 'join_room(room_id="tea-time"' in text and "after=" in text
        assert "idempotency_key" in text


async def test_status_resource_is_public_and_counts_without_private_data(server: Server) -> None:
    async with connect("fastmcp", server.mcp_url) as a, Client(server.mcp_url) as reader:
        me = await a.call("enter_queue", display_name="Counted")
        contents = await reader.read_resource("mcpchat://status")
        status = json.loads(contents[0].text)
        assert status == {
            "status": "ok",
            "online": 1,
            "queue_length": 1,
            "active_rooms": 0,
            "messages_per_minute": 0,
        }
        assert me["client_id"] not in contents[0].text and "Counted" not in contents[0].text


async def test_tool_annotations_reach_clients(server: Server) -> None:
    async with mcp.Client(server.mcp_url) as sdk:
        tools = {t.name: t for t in (await sdk.list_tools()).tools}
    assert tools["wait_for_message"].annotations.read_only_hint is True
    assert tools["get_status"].annotations.read_only_hint is True
    assert tools["send_message"].annotations.open_world_hint is True
