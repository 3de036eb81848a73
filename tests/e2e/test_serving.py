"""How the server is run and reached: uvicorn and daphne, /mcp without redirects, the access
token, the admin with its static files, idle reaping, and production-mode refusal."""

from __future__ import annotations

import ctypes.util
import http.client
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from mcpchat.cli import SERVERS
from mcpchat.devserver import ROOT, Server, free_port, http_status, wait_until
from tests.e2e.clients import connect

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "raw", "version": "0"},
    },
}


def post(
    url: str,
    body: dict[str, object],
    token: str | None = None,
    session: str | None = None,
    extra: dict[str, str] | None = None,
) -> tuple[int, str]:
    headers = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
    headers.update(extra or {})
    if token:
        headers["authorization"] = f"Bearer {token}"
    if session:
        headers["mcp-session-id"] = session
    request = urllib.request.Request(url, json.dumps(body).encode(), headers, method="POST")
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


async def test_the_mcp_lifespan_starts_and_ends_with_the_server(server: Server) -> None:
    async with connect("fastmcp", server.mcp_url) as a:
        await a.call("enter_queue", display_name="Early")
    server.stop()
    log = server.log()
    assert "MCP endpoint started" in log and "MCP endpoint stopped" in log
    if server.server == "uvicorn":  # uvicorn sends the ASGI lifespan, which McpMount answers
        assert "Application startup complete" in log and "unsupported" not in log
        assert "Application shutdown complete" in log


def test_mcp_is_served_without_redirects(server: Server) -> None:
    for path in ("/mcp", "/mcp/"):
        status, body = post(server.base_url + path, INITIALIZE)
        assert status == 200, (path, status, body)
        assert "mcpchat" in body


def test_idle_mcp_sessions_are_closed(tmp_path: Path) -> None:
    server = Server(tmp_path, env={"MCPCHAT_SESSION_IDLE_TIMEOUT": "1"}).start()
    try:
        request = urllib.request.Request(
            server.mcp_url,
            json.dumps(INITIALIZE).encode(),
            method="POST",
            headers={
                "content-type": "application/json",
                "accept": "application/json, text/event-stream",
            },
        )
        with urllib.request.urlopen(request, timeout=10) as r:
            session = r.headers["mcp-session-id"]
        assert session
        wait_until(lambda: f"{session} idle timeout" in server.log(), 20, "the idle timeout")
        ping = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
        assert post(server.mcp_url, ping, session=session)[0] == 404
    finally:
        server.stop()


def test_admin_and_its_static_files_are_served(server: Server) -> None:
    assert http_status(f"{server.base_url}/admin/login/") == 200
    assert http_status(f"{server.base_url}/static/admin/css/base.css") == 200


