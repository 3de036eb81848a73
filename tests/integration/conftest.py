from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from channels.layers import BaseChannelLayer
from fastmcp import Client

from chat import runtime
from chat.core.config import ChatConfig
from chat.layer import Doorbells
from chat.local_layer import LocalChannelLayer
from chat.mcp_app import mcp
from chat.services import ChatService
from chat.state.base import ChatState
from chat.state.memory import MemoryChatState
from tests.redis_server import require_redis

MakeService = Callable[..., ChatService]
BACKENDS = ["memory", "redis"]
# Scenarios here are about chat rules, not rate limits (test_limits.py sets its own).
LOOSE = {f"{kind}_{part}": 100_000 for kind in ("send", "wait") for part in ("rate", "burst")}


@pytest.fixture(params=BACKENDS)
async def make_service(request: pytest.FixtureRequest) -> AsyncIterator[MakeService]:
    """Build services on one backend: every test that uses this runs on each of them."""
    closers: list[Any] = []
    url = require_redis() if request.param == "redis" else ""

    def make(**overrides: float) -> ChatService:
        config = ChatConfig(**{"progress_interval": 0.05, "mailbox_size": 50, **LOOSE, **overrides})  # type: ignore[arg-type]
        state: ChatState
        layer: BaseChannelLayer
        if request.param == "memory":
            state, layer = MemoryChatState(config), LocalChannelLayer()
        else:
            from chat.redis_layer import PipelinedRedisChannelLayer, layer_config
            from chat.redis_wire import RedisWire
            from chat.state.redis import RedisChatState

            client = RedisWire.from_url(url)
            state = RedisChatState(config, client)
            layer = PipelinedRedisChannelLayer(**layer_config(url))
            closers.extend([client.aclose, layer.close_pools])
        return ChatService(state, Doorbells(layer), config)

    yield make
    for close in closers:
        await close()


@pytest.fixture
async def mcp_client() -> AsyncIterator[Client[Any]]:
    """FastMCP's in-memory client on the whole MCP server, with a fresh service (not
    pytest-django's `client`, which the monitor tests use)."""
    runtime.reset_service()
    async with Client(mcp) as c:
        yield c
    runtime.reset_service()


@pytest.fixture
def svc(make_service: MakeService) -> ChatService:
    return make_service()


async def pair(svc: ChatService) -> tuple[str, str]:
    a = (await svc.join_room("room", "Alice")).client_id
    b = (await svc.join_room("room", "Bob")).client_id
    await svc.wait(a, timeout=0)  # Alice takes the "joined" event
    return a, b
