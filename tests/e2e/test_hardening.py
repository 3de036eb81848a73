"""Abuse resistance over real HTTP: waits whose client has gone end, rate limits and caps
refuse with a code and recover, big bodies are refused before they are read, SIGTERM answers
parked waits, and logs hold no message text."""

from __future__ import annotations

import asyncio
import contextlib
import json
import select
import signal
import socket
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from fastmcp import Client
from fastmcp.client.transports import StreamableHttpTransport

from mcpchat.cli import SERVERS
from mcpchat.devserver import Server, eventually
from tests.e2e.clients import ChatClient, connect
from tests.e2e.test_serving import INITIALIZE, post
from tests.e2e.waiter import start_waiter
from tests.redis_server import require_redis


async def waiting(client: ChatClient, client_id: str) -> bool:
    return bool((await client.call("get_status", client_id=client_id))["waiting"])


@pytest.mark.parametrize("mode", ["legacy", "sessionless"])
@pytest.mark.parametrize("kind", SERVERS)
async def test_a_wait_ends_soon_after_its_client_drops_the_connection(
    tmp_path: Path, kind: str, mode: str
) -> None:
    server = Server(tmp_path, server=kind).start()
    try:
        async with connect("fastmcp", server.mcp_url) as a:
            ann = (await a.call("join_room", room_id="alone"))["client_id"]
            waiter = start_waiter(server.mcp_url, ann, mode)
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


@pytest.mark.parametrize("kind", SERVERS)
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


def _http_head(port: int, extra: str) -> socket.socket:
    sock = socket.socket()
    # Small kernel buffers, so what this client has sent is close to what the server has read.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 32768)
    sock.settimeout(30)
    sock.connect(("127.0.0.1", port))
    sock.sendall(
        f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Accept: application/json, text/event-stream\r\n{extra}\r\n".encode()
    )
    return sock


def _answer(sock: socket.socket) -> bytes:
    got = b""
    with contextlib.suppress(OSError):
        while b"\r\n\r\n" not in got:
            chunk = sock.recv(65536)
            if not chunk:
                break
            got += chunk
    return got


@pytest.mark.parametrize("kind", SERVERS)
def test_a_big_body_is_refused_before_it_is_read(tmp_path: Path, kind: str) -> None:
    limit = 100_000
    server = Server(tmp_path, server=kind, env={"MCPCHAT_MAX_BODY_BYTES": str(limit)}).start()
    try:
        # Declared too big: refused from the headers, not one body byte sent.
        with _http_head(server.port, "Content-Length: 200000000\r\n") as sock:
            assert _answer(sock).startswith(b"HTTP/1.1 413")
        # Streamed without a length: refused once the bytes pass the limit, long before the
        # 200 MB this client would send.
        with _http_head(server.port, "Transfer-Encoding: chunked\r\n") as sock:
            chunk = b"%x\r\n%s\r\n" % (16384, b"x" * 16384)
            sent = 0
            with contextlib.suppress(OSError):  # the server closes on us: expected
                while sent < 200_000_000:
                    sock.sendall(chunk)
                    sent += 16384
                    if select.select([sock], [], [], 0)[0]:
                        break
            assert sent < 20 * limit, sent
            assert _answer(sock).startswith(b"HTTP/1.1 413")
        # Within the limit all is as before.
        status, _ = post(server.mcp_url, {"jsonrpc": "2.0", "id": 1, "method": "ping"})
        assert status != 413
    finally:
        server.stop()


