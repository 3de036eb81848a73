"""Two Redis-backed daphne processes serve one chat: any request may land on either, either may
die, and both may restart, while chats go on."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from mcpchat.devserver import Server, eventually
from tests.e2e.clients import ChatClient, connect


def texts(result: dict[str, Any]) -> list[str]:
    return [i["text"] for i in result["items"] if i["kind"] == "message"]


async def receive(client: ChatClient, client_id: str, cursor: int | None, count: int) -> Any:
    """Wait until `count` messages came in; returns them and the new cursor."""
    got: list[str] = []
    while len(got) < count:
        result = await client.call(
            "wait_for_message", client_id=client_id, after=cursor, timeout=20
        )
        assert result["status"] != "timeout", f"only {got} of {count} arrived"
        got += texts(result)
        cursor = result["last_id"] if result["last_id"] is not None else cursor
    return got, cursor


async def test_people_on_different_processes_are_matched_and_talk(
    cluster: list[Server],
) -> None:
    p0, p1 = cluster
    async with connect("fastmcp", p0.mcp_url) as a, connect("mcp-sdk", p1.mcp_url) as b:
        ann = await a.call("enter_queue", display_name="Ann")
        assert ann["status"] == "waiting"
        ben = await b.call("enter_queue", display_name="Ben")
        assert ben["status"] == "matched" and ben["partner"] == "Ann"
        matched = await a.call("wait_for_message", client_id=ann["client_id"], timeout=20)
        assert [(i["event"], i["sender"]) for i in matched["items"]] == [("matched", "Ben")]
        # Ann's wait parks on process 0; Ben's message lands on process 1 and rings it.
        parked = asyncio.create_task(
            a.call(
                "wait_for_message", client_id=ann["client_id"], after=matched["last_id"], timeout=60
            )
        )
        await eventually(lambda: _waiting(b, ann["client_id"]), 30, "Ann's wait to park")
        await b.call("send_message", client_id=ben["client_id"], message="hi from process 1")
        assert texts(await asyncio.wait_for(parked, 60)) == ["hi from process 1"]
        await a.call("send_message", client_id=ann["client_id"], message="hi from process 0")
        got, _ = await receive(b, ben["client_id"], None, 1)
        assert got == ["hi from process 0"]


async def _waiting(client: ChatClient, client_id: str) -> bool:
    return bool((await client.call("get_status", client_id=client_id))["waiting"])


async def test_one_clients_requests_alternate_between_processes(cluster: list[Server]) -> None:
    p0, p1 = cluster
    async with (
        connect("fastmcp", p0.mcp_url) as a0,
        connect("fastmcp", p1.mcp_url) as a1,
        connect("fastmcp", p0.mcp_url) as b,
    ):
        ann = (await a0.call("join_room", room_id="alt", display_name="Ann"))["client_id"]
        ben = (await a1.call("join_room", room_id="alt", display_name="Ben"))["client_id"]
        cursor = (await a1.call("wait_for_message", client_id=ann, timeout=20))["last_id"]
        sent = [f"m{i}" for i in range(60)]

        async def send_all() -> None:
            for i, text in enumerate(sent):  # Ben alternates too
                await (b if i % 2 else a1).call("send_message", client_id=ben, message=text)

        sender = asyncio.create_task(send_all())
        received: list[str] = []
        turn = 0
        while len(received) < len(sent):
            client = (a0, a1)[turn % 2]
            turn += 1
            result = await client.call("wait_for_message", client_id=ann, after=cursor, timeout=20)
            assert result["status"] != "timeout", received
            received += texts(result)
            cursor = result["last_id"] if result["last_id"] is not None else cursor
        await sender
        assert received == sent  # nothing lost, nothing repeated, in order
        assert turn > 2


async def test_a_hundred_people_entering_at_once_are_each_paired_exactly_once(
    cluster: list[Server],
) -> None:
    p0, p1 = cluster
    async with connect("fastmcp", p0.mcp_url) as c0, connect("fastmcp", p1.mcp_url) as c1:
        entered = await asyncio.gather(
            *((c0, c1)[i % 2].call("enter_queue", display_name=f"P{i}") for i in range(100))
        )
        ids = [e["client_id"] for e in entered]
        assert len(set(ids)) == 100

        async def room_of(i: int, client_id: str) -> str:
            client = (c0, c1)[i % 2]

            async def placed() -> str | None:
                status = await client.call("get_status", client_id=client_id)
                return status["room_id"] if status["state"] == "in_room" else None

            return str(await eventually(placed, 60, f"P{i} to be matched"))

        rooms = await asyncio.gather(*(room_of(i, cid) for i, cid in enumerate(ids)))
        assert sorted(Counter(rooms).values()) == [2] * 50  # fifty rooms of two


async def test_a_killed_process_loses_no_message(cluster: list[Server]) -> None:
    p0, p1 = cluster
    async with connect("fastmcp", p0.mcp_url) as a, connect("fastmcp", p1.mcp_url) as b1:
        ann = (await a.call("join_room", room_id="crash", display_name="Ann"))["client_id"]
        ben = (await b1.call("join_room", room_id="crash", display_name="Ben"))["client_id"]
        await a.call("wait_for_message", client_id=ann, timeout=20)
        for i in range(5):
            await b1.call("send_message", client_id=ben, message=f"before {i}")
        await a.call("send_message", client_id=ann, message="for Ben")
        p1.kill()  # Ben's process dies with his message unread
    async with connect("fastmcp", p0.mcp_url) as a, connect("mcp-sdk", p0.mcp_url) as b0:
        got, cursor = await receive(a, ann, None, 5)
        assert got == [f"before {i}" for i in range(5)]
        for i in range(5):
            await b0.call("send_message", client_id=ben, message=f"after {i}")
        more, _ = await receive(a, ann, cursor, 5)
        assert more == [f"after {i}" for i in range(5)]
        bens, _ = await receive(b0, ben, None, 1)
        assert bens == ["for Ben"]


async def test_restarting_every_process_ends_no_chat(cluster: list[Server]) -> None:
    p0, p1 = cluster
    async with connect("fastmcp", p0.mcp_url) as a, connect("fastmcp", p1.mcp_url) as b:
        ann = (await a.call("enter_queue", display_name="Ann"))["client_id"]
        ben = (await b.call("enter_queue", display_name="Ben"))["client_id"]
        cursor = (await a.call("wait_for_message", client_id=ann, timeout=20))["last_id"]
        await b.call("send_message", client_id=ben, message="see you after the restart")
    p0.restart()
    p1.restart()
    async with connect("fastmcp", p1.mcp_url) as a, connect("fastmcp", p0.mcp_url) as b:
        got, cursor = await receive(a, ann, cursor, 1)
        assert got == ["see you after the restart"]
        status = await b.call("get_status", client_id=ben)
        assert status["state"] == "in_room" and status["members"] == ["Ann", "Ben"]
        await b.call("send_message", client_id=ben, message="still here")
        assert (await receive(a, ann, cursor, 1))[0] == ["still here"]
