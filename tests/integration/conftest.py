from __future__ import annotations

import pytest
from channels.layers import InMemoryChannelLayer

from chat.core.config import ChatConfig
from chat.layer import Doorbells
from chat.services import ChatService
from chat.state.memory import MemoryChatState


def make_service(**overrides: float) -> ChatService:
    config = ChatConfig(**{"progress_interval": 0.05, "mailbox_size": 50, **overrides})  # type: ignore[arg-type]
    return ChatService(MemoryChatState(config), Doorbells(InMemoryChannelLayer()), config)


@pytest.fixture
def svc() -> ChatService:
    return make_service()


async def pair(svc: ChatService) -> tuple[str, str]:
    a = (await svc.join_room("room", "Alice")).client_id
    b = (await svc.join_room("room", "Bob")).client_id
    await svc.wait(a, timeout=0)  # Alice takes the "joined" event
    return a, b
