"""The only module that touches the Channels channel layer.

The layer carries doorbells, never messages: messages live in the chat state's mailbox logs.
A channel layer delivers at most once (a full channel refuses, a cancelled Redis receive can
drop one), so a lost doorbell must cost nothing: waiters re-read the log on every tick.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from channels.exceptions import ChannelFull
from channels.layers import BaseChannelLayer

log = logging.getLogger(__name__)

RING = {"type": "chat.ring"}


PREFIX = "mcpchat.wait"
BUFFERS = ("channels", "receive_buffer")  # where the in-memory layer and channels_redis keep them


class Doorbells:
    def __init__(self, layer: BaseChannelLayer) -> None:
        self.layer = layer
        self.active: set[str] = set()  # channels of waits in progress in this process

    async def new_channel(self) -> str:
        """A fresh channel for one wait; only this process receives on it."""
        channel = await self.layer.new_channel(prefix=PREFIX)
        self.active.add(channel)
        return channel

    async def ring(self, channels: Iterable[str]) -> None:
        for channel in channels:
            try:
                await self.layer.send(channel, RING)
            except ChannelFull:
                # The waiter already has doorbells it has not answered; one more adds nothing.
                log.debug("doorbell channel %s is full", channel)
            except Exception:
                # The change is in the log already; the waiter finds it on its next tick.
                log.warning("could not ring a doorbell", exc_info=True)

    def discard(self, channel: str) -> None:
        """Forget a finished wait's channel and any ring that came too late for it."""
        self.active.discard(channel)
        for held in self._buffers():
            held.pop(channel, None)

    def prune(self) -> int:
        """Drop rings that reached a channel after its wait ended (a sender read the doorbell
        just before). Layers keep them until they expire, channels_redis forever."""
        pruned = 0
        for held in self._buffers():
            for channel in [c for c in held if c.startswith(PREFIX) and c not in self.active]:
                del held[channel]
                pruned += 1
        return pruned

    def _buffers(self) -> list[dict[str, object]]:
        return [b for b in (getattr(self.layer, n, None) for n in BUFFERS) if isinstance(b, dict)]

    async def wait(self, channel: str, timeout: float) -> bool:
        """Wait up to `timeout` seconds for a ring; True if one came."""
        try:
            async with asyncio.timeout(timeout):
                await self.layer.receive(channel)
            return True
        except TimeoutError:
            return False
