"""`mcpchat serve --workers 2`: two processes on one port (uvicorn or daphne), kept running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from mcpchat.cli import SERVERS
from mcpchat.devserver import ROOT, free_port, http_status, wait_until
from tests.e2e.clients import connect
from tests.redis_server import require_redis


def workers_of(parent: subprocess.Popen[bytes]) -> list[int]:
    return [p.pid for p in psutil.Process(parent.pid).children() if p.is_running()]


@pytest.mark.parametrize("kind", SERVERS)
async def test_workers_share_one_port_and_a_dead_one_is_replaced(tmp_path: Path, kind: str) -> None:
    port = free_port()
    env = {
        **os.environ,
        "MCPCHAT_REDIS_URL": require_redis(),
        "DJANGO_SQLITE_PATH": str(tmp_path / "db.sqlite3"),
        # Each worker knows its clients' addresses (an inherited socket's family is kept):
        # the third new client_id from this address is refused.
        "MCPCHAT_ADDRESS_IDENTITY_RATE": "1",
        "MCPCHAT_ADDRESS_IDENTITY_BURST": "2",
    }
    log = (tmp_path / "serve.log").open("wb")
    argv = ["serve", "--port", str(port), "--workers", "2", "--server", kind]
    parent = subprocess.Popen(
        [sys.executable, "-m", "mcpchat.cli", *argv],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: http_status(f"{url}/admin/login/") == 200, 60, "the workers")
        first = wait_until(lambda: len(workers_of(parent)) == 2 and workers_of(parent), 30)
        async with connect("fastmcp", f"{url}/mcp") as a, connect("fastmcp", f"{url}/mcp") as b:
            ann = (await a.call("enter_queue", display_name="Ann"))["client_id"]
            ben = (await b.call("enter_queue", display_name="Ben"))["client_id"]
            assert "Too many" in await b.fail("enter_queue", display_name="Third")
            os.kill(first[0], signal.SIGKILL)  # a worker crashes
            replaced = wait_until(
                lambda: len(w := workers_of(parent)) == 2 and first[0] not in w and w, 60
            )
            assert first[1] in replaced
            for i in range(20):  # new connections reach whichever worker: the chat is shared
                await b.call("send_message", client_id=ben, message=f"m{i}")
            got: list[str] = []
            cursor = None
            while len(got) < 20:
                r = await a.call("wait_for_message", client_id=ann, after=cursor, timeout=20)
                got += [i["text"] for i in r["items"] if i["kind"] == "message"]
                cursor = r["last_id"]
            assert got == [f"m{i}" for i in range(20)]
    finally:
        parent.send_signal(signal.SIGTERM)
        assert parent.wait(60) == 0
    assert "starting another" in (tmp_path / "serve.log").read_text()


def test_more_than_one_worker_needs_redis() -> None:
    env = {k: v for k, v in os.environ.items() if k != "MCPCHAT_REDIS_URL"}
    done = subprocess.run(
        [sys.executable, "-m", "mcpchat.cli", "serve", "--workers", "2"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "MCPCHAT_REDIS_URL" in done.stderr
