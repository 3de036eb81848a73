from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mcpchat.devserver import Server
from tests.redis_server import require_redis


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[list[Server]]:
    """Two daphne processes sharing one chat through the real Redis (its own, empty db)."""
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


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """A fresh daphne process (empty chat state) for each test."""
    srv = Server(tmp_path).start()
    yield srv
    srv.stop()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)
