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


class Doorbells:
    def __init__(self, layer: BaseChannelLayer) -> None:
        self.layer = layer

    async def new_channel(self) -> str:
        """A fresh channel for one wait; only this process receives on it."""
        return await self.layer.new_channel(prefix="mcpchat.wait.")

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
        for buffers in ("channels", "receive_buffer"):  # in-memory layer, channels_redis
            held = getattr(self.layer, buffers, None)
            if isinstance(held, dict):
                held.pop(channel, None)

    async def wait(self, channel: str, timeout: float) -> bool:
        """Wait up to `timeout` seconds for a ring; True if one came."""
        try:
            async with asyncio.timeout(timeout):
                await self.layer.receive(channel)
            return True
        except TimeoutError:
            return False
