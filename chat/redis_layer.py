"""channels_redis, with a send in one round trip and a receive that never cancels Redis.

Sending: `RedisChannelLayer.send` trims expired messages, counts the channel, adds the message
and renews the key's expiry as four sequential commands. Doorbells are sent on the path of
every message, so this layer sends the same four commands in one pipeline. The capacity check
then counts before the add in the same round trip, so a full channel still refuses
(ChannelFull); as upstream says of its own check, the list may leak slightly over capacity.
Most rings need not even that: when the Redis chat state keeps its data in this layer's Redis,
its commit adds the rings it causes to these same keys in the same steps (`pack`, and the
commit script in chat/state/redis_commit.py), so a ring lands with its commit or not at all.

A ring for a wait in this very process (its channel carries this layer's prefix) goes
straight to the local layer, with no round trip at all: in a cluster of N processes, one ring
in N; with a single Redis-backed process, every one.

Receiving on process-local channels (`...!...`, every doorbell): upstream makes each
`receive()` take turns holding one blocking `BZPOPMIN` on the process's key, with a clean-up
script, a backup queue and a clean-up task around it (four round trips per message), and a
receive cancelled mid-`BZPOPMIN` drops its connection and can lose a message (1-2 % in a
race, measured). Every wait's tick cancels its receive. Here one task per process key pops
the key, for as long as the layer lives, and hands each message to a `LocalChannelLayer`,
where waits receive: one round trip per message, and a cancelled receive costs nothing and
loses nothing (the local layer's contract). A process that dies loses the doorbells it had
popped and not handed out; doorbells are hints, and its waits died with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from channels.exceptions import ChannelFull
from channels_redis.core import RedisChannelLayer
from redis.asyncio.connection import parse_url

from chat.layer import PREFIX, PackedRing, Where, where
from chat.local_layer import LocalChannelLayer
from chat.redis_wire import RedisWire

log = logging.getLogger(__name__)
RETRY_AFTER = 1.0  # seconds before a pump asks Redis again after an error
CANCEL_AGAIN = 0.5  # seconds before a pump that ignored a cancel (closing) is cancelled again
# Doorbells not yet popped, per process: they share one key, and a burst rings every wait in
# a process at once (upstream's default of 100 would refuse most of a burst's rings).
DOORBELL_CAPACITY = 100_000


def layer_config(url: str) -> dict[str, Any]:
    """The layer's CONFIG for Redis at `url`: settings, the tests and the benchmark use it."""
    return {
        # No socket timeout: redis-py's would break a blocking pop that idles longer.
        # A ring holds a connection only for its send; many can ring at once.
        "hosts": [{"address": url, "socket_timeout": None, "max_connections": 1000}],
        "prefix": "mcpchat.layer",
        "channel_capacity": {f"{PREFIX}.*": DOORBELL_CAPACITY},
    }


