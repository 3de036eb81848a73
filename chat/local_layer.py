"""The channel layer of a single process: Channels' in-memory layer without its per-call costs.

`channels.layers.InMemoryChannelLayer` scans every channel for expired messages on each
receive, builds a new `asyncio.Queue` on every send and receive, and deep-copies each
message. Every parked wait receives on a channel of its own and every message rings one, so
with n parked waits a burst of n doorbells cost O(n²) scans, and each parked wait held a few
queues (measured: docs/PERFORMANCE.md). This layer keeps the part of the Channels contract
that doorbells rely on, at O(1) per call:

- a message goes to one receiver, at most once; a receiver cancelled after a message was
  handed to it puts the message back, so cancelling loses nothing;
- each channel holds at most `capacity` messages nobody has received (`ChannelFull` past it);
- a message nobody receives within `expiry` seconds is dropped (checked on its own channel).

Messages are copied shallowly: the layer carries flat dicts (ASGI-style events), and no
receiver changes one. Groups are not supported: mcpchat sends to channels only.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

from channels.exceptions import ChannelFull
from channels.layers import BaseChannelLayer

Message = dict[str, Any]


class _Channel:
    """Lists, not deques: a doorbell channel holds one or two of each, and an empty deque
    costs ten times an empty list, for every parked wait."""

    __slots__ = ("messages", "receivers")

    def __init__(self) -> None:
        self.messages: list[tuple[float, Message]] = []  # (expires at, message), oldest first
        self.receivers: list[asyncio.Future[Message]] = []  # longest waiting first

    def hand_over(self, message: Message) -> bool:
        """Give the message to the longest-waiting receiver; False if none is waiting."""
        while self.receivers:
            receiver = self.receivers.pop(0)
            if not receiver.done():
                receiver.set_result(dict(message))
                return True
        return False

    def drop_expired(self, now: float) -> None:
        while self.messages and self.messages[0][0] <= now:
            self.messages.pop(0)


class LocalChannelLayer(BaseChannelLayer):  # type: ignore[misc]
    extensions = ["flush"]

    def __init__(self, expiry: int = 60, capacity: int = 100, **kwargs: Any) -> None:
        super().__init__(expiry=expiry, capacity=capacity, **kwargs)
        self.channels: dict[str, _Channel] = {}  # only channels with messages or receivers
        self._ids = itertools.count(1)

    async def new_channel(self, prefix: str = "specific.") -> str:
        return f"{prefix}.local!{next(self._ids)}"  # unique in the process, as it must be

    async def send(self, channel: str, message: Message) -> None:
        assert isinstance(message, dict), "message is not a dict"
        self.require_valid_channel_name(channel)
        held = self.channels.get(channel)
        if held is None:
            held = self.channels[channel] = _Channel()
        if held.hand_over(message):
            return
        held.drop_expired(time.monotonic())
        if len(held.messages) >= self.get_capacity(channel):
            raise ChannelFull(channel)
        held.messages.append((time.monotonic() + self.expiry, dict(message)))

    async def receive(self, channel: str) -> Message:
        self.require_valid_channel_name(channel)
        held = self.channels.get(channel)
        if held is None:
            held = self.channels[channel] = _Channel()
        held.drop_expired(time.monotonic())
        if held.messages:
            message = held.messages.pop(0)[1]
            self._forget_if_unused(channel, held)
            return message
        receiver: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        held.receivers.append(receiver)
        try:
            return await receiver
        except asyncio.CancelledError:
            handed = receiver.done() and not receiver.cancelled()
            # Handed over just before the cancel arrived: the next receiver gets it.
            if handed and not held.hand_over(receiver.result()):
                held.messages.insert(0, (time.monotonic() + self.expiry, receiver.result()))
            raise
        finally:
            if receiver in held.receivers:
                held.receivers.remove(receiver)
            self._forget_if_unused(channel, held)

    def _forget_if_unused(self, channel: str, held: _Channel) -> None:
        if not held.messages and not held.receivers and self.channels.get(channel) is held:
            del self.channels[channel]

    async def flush(self) -> None:
        self.channels.clear()