def _open_session(url: str) -> tuple[int, str | None]:
    headers = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
    request = urllib.request.Request(url, json.dumps(INITIALIZE).encode(), headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, r.headers.get("mcp-session-id")
    except urllib.error.HTTPError as e:
        return e.code, None


def test_open_sessions_are_capped_and_free_up_when_one_ends(tmp_path: Path) -> None:
    server = Server(tmp_path, env={"MCPCHAT_MAX_SESSIONS": "3"}).start()
    try:
        opened = [_open_session(server.mcp_url) for _ in range(3)]
        assert [status for status, _ in opened] == [200] * 3
        assert _open_session(server.mcp_url) == (503, None)
        session = opened[0][1]
        assert session is not None
        status, _ = post(
            server.mcp_url, {"jsonrpc": "2.0", "id": 2, "method": "ping"}, session=session
        )
        assert status == 200  # those open go on
        delete = urllib.request.Request(
            server.mcp_url, method="DELETE", headers={"mcp-session-id": session}
        )
        with urllib.request.urlopen(delete, timeout=10) as r:
            assert r.status == 200
        assert _open_session(server.mcp_url)[0] == 200
    finally:
        server.stop()


async def test_limits_hold_across_processes_and_answer_with_a_code(tmp_path: Path) -> None:
    env = {
        "MCPCHAT_REDIS_URL": require_redis(),
        "DJANGO_SQLITE_PATH": str(tmp_path / "db.sqlite3"),
        "MCPCHAT_ADDRESS_IDENTITY_RATE": "1",  # per minute: no refill within the test
        "MCPCHAT_ADDRESS_IDENTITY_BURST": "3",
    }
    servers = [Server(tmp_path / f"p{i}", env=env, limits={}).start() for i in range(2)]
    try:
        clients = [Client(s.mcp_url) for s in servers]
        async with clients[0] as one, clients[1] as two:
            for i in range(3):
                got = await (one, two)[i % 2].call_tool("enter_queue", {})
                assert not got.is_error
            for client in (one, two):
                refused = await client.call_tool("enter_queue", {}, raise_on_error=False)
                assert refused.is_error
                error = refused.structured_content["error"]
                assert error["code"] == "rate_limited" and error["retry_after"] > 1
                assert "try again in" in error["message"]
    finally:
        for s in servers:
            s.stop()


@pytest.mark.parametrize("kind", SERVERS)
async def test_logs_hold_no_chat_and_refusals_are_short_and_few(tmp_path: Path, kind: str) -> None:
    # The most verbose the server can be: ours at DEBUG, and daphne -v 2 (root logger at
    # DEBUG) or uvicorn's trace level (every ASGI message it passes).
    loudest = {"daphne": ["-v", "2"], "uvicorn": ["--log-level", "trace"]}[kind]
    env = {"MCPCHAT_LOG_LEVEL": "DEBUG"}
    server = Server(tmp_path, env=env, args=loudest, server=kind).start()
    try:
        async with Client(server.mcp_url) as c:
            ann = (await c.call_tool("join_room", {"room_id": "r"})).structured_content
            ben = (await c.call_tool("join_room", {"room_id": "r"})).structured_content
            ids = [ann["client_id"], ben["client_id"]]
            await c.call_tool("send_message", {"client_id": ids[1], "message": "PRIVATE words"})
            await c.call_tool("wait_for_message", {"client_id": ids[0], "timeout": 1})
            bad = {"client_id": ids[0], "message": "PRIVATE typo", "room_id": "nope"}
            await c.call_tool("send_message", bad, raise_on_error=False)
        for _ in range(60):
            request = urllib.request.Request(
                server.base_url + "/admin/login/", headers={"Host": "evil.example"}
            )
            with contextlib.suppress(urllib.error.HTTPError):
                urllib.request.urlopen(request, timeout=10)
        assert post(server.mcp_url, INITIALIZE, extra={"Host": "evil.example"})[0] == 421
    finally:
        server.stop()
    log = server.log()
    assert "PRIVATE" not in log
    assert not any(client_id[2:14] in log for client_id in ids)
    refusals = [line for line in log.splitlines() if "evil.example" in line]
    assert 1 <= len(refusals) <= 25, len(refusals)  # rate-limited: not one per request
    assert "Traceback" not in log


@pytest.mark.parametrize("trusted", [False, True])
async def test_the_client_address_comes_from_the_proxy_header_only_when_trusted(
    tmp_path: Path, trusted: bool
) -> None:
    env = {"MCPCHAT_ADDRESS_IDENTITY_RATE": "1", "MCPCHAT_ADDRESS_IDENTITY_BURST": "2"}
    if trusted:
        env["MCPCHAT_TRUSTED_PROXY_HEADER"] = "X-Forwarded-For"
    server = Server(tmp_path, env=env, limits={}).start()
    try:
        codes = []
        for i in range(4):  # each claims another address; the proxy appends the last entry
            headers = {"X-Forwarded-For": f"10.0.0.1, 198.51.100.{i}"}
            async with Client(StreamableHttpTransport(server.mcp_url, headers=headers)) as c:
                got = await c.call_tool("enter_queue", {}, raise_on_error=False)
                codes.append(got.structured_content["error"]["code"] if got.is_error else "ok")
        # Trusted, four addresses with a new client_id each; untrusted, one peer (127.0.0.1)
        # whose third and fourth are refused, whatever the header claims.
        assert codes == (["ok"] * 4 if trusted else ["ok", "ok", "rate_limited", "rate_limited"])
    finally:
        server.stop()