def test_an_idle_keep_alive_connection_outlives_the_clients_own_expiry(server: Server) -> None:
    """httpx (the FastMCP and Python SDK clients) reuses an idle connection for up to 5 s and
    Node's fetch for 4 s. A server closing at the same moment loses the request a client sends
    as it closes: the server must keep idle connections longer than the clients do."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request("GET", "/admin/login/")
        first = conn.getresponse()
        first.read()
        assert first.status == 200
        opened = conn.sock
        time.sleep(8)  # the idle time itself is what is tested, not a wait for a condition
        conn.request("GET", "/admin/login/")  # on the same connection: it was not closed
        second = conn.getresponse()
        second.read()
        assert second.status == 200 and conn.sock is opened
    finally:
        conn.close()


def test_access_token_is_required_when_set(tmp_path: Path) -> None:
    server = Server(tmp_path, env={"MCPCHAT_ACCESS_TOKEN": "s3cret-token"}).start()
    try:
        status, body = post(server.mcp_url, INITIALIZE)
        assert status == 401 and "Bearer" in body
        assert post(server.mcp_url, INITIALIZE, token="wrong")[0] == 401
        assert post(server.mcp_url, INITIALIZE, token="s3cret-token")[0] == 200
    finally:
        server.stop()


async def test_idle_chatters_are_reaped_and_partners_hear(tmp_path: Path) -> None:
    env = {"MCPCHAT_IDLE_TIMEOUT": "5", "MCPCHAT_REAP_INTERVAL": "1"}
    server = Server(tmp_path, env=env).start()
    try:
        async with connect("fastmcp", server.mcp_url) as a:
            stays = await a.call("join_room", room_id="r", display_name="Stays")
            await a.call("join_room", room_id="r", display_name="Ghost")
            # A wait counts as activity: Stays is never reaped while it waits.
            first = await a.call("wait_for_message", client_id=stays["client_id"], timeout=5)
            gone = await a.call(
                "wait_for_message", client_id=stays["client_id"], after=first["last_id"], timeout=60
            )
            assert [(i["event"], i["sender"], i["reason"]) for i in gone["items"]] == [
                ("left", "Ghost", "idle")
            ]
    finally:
        server.stop()


def test_production_mode_refuses_a_missing_secret_key() -> None:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SECRET_KEY"}
    env["DJANGO_DEBUG"] = "0"
    done = subprocess.run(
        [sys.executable, "-c", "import mcpchat.asgi"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "DJANGO_SECRET_KEY" in done.stderr


@pytest.mark.parametrize("key", ["x" * 50])
def test_production_mode_starts_with_a_real_secret_key(tmp_path: Path, key: str) -> None:
    env = {"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": key}
    server = Server(tmp_path, env=env).start()
    server.stop()


async def test_mcp_refuses_foreign_hosts_and_origins_before_any_tool_runs(
    tmp_path: Path,
) -> None:
    env = {
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,.chat.example",
        "MCPCHAT_ALLOWED_ORIGINS": "https://app.example",
    }
    server = Server(tmp_path, env=env).start()
    try:
        own = f"http://127.0.0.1:{server.port}"
        served = [
            {},  # no Origin: every non-browser client
            {"origin": own},  # the server's own pages
            {"origin": "https://app.example"},  # an origin the operator allows
            {"host": "chat.example"},  # a host Django allows, subdomains included
            {"host": "eu.chat.example:443"},
        ]
        for headers in served:
            assert post(server.mcp_url, INITIALIZE, extra=headers)[0] == 200, headers
        # A page on another site, or reached through a rebound DNS name, is refused.
        assert post(server.mcp_url, INITIALIZE, extra={"origin": "http://evil.example"})[0] == 403
        assert post(server.mcp_url, INITIALIZE, extra={"host": "evil.example"})[0] == 421
        assert post(server.mcp_url, INITIALIZE, extra={"host": "chat.example.evil"})[0] == 421
        call = {
            "jsonrpc": "2.0",
            "id": 3,
            "method": "tools/call",
            "params": {"name": "enter_queue", "arguments": {"display_name": "Eve"}},
        }
        refused, _ = post(server.mcp_url, call, extra={"origin": "http://evil.example"})
        assert refused == 403
        async with connect("fastmcp", server.mcp_url) as a:  # a client without an Origin
            me = await a.call("enter_queue", display_name="Ann")
            assert me["status"] == "waiting" and me["position"] == 1  # Eve never got queued
    finally:
        server.stop()


@pytest.mark.parametrize("kind", [None, *SERVERS])
async def test_mcpchat_serve_runs_on_a_fresh_database_and_stops_cleanly(
    tmp_path: Path, kind: str | None
) -> None:
    """The README's command as it is (None: the default server), then each --server."""
    port = free_port()
    env = {**os.environ, "DJANGO_SQLITE_PATH": str(tmp_path / "fresh.sqlite3")}
    for chosen in ("PYTHONMALLOC", "LD_PRELOAD"):  # serve picks the allocator itself
        env.pop(chosen, None)
    argv = ["serve", "--port", str(port)] + (["--server", kind] if kind else [])
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "mcpchat.cli", *argv], cwd=ROOT, env=env, stdout=log, stderr=log
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: http_status(f"{base}/admin/login/") == 200, 60, "mcpchat serve")
        async with connect("fastmcp", f"{base}/mcp") as a:
            assert (await a.call("enter_queue", display_name="Fresh"))["status"] == "waiting"
        # The process serving is the one started (serve runs itself again in place), on
        # jemalloc wherever the system has it (.ci/run installs it), else on CPython's own.
        maps = Path(f"/proc/{proc.pid}/maps").read_text()
        assert ("libjemalloc" in maps) == (ctypes.util.find_library("jemalloc") is not None)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
    said = (tmp_path / "serve.log").read_text()
    assert f"one {kind or SERVERS[0]} process" in said and "MCP endpoint stopped" in said
