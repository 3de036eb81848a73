"""The loss cases of the original, proven over HTTP against a real daphne."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from mcpchat.devserver import Server, eventually
from tests.e2e.clients import ChatClient, connect
from tests.e2e.waiter import start_waiter


async def pair(a: ChatClient, b: ChatClient) -> tuple[str, str, int]:
    """Ann and Ben in a room; returns their ids and Ann's cursor after the 'joined' event."""
    ann = await a.call("join_room", room_id="r1", display_name="Ann")
    ben = await b.call("join_room", room_id="r1", display_name="Ben")
    joined = await a.call("wait_for_message", client_id=ann["client_id"], timeout=5)
    return ann["client_id"], ben["client_id"], joined["last_id"]


def texts(result: dict[str, Any]) -> list[str]:
    return [i["text"] for i in result["items"] if i["kind"] == "message"]


async def test_messages_wait_for_a_recipient_who_is_not_listening(server: Server) -> None:
    async with connect("fastmcp", server.mcp_url) as a, connect("mcp-sdk", server.mcp_url) as b:
        ann, ben, cursor = await pair(a, b)
        for i in range(30):  # sent while Ann is not waiting
            await b.call("send_message", client_id=ben, message=f"m{i}")
        got = await a.call("wait_for_message", client_id=ann, after=cursor, timeout=5)
        assert texts(got) == [f"m{i}" for i in range(30)]  # in order, in one batch


async def test_full_mailbox_tells_the_sender(tmp_path: Any) -> None:
    server = Server(tmp_path, env={"MCPCHAT_MAILBOX_SIZE": "3"}).start()
    try:
        async with connect("fastmcp", server.mcp_url) as a, connect("fastmcp", server.mcp_url) as b:
            ann, ben, cursor = await pair(a, b)
            for i in range(3):
                await b.call("send_message", client_id=ben, message=f"m{i}")
            assert "Ann has 3 unread" in await b.fail("send_message", client_id=ben, message="x")
            got = await a.call("wait_for_message", client_id=ann, after=cursor, timeout=5)
            assert texts(got) == ["m0", "m1", "m2"]
    finally:
        server.stop()


async def test_overlapping_waits_newer_wins(server: Server) -> None:
    async with (
        connect("fastmcp", server.mcp_url) as a,
        connect("fastmcp", server.mcp_url) as b,
        connect("mcp-sdk", server.mcp_url) as c,
    ):
        ann, ben, cursor = await pair(a, b)
        old = asyncio.create_task(
            a.call("wait_for_message", client_id=ann, after=cursor, timeout=30)
        )
        await _until_waiting(c, ann)
        new = asyncio.create_task(
            c.call("wait_for_message", client_id=ann, after=cursor, timeout=30)
        )
        old_result = await asyncio.wait_for(old, 10)
        assert old_result["status"] == "superseded" and old_result["items"] == []
        await _until_waiting(c, ann)
        await b.call("send_message", client_id=ben, message="once")
        got = await asyncio.wait_for(new, 10)
        assert texts(got) == ["once"]
        rest = await a.call("wait_for_message", client_id=ann, after=got["last_id"], timeout=0)
        assert rest["items"] == []


async def _until_waiting(client: ChatClient, client_id: str) -> None:
    async def waiting() -> bool:
        return bool((await client.call("get_status", client_id=client_id))["waiting"])

    await eventually(waiting, 10, "the wait to start")


@pytest.mark.parametrize("mode", ["legacy", "sessionless"])
async def test_a_client_killed_mid_wait_gets_its_messages_on_the_next_wait(
    server: Server, mode: str
) -> None:
    async with connect("fastmcp", server.mcp_url) as a, connect("fastmcp", server.mcp_url) as b:
        ann, ben, cursor = await pair(a, b)
        await a.call("wait_for_message", client_id=ann, after=cursor, timeout=0)  # confirm
        waiter = start_waiter(server.mcp_url, ann, mode)
        try:
            await _until_waiting(b, ann)
            waiter.kill()  # vanishes without a word while its wait (300 s) is parked
            waiter.wait(10)
        finally:
            waiter.kill()
        await b.call("send_message", client_id=ben, message="did you get this?")
        await b.call("send_message", client_id=ben, message="and this?")
        # The orphaned wait ends long before its 300 s: either the server noticed its client
        # was gone, or the doorbell woke it and it handed the messages to a dead connection.
        await _until_not_waiting(b, ann)
        status = await b.call("get_status", client_id=ann)
        assert status["pending"] == 2  # nothing was confirmed by the dead client
        # The next wait, confirming only what the client really saw, gets both again.
        got = await a.call("wait_for_message", client_id=ann, after=cursor, timeout=10)
        assert texts(got) == ["did you get this?", "and this?"]
        done = await a.call("wait_for_message", client_id=ann, after=got["last_id"], timeout=0)
        assert done["items"] == []
        assert (await b.call("get_status", client_id=ann))["pending"] == 0


async def _until_not_waiting(client: ChatClient, client_id: str) -> None:
    async def idle() -> bool:
        return not (await client.call("get_status", client_id=client_id))["waiting"]

    await eventually(idle, 60, "the orphaned wait to end")


async def test_a_wait_longer_than_30_seconds_reports_progress(server: Server) -> None:
    async with connect("fastmcp", server.mcp_url) as a, connect("mcp-sdk", server.mcp_url) as b:
        ann, ben, cursor = await pair(a, b)
        ticks: list[float] = []

        async def progress(done: float, total: float | None, message: str | None) -> None:
            ticks.append(done)

        wait = asyncio.create_task(
            a.call("wait_for_message", progress, client_id=ann, after=cursor, timeout=60)
        )
        await eventually(lambda: ticks and ticks[-1] >= 30, 50, "progress past 30 s")
        await b.call("send_message", client_id=ben, message="worth the wait")
        got = await asyncio.wait_for(wait, 10)
        assert texts(got) == ["worth the wait"]
        assert len(ticks) >= 2 and ticks == sorted(ticks)


async def test_a_timeout_is_a_plain_result(server: Server) -> None:
    async with connect("mcp-sdk", server.mcp_url) as a, connect("fastmcp", server.mcp_url) as b:
        ann, _, cursor = await pair(a, b)
        got = await a.call("wait_for_message", client_id=ann, after=cursor, timeout=0.5)
        assert got["status"] == "timeout" and got["items"] == []
