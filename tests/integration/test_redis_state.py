"""What only the Redis backend has to get right: keys that expire by themselves, objects that
round-trip whole, state shared by processes, and leftovers of a crashed cluster."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from channels.exceptions import ChannelFull
from redis.asyncio import Redis

from chat.core.config import ChatConfig
from chat.core.engine import ChatEngine
from chat.redis_layer import PipelinedRedisChannelLayer
from chat.redis_wire import RedisWire
from chat.state import codec
from chat.state.redis import RedisChatState
from tests.redis_server import require_redis

CONFIG = ChatConfig(idle_timeout=0.5, mailbox_size=50, progress_interval=0.05)


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(require_redis())
    yield client
    await client.aclose()


def process(redis: Redis, config: ChatConfig = CONFIG) -> RedisChatState:
    """One server process's view of the shared state (in the database `redis` uses)."""
    kwargs = redis.connection_pool.connection_kwargs
    wire = RedisWire(kwargs.get("host", "localhost"), kwargs.get("port", 6379), kwargs["db"])
    return RedisChatState(config, wire)


def test_identities_and_rooms_round_trip_whole() -> None:
    engine = ChatEngine(ChatConfig())
    a = engine.join_room("r", "Ann").value.client_id
    b = engine.join_room("r", "Ben").value.client_id
    engine.send(b, None, "line one\\nline two", key="k1")
    engine.enter_queue(a, None)  # Ann leaves Ben: "left" for Ben, the room goes on
    for ident in engine.identities.values():
        assert codec.load_identity(codec.dump_identity(ident)) == ident
    for room in engine.rooms.values():
        assert codec.load_room(codec.dump_room(room)) == room


async def test_every_key_expires_by_itself(redis: Redis) -> None:
    state = process(redis)
    ann = (await state.join_room("r", "Ann", None)).value.client_id
    ben = (await state.join_room("r", "Ben", None)).value.client_id
    await state.send(ben, None, "hi", None)
    await state.enter_queue(None, "Queued")
    await state.sweep()
    await state.status(ann)
    keys = await redis.keys("*")
    assert len(keys) >= 8
    for key in keys:
        ttl = await redis.ttl(key)
        assert 0 < ttl <= state.store.ttl or key.endswith(b"sweep"), key


async def test_two_processes_sweeping_at_once_tell_the_partner_once(redis: Redis) -> None:
    p0, p1 = process(redis), process(redis)
    ann = (await p0.join_room("r", "Ann", None)).value.client_id
    await p1.join_room("r", "Ghost", None)
    joined = (await p0.begin_wait(ann, None, None, "first", False)).value.entries
    assert joined is not None and joined[-1].event == "joined"
    parked = await p0.begin_wait(ann, None, joined[-1].id, "bell", False)
    gen = parked.value.generation  # parked...
    await asyncio.sleep(CONFIG.idle_timeout + 0.2)  # ...while Ghost goes quiet (pacing)
    assert (await p0.poll(ann, gen)).entries == []  # Ann's wait renews its lease
    gone = await asyncio.gather(p0.sweep_now(), p1.sweep_now())
    assert sorted(g.value for g in gone) == [0, 1]
    entries = (await p1.poll(ann, gen)).entries
    assert entries is not None
    assert [(e.event, e.sender, e.reason) for e in entries if e.event == "left"] == [
        ("left", "Ghost", "idle")
    ]


class CountingReads:
    """A store's Redis connection that counts the reads sent through it (each command of a
    pipeline, each single call); commits go through their script, not through this."""

    def __init__(self, inner: RedisWire) -> None:
        self.inner, self.reads = inner, 0

    async def pipeline(self, commands: list[Any]) -> Any:
        self.reads += len(commands)
        return await self.inner.pipeline(commands)

    async def call(self, *command: Any) -> Any:
        self.reads += 1
        return await self.inner.call(*command)


async def test_a_commit_refused_by_another_process_retries_without_reading_again(
    redis: Redis,
) -> None:
    p0, p1 = process(redis), process(redis)
    ann = (await p1.join_room("refused", "Ann", None)).value.client_id
    ben = (await p1.join_room("refused", "Ben", None)).value.client_id
    counting = CountingReads(p0.store.redis)
    p0.store.redis = counting  # type: ignore[assignment]
    load, reads_per_load = p0.store.load, []

    async def load_then_ben_sends(**args: Any) -> Any:
        before = counting.reads
        s = await load(**args)
        reads_per_load.append(counting.reads - before)
        if len(reads_per_load) == 1:  # lands between Ann's load and her commit
            await p1.send(ben, None, "from Ben", None)
        return s

    p0.store.load = load_then_ben_sends  # type: ignore[method-assign]
    await p0.send(ann, None, "from Ann", None)
    assert len(reads_per_load) == 2 and reads_per_load[0] > 0  # refused once, then landed
    assert reads_per_load[1] == 0  # the retry ran on what the refused commit found
    got = {}
    for who in (ann, ben):
        entries = (await p1.begin_wait(who, None, None, "bell", False)).value.entries
        got[who] = [e.text for e in entries or () if e.kind == "message"]
    assert got == {ann: ["from Ben"], ben: ["from Ann"]}  # both, once each
    assert await redis.keys("*staged*") == []  # the refused commit's new values are gone


