"""Delivery over real HTTP under pressure: waits abandoned at random moments, concurrent
senders, bursts, and the configured wait bounds as clients see them."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mcpchat.devserver import Server, eventually
from tests.e2e.clients import KINDS, ChatClient, connect
from tests.redis_server import require_redis

MESSAGES = 120


def texts(result: dict[str, Any]) -> list[str]:
    return [i["text"] for i in result["items"] if i["kind"] == "message"]


async def not_waiting(client: ChatClient, client_id: str) -> bool:
    return not (await client.call("get_status", client_id=client_id))["waiting"]


@pytest.fixture(params=["memory", "redis"])
def any_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    """One server on each state backend."""
    env = {"MCPCHAT_REDIS_URL": require_redis()} if request.param == "redis" else {}
    server = Server(tmp_path, env=env).start()
    yield server
    server.stop()


@pytest.mark.parametrize("kind", KINDS)
async def test_waits_abandoned_at_random_moments_lose_and_repeat_nothing(
    any_server: Server, kind: str
) -> None:
    """The reader's waits are cut off by the client (a cancelled request: notifications/
    cancelled in session mode, an aborted POST in sessionless mode) or time out on the
    server at random moments while messages keep arriving."""
    server = any_server
    async with connect(kind, server.mcp_url) as a, connect("fastmcp", server.mcp_url) as b:
        ann = (await a.call("join_room", room_id="race", display_name="Ann"))["client_id"]
        ben = (await b.call("join_room", room_id="race", display_name="Ben"))["client_id"]
        cursor = (await a.call("wait_for_message", client_id=ann, timeout=5))["last_id"]
        rng = random.Random(kind)
        sent = [f"m{i}" for i in range(MESSAGES)]

        async def send_all() -> None:
            for text in sent:
                await b.call("send_message", client_id=ben, message=text)
                await asyncio.sleep(rng.choice([0, 0.003, 0.01, 0.02]))  # pacing, not a wait

        sender = asyncio.create_task(send_all())
        received: list[str] = []
        abandoned = 0
        while not sender.done():
            call = a.call("wait_for_message", client_id=ann, after=cursor, timeout=10)
            roll = rng.random()
            if roll < 0.5:  # the client gives up on the request at a random moment
                try:
                    got = await asyncio.wait_for(call, rng.uniform(0.0005, 0.03))
                except TimeoutError:
                    abandoned += 1
                    continue
            elif roll < 0.65:  # the server times the wait out at once
                call.close()
                got = await a.call("wait_for_message", client_id=ann, after=cursor, timeout=0)
            else:
                got = await call
            received += texts(got)
            cursor = got["last_id"] if got["last_id"] is not None else cursor
        await sender
        while True:  # what is left, until a wait finds nothing more
            got = await a.call("wait_for_message", client_id=ann, after=cursor, timeout=2)
            if not got["items"]:
                break
            received += texts(got)
            cursor = got["last_id"]
        assert received == sent  # each exactly once, in order
        assert abandoned >= 10, abandoned
        await eventually(lambda: not_waiting(b, ann), 60, "every abandoned wait to end")


async def test_concurrent_senders_keep_their_own_order(tmp_path: Path) -> None:
    server = Server(tmp_path, env={"MCPCHAT_ROOM_CAPACITY": "4"}).start()
    try:
        async with (
            connect("fastmcp", server.mcp_url) as reader,
            connect("fastmcp", server.mcp_url) as s1,
            connect("mcp-sdk", server.mcp_url) as s2,
            connect("fastmcp-legacy", server.mcp_url) as s3,
        ):
            me = (await reader.call("join_room", room_id="o", display_name="R"))["client_id"]
            senders = []
            for i, client in enumerate((s1, s2, s3)):
                joined = await client.call("join_room", room_id="o", display_name=f"S{i}")
                senders.append((client, joined["client_id"], f"S{i}"))

            async def talk(client: ChatClient, client_id: str, name: str) -> None:
                for k in range(40):
                    await client.call("send_message", client_id=client_id, message=f"{name}:{k}")

            talking = asyncio.gather(*(talk(*s) for s in senders))
            got: list[str] = []
            cursor = None
            while len(got) < 120:
                result = await reader.call("wait_for_message", client_id=me, after=cursor)
                got += texts(result)
                cursor = result["last_id"]
            await talking
            for _, _, name in senders:
                assert [t for t in got if t.startswith(name)] == [f"{name}:{k}" for k in range(40)]
    finally:
        server.stop()


async def test_a_burst_while_a_wait_is_parked_arrives_whole(server: Server) -> None:
    async with connect("fastmcp", server.mcp_url) as a, connect("mcp-sdk", server.mcp_url) as b:
        ann = (await a.call("join_room", room_id="burst", display_name="Ann"))["client_id"]
        ben = (await b.call("join_room", room_id="burst", display_name="Ben"))["client_id"]
        cursor = (await a.call("wait_for_message", client_id=ann, timeout=5))["last_id"]
        parked = asyncio.create_task(
            a.call("wait_for_message", client_id=ann, after=cursor, timeout=60)
        )
        await eventually(lambda: _waiting(b, ann), 30, "the wait to park")
        await asyncio.gather(
            *(b.call("send_message", client_id=ben, message=f"b{i}") for i in range(30))
        )
        first = await asyncio.wait_for(parked, 60)
        assert len(texts(first)) >= 1  # woken by the first ring
        rest = await a.call("wait_for_message", client_id=ann, after=first["last_id"], timeout=5)
        everything = texts(first) + texts(rest)
        assert sorted(everything) == sorted(f"b{i}" for i in range(30))  # the rest in one go
        assert len(set(everything)) == 30


async def _waiting(client: ChatClient, client_id: str) -> bool:
    return bool((await client.call("get_status", client_id=client_id))["waiting"])


async def test_the_configured_wait_bounds_are_advertised_and_applied(tmp_path: Path) -> None:
    env = {"MCPCHAT_DEFAULT_WAIT": "1", "MCPCHAT_MAX_WAIT": "4"}
    server = Server(tmp_path, env=env).start()
    try:
        async with connect("mcp-sdk", server.mcp_url) as a:
            sdk = a.client  # type: ignore[attr-defined]
            tools = {t.name: t for t in (await sdk.list_tools()).tools}
            timeout = tools["wait_for_message"].input_schema["properties"]["timeout"]
            assert (timeout["default"], timeout["maximum"]) == (1, 4)
            ann = (await a.call("join_room", display_name="Ann"))["client_id"]
            got = await a.call("wait_for_message", client_id=ann)  # no timeout: the default
            assert got["status"] == "timeout" and "in 1 s" in got["hint"]
            refused = await sdk.call_tool("wait_for_message", {"client_id": ann, "timeout": 5})
            assert refused.is_error
            assert refused.structured_content["error"]["code"] == "invalid_input"
    finally:
        server.stop()
