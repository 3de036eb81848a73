"""Whole conversations over HTTP against a real daphne, with each kind of real client."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from mcpchat.devserver import Server
from tests.e2e.clients import KINDS, connect

MIXES = [(k, k) for k in KINDS] + list(itertools.combinations(KINDS, 2))


@pytest.mark.parametrize(("kind_a", "kind_b"), MIXES)
async def test_strangers_meet_in_the_queue_and_talk(
    server: Server, kind_a: str, kind_b: str
) -> None:
    async with connect(kind_a, server.mcp_url) as a, connect(kind_b, server.mcp_url) as b:
        alice = await a.call("enter_queue", display_name="Alice")
        assert alice["status"] == "waiting"
        ca = alice["client_id"]
        matched = asyncio.create_task(a.call("wait_for_message", client_id=ca, timeout=20))
        bob = await b.call("enter_queue", display_name="Bob")
        cb = bob["client_id"]
        assert bob["status"] == "matched" and bob["partner"] == "Alice"
        first = await matched
        assert [(i["event"], i["sender"]) for i in first["items"]] == [("matched", "Bob")]

        reply = asyncio.create_task(b.call("wait_for_message", client_id=cb, timeout=20))
        await a.call("send_message", client_id=ca, message="Hi Bob! 👋")
        got = await reply
        assert [(i["sender"], i["text"]) for i in got["items"]] == [("Alice", "Hi Bob! 👋")]
        await b.call("send_message", client_id=cb, message="Hello Alice")
        back = await a.call("wait_for_message", client_id=ca, after=first["last_id"], timeout=20)
        assert [i["text"] for i in back["items"]] == ["Hello Alice"]

        await b.call("leave_chat", client_id=cb)
        bye = await a.call("wait_for_message", client_id=ca, after=back["last_id"], timeout=20)
        assert [(i["event"], i["sender"]) for i in bye["items"]] == [("left", "Bob")]
        assert "Nobody else" in await a.fail("send_message", client_id=ca, message="still there?")


@pytest.mark.parametrize("kind", KINDS)
async def test_friends_meet_in_a_private_room(server: Server, kind: str) -> None:
    async with connect(kind, server.mcp_url) as a, connect(kind, server.mcp_url) as b:
        host = await a.call("join_room", display_name="Host")
        room = host["room_id"]
        assert host["created"] and len(room) >= 22
        guest = await b.call("join_room", room_id=room, display_name="Guest")
        assert guest["members"] == ["Host", "Guest"]
        joined = await a.call("wait_for_message", client_id=host["client_id"], timeout=10)
        assert [(i["event"], i["sender"]) for i in joined["items"]] == [("joined", "Guest")]
        await b.call("send_message", client_id=guest["client_id"], room_id=room, message="knock")
        got = await a.call(
            "wait_for_message",
            client_id=host["client_id"],
            room_id=room,
            after=joined["last_id"],
            timeout=10,
        )
        assert [i["text"] for i in got["items"]] == ["knock"]
        assert "full" in await b.fail("join_room", room_id=room, display_name="Third")


async def test_identity_does_not_depend_on_the_mcp_session(server: Server) -> None:
    """Every call from a fresh client (a new session each time) still acts as the same user."""
    async with connect("fastmcp-legacy", server.mcp_url) as first:
        me = await first.call("join_room", room_id="lobby", display_name="Nomad")
    async with connect("mcp-sdk", server.mcp_url) as second:
        friend = await second.call("join_room", room_id="lobby", display_name="Friend")
    async with connect("fastmcp", server.mcp_url) as third:
        await third.call("send_message", client_id=me["client_id"], message="same me")
    async with connect("fastmcp-legacy", server.mcp_url) as fourth:
        got = await fourth.call("wait_for_message", client_id=friend["client_id"], timeout=5)
        assert [(i["sender"], i["text"]) for i in got["items"]] == [("Nomad", "same me")]
