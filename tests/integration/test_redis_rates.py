"""The address limit on Redis: its compare-and-set rides with the use case's first read, and a
call whose read fails leaves the key free for the next one. (What the limits do for users,
on both backends, is in test_limits.py.)"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from redis.asyncio import Redis

from chat.core.errors import RateLimited
from chat.core.limits import Charge, Rate
from chat.redis_wire import RedisWire
from tests.integration.test_redis_state import process
from tests.redis_server import require_redis

ADDRESS = Charge("address_send:203.0.113.9", Rate(1 / 60, 3, "messages from your address"))


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(require_redis())
    yield client
    await client.aclose()


def count_round_trips(wire: RedisWire) -> list[int]:
    """Counts, from now on, each round trip through `wire` (a call or a pipeline, scripts
    included) and the commands in it."""
    trips: list[int] = []
    pipeline: Callable[[Any], Any] = wire.pipeline

    async def counted(commands: Any) -> Any:
        trips.append(len(commands))
        return await pipeline(commands)

    wire.pipeline = counted  # type: ignore[method-assign]
    return trips


async def test_a_send_charged_to_its_address_costs_no_round_trip_more(redis: Redis) -> None:
    state = process(redis)
    await state.join_room("r", "Ann", None)
    ben = (await state.join_room("r", "Ben", None)).value.client_id
    await state.send(ben, None, "uncharged", None)  # the commit script is known from now on
    trips = count_round_trips(state.redis)
    await state.send(ben, None, "one", None, ADDRESS)
    # The read (with the limit's compare-and-set in it), then the commit.
    assert len(trips) == 2 and trips[0] >= 2
    await state.send(ben, None, "two", None, ADDRESS)
    assert len(trips) == 4
    await state.send(ben, None, "three", None, ADDRESS)
    with pytest.raises(RateLimited):  # the burst of 3 is spent, as this process knows
        await state.send(ben, None, "four", None, ADDRESS)
    assert len(trips) == 6  # refused without asking Redis


async def test_a_send_whose_read_failed_leaves_the_limit_to_the_next(redis: Redis) -> None:
    state = process(redis)
    await state.join_room("r", "Ann", None)
    ben = (await state.join_room("r", "Ben", None)).value.client_id
    load = state.store.load
    failed: list[bool] = []

    async def fails_once(**args: Any) -> Any:
        if not failed:
            failed.append(True)
            raise ConnectionError("lost the connection to Redis")
        return await load(**args)

    state.store.load = fails_once  # type: ignore[method-assign]
    with pytest.raises(ConnectionError):
        await state.send(ben, None, "lost", None, ADDRESS)
    # The next calls from that address are settled, not queued behind the failed one.
    await asyncio.wait_for(state.send(ben, None, "next", None, ADDRESS), 30)
    sends = [state.send(ben, None, f"m{i}", None, ADDRESS) for i in range(3)]
    done = await asyncio.wait_for(asyncio.gather(*sends, return_exceptions=True), 30)
    assert sum(isinstance(d, RateLimited) for d in done) == 1  # 3 in all: the burst
