"""The only module that touches the Channels channel layer.

The layer carries doorbells, never messages: messages live in the chat state's mailbox logs.
A channel layer delivers at most once (a full channel refuses, a cancelled Redis receive can
drop one), so a lost doorbell must cost nothing: waiters re-read the log on every tick.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import NamedTuple

from channels.exceptions import ChannelFull
from channels.layers import BaseChannelLayer

log = logging.getLogger(__name__)

RING: dict[str, object] = {"type": "chat.ring"}


PREFIX = "mcpchat.wait"
BUFFERS = ("channels",)  # where our layers keep rings not yet received (chat/*_layer.py)


ANSWER_FIRST = 0.05  # seconds a ringer lets the waits it woke in this process answer first


def _ring(news: Mapping[str, str] | None) -> dict[str, object]:
    """A ring's message, with the state's news if any."""
    return {**RING, "news": dict(news)} if news else RING


class PackedRing(NamedTuple):
    """A ring ready to be added to the channel layer's sorted set in Redis by whoever writes
    there anyway (the Redis state's commit), exactly as the layer's own send would add it:
    trim entries scored at or below `stale`, then add `body` at `score` unless `capacity`
    are already there, and keep the key `expiry` seconds."""

    key: str
    body: bytes
    score: float
    stale: int
    capacity: int
    expiry: int


Where = tuple[object, ...]  # a Redis server and database: (host, port, db, unix socket path)


def where(connection: Mapping[str, object]) -> Where:
    """Which Redis server and database redis-py connection settings point at."""
    get = connection.get
    return get("host", "localhost"), get("port", 6379), get("db", 0), get("path")


# `Doorbells.pack`: (channels, news, where) -> (rings a commit there can add, the rest)
Packer = Callable[
    [Iterable[str], Mapping[str, str] | None, Where], tuple[list[PackedRing], tuple[str, ...]]
]


class Doorbells:
    def __init__(self, layer: BaseChannelLayer, answer_first: float = ANSWER_FIRST) -> None:
        self.layer = layer
        self.answer_first = answer_first
        # Channels of waits in progress in this process -> when their requests end.
        self.active: dict[str, asyncio.Future[None] | None] = {}
        # Their doorbell waits under way, to cut short (the client left, or shutdown).
        self.ticks: dict[str, asyncio.Timeout] = {}

    async def new_channel(self, answered: asyncio.Future[None] | None = None) -> str:
        """A fresh channel for one wait; only this process receives on it. `answered`
        resolves once the wait's answer has gone out (its request has ended)."""
        channel = await self.layer.new_channel(prefix=PREFIX)
        self.active[channel] = answered
        return channel

    async def ring(self, channels: Iterable[str], news: Mapping[str, str] | None = None) -> None:
        """Ring each channel, with the state's `news` if any (a hint for the woken wait's
        next look); then give the waits this woke in this process a moment to send their
        answers before the ringer goes on. On one event loop the ringer's own reply would
        otherwise go out first, and its length add to every message's latency."""
        answers: list[asyncio.Future[None]] = []
        ring = _ring(news)
        for channel in channels:
            try:
                await self.layer.send(channel, ring)
            except ChannelFull:
                # The waiter already has doorbells it has not answered; one more adds nothing.
                log.debug("doorbell channel %s is full", channel)
            except Exception:
                # The change is in the log already; the waiter finds it on its next tick.
                log.warning("could not ring a doorbell", exc_info=True)
            answered = self.active.get(channel)
            if answered is not None and not answered.done():
                answers.append(answered)
        if answers:
            await asyncio.wait(answers, timeout=self.answer_first)

    def pack(
        self, channels: Iterable[str], news: Mapping[str, str] | None, at: Where
    ) -> tuple[list[PackedRing], tuple[str, ...]]:
        """The rings for these channels that a commit in the Redis `at` can add itself
        (waits in other processes, when the layer keeps its rings there), and the channels
        left to `ring` the usual way."""
        packer = getattr(self.layer, "pack", None)
        if packer is None:
            return [], tuple(channels)
        ring = _ring(news)
        packed, rest = [], []
        for channel in channels:
            one = packer(channel, ring, at)
            if one is None:
                rest.append(channel)
            else:
                packed.append(one)
        return packed, tuple(rest)

    def discard(self, channel: str) -> None:
        """Forget a finished wait's channel and any ring that came too late for it."""
        self.active.pop(channel, None)
        for held in self._buffers():
            held.pop(channel, None)

    def prune(self) -> int:
        """Drop rings that reached a channel after its wait ended (a sender read the doorbell
        just before). The layers would keep them until they expire."""
        pruned = 0
        for held in self._buffers():
            for channel in [c for c in held if c.startswith(PREFIX) and c not in self.active]:
                del held[channel]
                pruned += 1
        return pruned

    def _buffers(self) -> list[dict[str, object]]:
        return [b for b in (getattr(self.layer, n, None) for n in BUFFERS) if isinstance(b, dict)]

    async def wait(self, channel: str, timeout: float) -> Mapping[str, str] | None:
        """Wait up to `timeout` seconds for a ring, or until `cut`; the ring's news, if a
        ring came with any."""
        try:
            async with asyncio.timeout(timeout) as tick:
                self.ticks[channel] = tick
                ring = await self.layer.receive(channel)
            news = ring.get("news")
            return news if isinstance(news, dict) else None
        except TimeoutError:
            return None
        finally:
            self.ticks.pop(channel, None)

    def cut(self, channel: str, *_: object) -> None:
        """End the channel's doorbell wait now, if one is under way (a future's done
        callback, hence the ignored argument)."""
        tick = self.ticks.get(channel)
        if tick is not None and not tick.expired():
            tick.reschedule(asyncio.get_running_loop().time())
