"""One chat service per process, and the background work that keeps it tidy."""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
import logging
import time

from channels.layers import get_channel_layer
from django.conf import settings

from chat.core.config import ChatConfig
from chat.layer import Doorbells
from chat.services import ChatService
from chat.state.base import ChatState
from chat.state.memory import MemoryChatState

log = logging.getLogger(__name__)

_service: ChatService | None = None


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
        from chat.redis_wire import RedisWire
        from chat.state.redis import RedisChatState

        return RedisChatState(config, RedisWire.from_url(settings.MCPCHAT_REDIS_URL))
    return MemoryChatState(config)


def reset_service() -> None:
    """Forget the service (tests start each case with empty chat state)."""
    global _service
    _service = None


_trim = getattr(ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6"), "malloc_trim", None)
RELEASE_EVERY = 30.0  # seconds: a collection of a large heap pauses the event loop briefly
_released_at = 0.0


# Collect the young generation every 10,000 new objects instead of 700, the middle one every
# 20 of those, and the whole heap only every 100 of those (CPython: 700, 10, 10).
GC_THRESHOLDS = (10_000, 20, 100)


def tune_garbage_collector() -> None:
    """Once started. A parked wait is some hundreds of objects, so with many parked the heap
    holds hundreds of thousands of young ones, and each full collection walked them all and
    the whole start-up (Django, FastMCP, every module: some 170,000 objects) with them, about
    0.1-0.2 s at a time, many times in a burst of calls. `gc.freeze` leaves what start-up built
    out of every later collection (it lives as long as the process), and the thresholds make
    collections rarer; measured in docs/PERFORMANCE.md. Cycles are still collected, and the
    sweeper runs a full collection after reaping (`release_memory`)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def release_memory() -> bool:
    """Hand freed memory back to the system: Python's collector frees cycles, then glibc's
    malloc_trim returns the free pages glibc holds, which neither does by itself (under
    jemalloc, `mcpchat.allocator`, jemalloc returns its own). At most every RELEASE_EVERY
    seconds; returns whether it ran."""
    global _released_at
    now = time.monotonic()
    if now - _released_at < RELEASE_EVERY:
        return False
    _released_at = now
    gc.collect()
    if _trim is not None:
        _trim(0)
    return True


async def sweep_forever() -> None:
    """Sweep idle identities out every reap interval until cancelled."""
    release_due = False  # chatters were reaped since memory was last handed back
    while True:
        svc = service()
        await asyncio.sleep(svc.config.reap_interval)
        try:
            svc.bells.prune()
            gone = await svc.sweep()
            if gone:
                log.info("reaped %d idle chatter(s)", gone)
            release_due = bool(gone) or release_due
            if release_due and release_memory():
                release_due = False
        except Exception:
            log.exception("reaping failed")
