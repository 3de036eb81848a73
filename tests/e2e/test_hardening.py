"""Abuse resistance over real HTTP: waits whose client has gone end, rate limits and caps
refuse with a code and recover, big bodies are refused before they are read, SIGTERM answers
parked waits, and logs hold no message text."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from mcpchat.devserver import ROOT, Server, eventually
from tests.e2e.clients import ChatClient, connect


async def waiting(client: ChatClient, client_id: str) -> bool:
    return bool((await client.call("get_status", client_id=client_id))["waiting"])


@pytest.mark.parametrize("mode", ["legacy", "sessionless"])
@pytest.mark.parametrize("kind", ["daphne", "uvicorn"])
async def test_a_wait_ends_soon_after_its_client_drops_the_connection(
    tmp_path: Path, kind: str, mode: str
) -> None:
    server = Server(tmp_path, server=kind).start()
    try:
        async with connect("fastmcp", server.mcp_url) as a:
            ann = (await a.call("join_room", room_id="alone"))["client_id"]
            waiter = subprocess.Popen(
                [sys.executable, "-m", "tests.e2e.waiter", server.mcp_url, ann, mode],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                text=True,
            )
            try:
                await eventually(lambda: waiting(a, ann), 30, "the wait to park")
                waiter.kill()  # the connection drops; the wait asked for 300 s
                waiter.wait(10)
            finally:
                waiter.kill()
            # Nothing rings it: only noticing the dropped client ends it this soon. (Its lease
            # is renewed while it runs, so "waiting" stays true until the wait really ends.)
            await eventually(lambda: _not(waiting(a, ann)), 30, "the abandoned wait to end")
    finally:
        server.stop()


async def _not(value: object) -> bool:
    return not await value  # type: ignore[misc]


@pytest.mark.parametrize("kind", ["daphne", "uvicorn"])
async def test_sigterm_answers_parked_waits_before_the_process_exits(
    tmp_path: Path, kind: str
) -> None:
    server = Server(tmp_path, server=kind).start()
    try:
        async with (
            connect("fastmcp", server.mcp_url) as a,
            connect("fastmcp-legacy", server.mcp_url) as b,
            connect("mcp-sdk", server.mcp_url) as c,
        ):
            waits = []
            for i, client in enumerate((a, b, c, a, b, c)):
                me = (await client.call("join_room", room_id=f"r{i}"))["client_id"]
                waits.append(
                    asyncio.create_task(client.call("wait_for_message", client_id=me, timeout=120))
                )
                await eventually(lambda: waiting(client, me), 30, "the wait to park")  # noqa: B023
            assert server.proc is not None
            server.proc.send_signal(signal.SIGTERM)
            answers = await asyncio.wait_for(asyncio.gather(*waits), 60)
            assert [w["status"] for w in answers] == ["timeout"] * 6
            assert all("restarting" in w["hint"] for w in answers)
            assert server.proc.wait(60) is not None  # and then it stops
    finally:
        server.stop()
