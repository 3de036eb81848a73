"""One chat service per process, and the background work that keeps it tidy."""

from __future__ import annotations

import asyncio
import logging

from channels.layers import get_channel_layer
from django.conf import settings

from chat.core.config import ChatConfig
from chat.layer import Doorbells
from chat.services import ChatService
from chat.state.base import ChatState
from chat.state.memory import MemoryChatState

log = logging.getLogger(__name__)

_service: ChatService | None = None
REDIS_CONNECTIONS = 64  # per process; use cases hold one for a round trip at a time


def service() -> ChatService:
    """The process's chat service, built from settings on first use."""
    global _service
    if _service is None:
        config = settings.MCPCHAT
        layer = get_channel_layer()
        if layer is None:
            raise RuntimeError("CHANNEL_LAYERS must define a default channel layer")
        _service = ChatService(chat_state(config), Doorbells(layer), config)
    return _service


def chat_state(config: ChatConfig) -> ChatState:
    """The state backend the settings choose, as Channels picks its layer."""
    if settings.MCPCHAT_REDIS_URL:
        from redis.asyncio import BlockingConnectionPool, Redis

        from chat.state.redis import RedisChatState

        # Blocking: a burst of calls queues for a connection instead of failing.
        pool = BlockingConnectionPool.from_url(
            settings.MCPCHAT_REDIS_URL, max_connections=REDIS_CONNECTIONS, timeout=30
        )
        return RedisChatState(config, Redis(connection_pool=pool))
    return MemoryChatState(config)


def reset_service() -> None:
    """Forget the service (tests start each case with empty chat state)."""
    global _service
    _service = None


async def sweep_forever() -> None:
    """Sweep idle identities out every reap interval until cancelled."""
    while True:
        svc = service()
        await asyncio.sleep(svc.config.reap_interval)
        try:
            svc.bells.prune()
            gone = await svc.sweep()
            if gone:
                log.info("reaped %d idle chatter(s)", gone)
        except Exception:
            log.exception("reaping failed")
