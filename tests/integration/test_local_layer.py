"""The single process's channel layer keeps the Channels contract doorbells rely on."""

from __future__ import annotations

import asyncio

import pytest
from channels.exceptions import ChannelFull

from chat.local_layer import LocalChannelLayer

RING = {"type": "chat.ring"}


async def test_a_message_sent_before_or_during_a_receive_arrives_once() -> None:
    layer = LocalChannelLayer()
    early, late = await layer.new_channel("w"), await layer.new_channel("w")
    assert early != late
    await layer.send(early, {"type": "one"})
    assert await layer.receive(early) == {"type": "one"}
    receiving = asyncio.create_task(layer.receive(late))
    await asyncio.sleep(0)
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


async def test_each_message_goes_to_one_of_several_receivers() -> None:
    layer = LocalChannelLayer()
    channel = await layer.new_channel()
    receivers = [asyncio.create_task(layer.receive(channel)) for _ in range(3)]
    await asyncio.sleep(0)
    for i in range(3):
        await layer.send(channel, {"type": "m", "n": i})
    got = sorted(m["n"] for m in await asyncio.gather(*receivers))
    assert got == [0, 1, 2]


async def test_flush_forgets_everything() -> None:
    layer = LocalChannelLayer()
    channel = await layer.new_channel()
    await layer.send(channel, RING)
    await layer.flush()
    assert layer.channels == {}
