"""Start a real mcpchat server process on a free loopback port (tests and the benchmark),
and wait for conditions with a bound instead of sleeping."""

from __future__ import annotations

import asyncio
import inspect
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from mcpchat.allocator import server_allocator
from mcpchat.cli import daphne_endpoint, uvicorn_flags

ROOT = Path(__file__).resolve().parent.parent


def wait_until(condition: Callable[[], object], timeout: float = 20, what: str = "") -> object:
    """Poll `condition` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {timeout} s waiting for {what or condition}")
        time.sleep(0.05)


async def eventually(
    condition: Callable[[], object | Awaitable[object]], timeout: float = 20, what: str = ""
) -> object:
    """The async form of `wait_until`: `condition` may be a coroutine function, and polling
    yields to the event loop instead of blocking it."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {timeout} s waiting for {what or condition}")
        await asyncio.sleep(0.01)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # a redirect is an answer too: report its status


def http_status(url: str) -> int | None:
    """The status `url` answers with, without following redirects; None if nothing answers."""
    try:
        with urllib.request.build_opener(_NoRedirect).open(url, timeout=2) as r:
            return int(r.status)
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None


# Load from one address beyond what the default rate limits allow one client: scenarios that
# are not about limits use these (the limit tests and the flooder scenario use the defaults).
LOOSE_LIMITS = {
    f"MCPCHAT_{kind}_{part}": "100000"
    for kind in ("SEND", "WAIT", "ADDRESS_SEND", "ADDRESS_IDENTITY")
    for part in ("RATE", "BURST")
}


@dataclass
class Server:
    """A uvicorn (or daphne) process serving mcpchat.asgi:application (or `app`), run the way
    `mcpchat serve` runs it."""

    workdir: Path
    env: dict[str, str] = field(default_factory=dict)
    limits: dict[str, str] = field(default_factory=lambda: dict(LOOSE_LIMITS))
    args: list[str] = field(default_factory=list)  # more command-line options for the server
    port: int = field(default_factory=free_port)
    server: str = "uvicorn"  # or "daphne": the same ASGI application either way
    app: str = "mcpchat.asgi:application"
    ready_path: str = "/admin/login/"  # answers 200 (or a redirect to https) once it serves
    cpus: set[int] | None = None  # pin the process to these cores (the benchmark)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def mcp_url(self) -> str:
        return f"{self.base_url}/mcp"

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.server}-{self.port}.log"

    def start(self) -> Server:
        self.workdir.mkdir(parents=True, exist_ok=True)
        env = {
            **server_allocator(),  # as `mcpchat serve` runs
            **os.environ,
            "DJANGO_SQLITE_PATH": str(self.workdir / "db.sqlite3"),
            "PYTHONUNBUFFERED": "1",
            **self.limits,
            **self.env,
        }
        log = self.log_path.open("ab")
        argv = {
            "daphne": ["-m", "daphne", "-e", daphne_endpoint("127.0.0.1", self.port)],
            "uvicorn": [
                *("-m", "uvicorn", "--host", "127.0.0.1", "--port", str(self.port)),
                *uvicorn_flags(),
            ],
        }[self.server]
        self.proc = subprocess.Popen(
            [sys.executable, *argv, *self.args, self.app],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        if self.cpus:
            os.sched_setaffinity(self.proc.pid, self.cpus)
        wait_until(self._ready, 60, f"{self.server} on port {self.port}")
        return self

    def _ready(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise RuntimeError(f"{self.server} exited early:\n{self.log()}")
        # The app answers: mcpchat's login page (or its redirect to https in production).
        return http_status(self.base_url + self.ready_path) in (200, 301)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def kill(self) -> None:
        """SIGKILL: the process dies mid-whatever, as in a crash."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def restart(self) -> Server:
        self.stop()
        return self.start()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
