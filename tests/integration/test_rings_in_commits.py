"""A Redis commit adds the doorbells it causes to the channel layer itself: a ring to a wait on
another process lands with its commit or not at all, and the sender sends nothing more."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis

from chat.core.config import ChatConfig
from chat.layer import PREFIX, Doorbells
from chat.redis_layer import PipelinedRedisChannelLayer, layer_config
from chat.redis_wire import RedisWire
from chat.services import ChatService
from chat.state.redis import RedisChatState
from mcpchat.devserver import eventually
from tests.redis_server import require_redis

# Waits tick every 120 s: a wait that returns sooner was woken by its ring.
CONFIG = ChatConfig(progress_interval=120, mailbox_size=50)
BOUND = 30  # seconds: far more than a ring takes, far less than a tick


@pytest.fixture
async def url() -> AsyncIterator[str]:
    yield require_redis()


class Process:
    """One server process: its Redis client, channel layer and service."""

    def __init__(self, url: str) -> None:
        self.redis = Redis.from_url(url)  # to look at the layer's keys
        self.layer = PipelinedRedisChannelLayer(**layer_config(url))
        self.sent: list[str] = []  # channels this process's layer sent a ring to
        send = self.layer.send

        async def counted(channel: str, message: dict[str, Any]) -> None:
            self.sent.append(channel)
            await send(channel, message)

        self.layer.send = counted  # type: ignore[method-assign]
        self.service = ChatService(
            RedisChatState(CONFIG, RedisWire.from_url(url)), Doorbells(self.layer), CONFIG
        )
        self.state: RedisChatState = self.service.state  # type: ignore[assignment]

    async def close(self) -> None:
        await self.layer.close_pools()
        await self.state.redis.aclose()
        await self.redis.aclose()


async def test_a_wait_on_another_process_is_woken_and_answered_by_the_senders_commit(
    url: str,
) -> None:
    p0, p1 = Process(url), Process(url)
    try:
        ann = (await p0.service.join_room("r", "Ann")).client_id
        ben = (await p1.service.join_room("r", "Ben")).client_id
        cursor = (await p0.service.wait(ann, timeout=0)).last_id
        waiting = asyncio.create_task(p0.service.wait(ann, timeout=200, after=cursor))

        async def parked() -> bool:
            return (await p1.service.status(ann)).waiting

        await eventually(parked, BOUND, "Ann's wait to park")
        commits = p0.state.store.commit.__self__  # type: ignore[attr-defined]
        run, scripts = commits._run, []

        async def counted(*args: Any) -> Any:
            scripts.append(args)
            return await run(*args)

        commits._run = counted
        await p1.service.send(ben, None, "hello over there")
        got = await asyncio.wait_for(waiting, BOUND)
        assert [i.text for i in got.items] == ["hello over there"]
        assert p1.sent == []  # the commit rang: no send of its own
        assert scripts == []  # and answered: Ann's process sent no commit to take it
        assert not (await p0.service.status(ann)).waiting
    finally:
        await p0.close()
        await p1.close()


async def test_a_refused_commit_rings_nobody(url: str) -> None:
    p0, p1 = Process(url), Process(url)
    try:
        ann = (await p0.state.join_room("r", "Ann", None)).value.client_id
        ben = (await p1.state.join_room("r", "Ben", None)).value.client_id
        joined = (await p0.state.begin_wait(ann, None, None, "first", False)).value.entries
        assert joined
        channel = await p0.layer.new_channel(prefix=PREFIX)  # Ann's wait, on p0
        await p0.state.begin_wait(ann, None, joined[-1].id, channel, False)
        key = p0.layer.prefix + p0.layer.non_local_name(channel)
        await p1.redis.zadd(key, {b"an earlier ring, not popped yet": time.time()})
        commit, attempts = p1.state.store.commit, []

        async def refused_first(s: Any, current: bool = False, **kw: Any) -> bool:
            attempts.append(s)
            if len(attempts) == 1:
                await p0.state.status(ann)  # Ann changes between Ben's read and his write
            return await commit(s, current, **kw)

        p1.state.store.commit = refused_first  # type: ignore[method-assign]
        sent = await p1.state.send(ben, None, "once", None)
        assert len(attempts) == 2 and sent.wake == ()  # refused, then landed with its ring
        rings = await p1.redis.zrange(key, 0, -1)
        assert len(rings) == 2  # the earlier one and this: the refused attempt added none
        ring = p0.layer.deserialize(rings[1])
        assert ring["__asgi_channel__"] == channel and ring["type"] == "chat.ring"
        assert p1.state.store.keys.ident(ann) in ring["news"]  # what the send wrote for Ann
        assert 0 < await p1.redis.ttl(key) <= int(p0.layer.expiry)  # it expires by itself
        assert await p1.redis.keys("*staged*") == []  # what both attempts staged is gone
    finally:
        await p0.close()
        await p1.close()


async def test_rings_kept_in_another_redis_go_the_usual_way(url: str) -> None:
    elsewhere = url.rsplit("/", 1)[0] + "/14"
    p0, p1 = Process(url), Process(url)
    other = PipelinedRedisChannelLayer(**layer_config(elsewhere))
    try:
        p1.state.carry_rings(Doorbells(other).pack)
        ann = (await p0.state.join_room("r", "Ann", None)).value.client_id
        ben = (await p1.state.join_room("r", "Ben", None)).value.client_id
        joined = (await p0.state.begin_wait(ann, None, None, "first", False)).value.entries
        assert joined
        channel = await p0.layer.new_channel(prefix=PREFIX)
        await p0.state.begin_wait(ann, None, joined[-1].id, channel, False)
        sent = await p1.state.send(ben, None, "hi", None)
        assert sent.wake == (channel,)  # left to the service: its layer's Redis is not this
    finally:
        await other.close_pools()
        await p0.close()
        await p1.close()
