"""Both channel layers keep the Channels contract doorbells rely on: the single process's
(`chat/local_layer.py`) and the Redis one's process-local channels (`chat/redis_layer.py`).
The tests taking `layer` run on each."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from channels.exceptions import ChannelFull

from chat.layer import PREFIX
from chat.local_layer import LocalChannelLayer
from tests.redis_server import require_redis

RING = {"type": "chat.ring"}


@pytest.fixture(params=["local", "redis"])
async def layer(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    if request.param == "local":
        yield LocalChannelLayer()
        return
    from chat.redis_layer import PipelinedRedisChannelLayer, layer_config

    redis_layer = PipelinedRedisChannelLayer(**layer_config(require_redis()))
    yield redis_layer
    await redis_layer.close_pools()


async def test_a_message_sent_before_or_during_a_receive_arrives_once(layer: Any) -> None:
    early, late = await layer.new_channel(PREFIX), await layer.new_channel(PREFIX)
    assert early != late
    await layer.send(early, {"type": "one"})
    assert await layer.receive(early) == {"type": "one"}
    receiving = asyncio.create_task(layer.receive(late))
    await asyncio.sleep(0.01)  # (not a wait for a condition: the send may come at any time)
    await layer.send(late, {"type": "two"})
    assert await receiving == {"type": "two"}
    with pytest.raises(TimeoutError):  # nothing is delivered twice
        async with asyncio.timeout(0.05):
            await layer.receive(early)
    assert layer.channels == {}  # nothing is kept for channels nobody uses


async def test_a_full_channel_refuses() -> None:
    layer = LocalChannelLayer(capacity=3)
    channel = await layer.new_channel()
    for _ in range(3):
        await layer.send(channel, RING)
    with pytest.raises(ChannelFull):
        await layer.send(channel, RING)


async def test_a_message_nobody_receives_expires() -> None:
    layer = LocalChannelLayer(expiry=1)
    channel = await layer.new_channel()
    await layer.send(channel, RING)
    held = layer.channels[channel]
    held.messages[0] = (0.0, RING)  # as if sent long ago
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await layer.receive(channel)


async def test_a_receiver_cancelled_after_the_hand_over_loses_nothing() -> None:
    layer = LocalChannelLayer()
    channel = await layer.new_channel()
    for _ in range(200):
        receiving = asyncio.create_task(layer.receive(channel))
        await asyncio.sleep(0)
        await layer.send(channel, RING)  # handed to the waiting receiver...
        receiving.cancel()  # ...which is cancelled before it runs again
        with pytest.raises(asyncio.CancelledError):
            await receiving
        async with asyncio.timeout(10):
            assert await layer.receive(channel) == RING  # the next receive gets it


async def test_each_message_goes_to_one_of_several_receivers(layer: Any) -> None:
    channel = await layer.new_channel(PREFIX)
    receivers = [asyncio.create_task(layer.receive(channel)) for _ in range(3)]
    await asyncio.sleep(0)
    for i in range(3):
        await layer.send(channel, {"type": "m", "n": i})
    got = sorted(m["n"] for m in await asyncio.gather(*receivers))
    assert got == [0, 1, 2]


async def test_receives_cancelled_at_random_moments_get_every_message_once(layer: Any) -> None:
    """What every wait's tick does to its receive, while rings arrive (upstream
    channels_redis loses 1-2 % of messages this way)."""
    channel, count = await layer.new_channel(PREFIX), 500
    received: list[int] = []

    async def sender() -> None:
        for n in range(count):
            await layer.send(channel, {"type": "m", "n": n})
            await asyncio.sleep(random.random() * 0.002)  # an uneven pace, not a wait

    sending = asyncio.create_task(sender())
    deadline = time.monotonic() + 120
    while len(received) < count and time.monotonic() < deadline:
        try:
            async with asyncio.timeout(random.random() * 0.004):
                received.append((await layer.receive(channel))["n"])
        except TimeoutError:
            pass
    await sending
    with pytest.raises(TimeoutError):  # and nothing more comes
        async with asyncio.timeout(0.2):
            received.append((await layer.receive(channel))["n"])
    assert sorted(received) == list(range(count))


async def test_flush_forgets_everything() -> None:
    layer = LocalChannelLayer()
    channel = await layer.new_channel()
    await layer.send(channel, RING)
    await layer.flush()
    assert layer.channels == {}


async def test_a_ring_for_a_wait_in_this_process_skips_redis() -> None:
    from redis.asyncio import Redis

    from chat.redis_layer import PipelinedRedisChannelLayer, layer_config

    url = require_redis()
    here = PipelinedRedisChannelLayer(**layer_config(url))
    there = PipelinedRedisChannelLayer(**layer_config(url))  # another process's layer
    redis = Redis.from_url(url)
    try:
        mine, theirs = await here.new_channel(PREFIX), await there.new_channel(PREFIX)
        await here.send(mine, RING)
        await here.send(theirs, RING)
        assert not await redis.exists(here.prefix + here.non_local_name(mine))
        assert await redis.exists(here.prefix + here.non_local_name(theirs))
        assert await here.receive(mine) == RING
        assert await there.receive(theirs) == RING
    finally:
        await redis.aclose()
        await here.close_pools()
        await there.close_pools()
