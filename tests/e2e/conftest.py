from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright

from mcpchat.cli import SERVERS
from mcpchat.devserver import Server
from tests.redis_server import require_redis

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    executable = shutil.which("chromium")
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("Debian's chromium is not installed (.ci/run installs it)")
        pytest.skip("Debian's chromium is not installed: apt-get install chromium")
    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield b
        await b.close()


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[list[Server]]:
    """Two processes (as `mcpchat serve` runs them) sharing one chat through the real Redis
    (its own, empty db)."""
    # One admin user database for both, as PostgreSQL would be in production.
    env = {"MCPCHAT_REDIS_URL": require_redis(), "DJANGO_SQLITE_PATH": str(tmp_path / "db.sqlite3")}
    servers = [Server(tmp_path / f"process-{i}", env=dict(env)) for i in range(2)]
    try:
        for srv in servers:
            srv.start()
        yield servers
    finally:
        for srv in servers:
            srv.stop()


@pytest.fixture(params=SERVERS)
def server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Server]:
    """A fresh server process (empty chat state) for each test, under each ASGI server that
    `mcpchat serve` offers: the tests taking it run on uvicorn and on daphne."""
    srv = Server(tmp_path, server=request.param).start()
    yield srv
    srv.stop()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)