class PipelinedRedisChannelLayer(RedisChannelLayer):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Popped from Redis, not yet received: the same capacity and expiry per channel.
        self.local = LocalChannelLayer(expiry=self.expiry, capacity=self.capacity)
        self.channels = self.local.channels  # what Doorbells.discard and prune tidy
        self._pumps: dict[str, asyncio.Task[None]] = {}  # process key -> its popping task
        self._closing = False
        self.where = self._where()
        # The popping task's own connection (chat/redis_wire.py: a round trip there costs
        # about a third of redis-py's CPU), when the layer has one Redis given by address.
        address = self.hosts[0].get("address") if len(self.hosts) == 1 else None
        self._popper = RedisWire.from_url(address) if isinstance(address, str) else None

    def _where(self) -> Where | None:
        """The one Redis server and database this layer keeps its rings in (None with several
        hosts: then which one a channel's ring goes to is the layer's own business)."""
        if len(self.hosts) != 1:
            return None
        host = dict(self.hosts[0])
        if "address" in host:
            host.update(parse_url(host["address"]))
        return where(host)

    def pack(self, channel: str, message: dict[str, Any], at: Where) -> PackedRing | None:
        """`send`'s steps for a ring to another process's wait, as data for a commit into
        the Redis `at` to carry out (chat/state/redis_commit.py); None unless the ring
        would go there (a wait of this process takes the local path)."""
        if "!" not in channel or self.where is None or self.where != at:
            return None
        non_local = self.non_local_name(channel)
        if self._ours(non_local):
            return None
        now, body = time.time(), self.serialize({**message, "__asgi_channel__": channel})
        expiry = int(self.expiry)
        capacity = self.get_capacity(channel)
        return PackedRing(self.prefix + non_local, body, now, int(now) - expiry, capacity, expiry)

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        assert isinstance(message, dict), "message is not a dict"
        assert self.require_valid_channel_name(channel), "Channel name not valid"
        assert "__asgi_channel__" not in message
        local, non_local = "!" in channel, self.non_local_name(channel)
        if local and self._ours(non_local):
            await self.local.send(channel, message)  # a wait in this process: Redis not needed
            return
        if local:  # another process's: its pump routes it by full name
            message = {**message, "__asgi_channel__": channel}
        key = self.prefix + non_local
        index = self.consistent_hash(channel) if local else next(self._send_index_generator)
        now, body = time.time(), self.serialize(message)  # serialized once: random prefix
        pipe = self.connection(index).pipeline(transaction=False)
        pipe.zremrangebyscore(key, min=0, max=int(now) - int(self.expiry))
        pipe.zcount(key, "-inf", "+inf")
        pipe.zadd(key, {body: now}, nx=True)
        pipe.expire(key, int(self.expiry))
        _, count, _, _ = await pipe.execute()
        if count >= self.get_capacity(channel):
            # Counted before the add: take it back out, as upstream would never have added it.
            await self.connection(index).zrem(key, body)
            raise ChannelFull()

    async def receive(self, channel: str) -> dict[str, Any]:
        if "!" not in channel:
            return await super().receive(channel)  # type: ignore[no-any-return]
        assert self.require_valid_channel_name(channel), "Channel name not valid"
        process_key = self.non_local_name(channel)
        assert self._ours(process_key), "Wrong client prefix"
        pump = self._pumps.get(process_key)
        if pump is None or pump.done():
            self._pumps[process_key] = asyncio.ensure_future(self._pump(process_key))
        return await self.local.receive(channel)

    def _ours(self, process_key: str) -> bool:
        """Whether a process-local channel's key is this layer's own (this process's)."""
        return process_key.endswith(self.client_prefix + "!")

    async def _pump(self, process_key: str) -> None:
        """Pop the process key's messages into the local layer, until cancelled."""
        index, key = self.consistent_hash(process_key), self.prefix + process_key
        while not self._closing:
            try:
                if self._popper is not None:  # [key, member, score], or None: timed out
                    popped = await self._popper.call("BZPOPMIN", key, self.brpop_timeout)
                else:
                    popped = await self.connection(index).bzpopmin(key, self.brpop_timeout)
            except Exception:
                log.warning("could not receive doorbells from Redis", exc_info=True)
                await asyncio.sleep(RETRY_AFTER)
                continue
            if popped is None:
                continue
            message = self.deserialize(popped[1])
            channel = message.pop("__asgi_channel__", process_key)
            try:
                await self.local.send(channel, message)
            except ChannelFull:
                log.debug("channel %s is full", channel)

    async def close_pools(self) -> None:
        self._closing = True
        for pump in self._pumps.values():
            with contextlib.suppress(asyncio.CancelledError, RuntimeError):  # a closed loop's
                pump.cancel()
                if pump.get_loop() is not asyncio.get_running_loop():
                    continue  # another loop's: it can only stop when that loop runs
                # A cancel that lands while redis-py is still connecting can be swallowed
                # (seen in tests); the pump then sees `_closing` once its pop returns.
                while not pump.done():
                    pump.cancel()
                    await asyncio.wait([pump], timeout=CANCEL_AGAIN)
        self._pumps.clear()
        self._closing = False
        if self._popper is not None:
            await self._popper.aclose()
        await super().close_pools()
