from __future__ import annotations

import pytest

from chat.core.config import ChatConfig
from chat.core.engine import ChatEngine


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def config() -> ChatConfig:
    return ChatConfig(mailbox_size=5, message_ttl=100, idle_timeout=60, room_capacity=3)


@pytest.fixture
def engine(config: ChatConfig, clock: FakeClock) -> ChatEngine:
    return ChatEngine(config, clock)
