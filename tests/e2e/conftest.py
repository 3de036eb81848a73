from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mcpchat.devserver import Server


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