async def parked_across(redis: Redis, room: str) -> tuple[RedisChatState, RedisChatState, Any]:
    """Ann waits through p0, Ben sends through p1: (p0, p1, (ann, ben, Ann's generation))."""
    p0, p1 = process(redis), process(redis)
    ann = (await p1.join_room(room, "Ann", None)).value.client_id
    ben = (await p1.join_room(room, "Ben", None)).value.client_id
    first = (await p0.begin_wait(ann, None, None, "first", False)).value.entries
    assert first
    gen = (await p0.begin_wait(ann, None, first[-1].id, "bell", False)).value.generation
    return p0, p1, (ann, ben, gen)


async def test_a_wait_woken_with_news_and_the_wait_after_it_read_nothing(redis: Redis) -> None:
    p0, p1, (ann, ben, gen) = await parked_across(redis, "news")
    sent = await p1.send(ben, None, "hi", None)
    assert sent.wake == ("bell",) and sent.news  # the ring carries what the send wrote
    counting = CountingReads(p0.store.redis)
    p0.store.redis = counting  # type: ignore[assignment]
    entries = (await p0.poll(ann, gen, sent.news)).entries
    assert [e.text for e in entries or ()] == ["hi"]
    assert entries is not None
    nxt = await p0.begin_wait(ann, None, entries[-1].id, "bell2", False)
    assert nxt.value.entries == [] and counting.reads == 0  # each look: one commit, no read
    again = await p1.send(ben, None, "and again", None)
    assert again.wake == ("bell2",)
    got = (await p0.poll(ann, nxt.value.generation)).entries  # no news: what p0 recalls is old
    assert [e.text for e in got or ()] == ["and again"]


async def test_news_out_of_date_never_hides_a_message(redis: Redis) -> None:
    p0, p1, (ann, ben, gen) = await parked_across(redis, "stale-news")
    old = await p1.send(ben, None, "one", None)  # answers Ann's parked wait
    await p1.send(ben, None, "two", None)  # for her next wait
    entries = (await p0.poll(ann, gen, old.news)).entries or []  # what the ring carried
    assert [e.text for e in entries if e.kind == "message"] == ["one"]
    # Her next wait starts from that news, which does not know "two" yet.
    nxt = await p0.begin_wait(ann, None, entries[-1].id, "next", False)
    assert [e.text for e in nxt.value.entries or () if e.kind == "message"] == ["two"]


async def test_a_use_case_that_fails_on_what_a_refusal_found_reads_everything_again(
    redis: Redis,
) -> None:
    state = process(redis)
    ann = (await state.join_room("stale", "Ann", None)).value.client_id
    await state.join_room("stale", "Ben", None)
    commit = state.store.commit

    async def refused_once_with_a_stale_view(s: Any, current: bool = False, **kw: Any) -> bool:
        if not refused:
            refused.append(s)
            s.current = {state.store.keys.ident(ann): None}  # "Ann is gone": not so
            return False
        return await commit(s, current, **kw)

    refused: list[Any] = []
    state.store.commit = refused_once_with_a_stale_view  # type: ignore[method-assign]
    # On that view the core says "unknown client_id"; Redis says otherwise, so it reads again.
    sent = await asyncio.wait_for(state.send(ann, None, "still here", None), 30)
    assert refused and sent.value.recipients == 1


async def test_what_a_crashed_cluster_left_behind_is_repaired_on_load(redis: Redis) -> None:
    state = process(redis)
    ann = (await state.join_room("r", "Ann", None)).value.client_id
    ben = (await state.join_room("r", "Ben", None)).value.client_id
    queued = (await state.enter_queue(None, "Queued")).value.client_id
    await redis.delete(state.store.keys.ident(ben), state.store.keys.ident(queued))  # expired
    status = await state.status(ann)
    assert status.members == ["Ann"]
    assert (await state.enter_queue(None, "New")).value.status == "waiting"  # no ghost partner
    await redis.delete(state.store.keys.room("r"))
    assert (await state.status(ann)).state == "idle"


async def test_the_pipelined_layer_delivers_and_refuses_like_channels_redis() -> None:
    url = require_redis()
    layer = PipelinedRedisChannelLayer(hosts=[{"address": url}], capacity=2)
    try:
        channel = await layer.new_channel(prefix="mcpchat.wait")
        await layer.send(channel, {"type": "chat.ring", "n": 1})
        await layer.send(channel, {"type": "chat.ring", "n": 2})
        with pytest.raises(ChannelFull):
            await layer.send(channel, {"type": "chat.ring", "n": 3})
        got = [await asyncio.wait_for(layer.receive(channel), 30) for _ in range(2)]
        assert [m["n"] for m in got] == [1, 2]
        await layer.send(channel, {"type": "chat.ring", "n": 4})  # room again once read
        assert (await asyncio.wait_for(layer.receive(channel), 30))["n"] == 4
    finally:
        await layer.close_pools()
