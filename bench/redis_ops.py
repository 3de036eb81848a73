"""Redis round trips and commands per delivered message, counted on the client side.

    uv run python -m bench.redis_ops [--messages 200]

Two chat services (as two processes would have), each with its own Redis clients and
channels_redis layer, on one event loop: Alice waits through one, Bob sends through the other,
in lockstep, as in the benchmark. Every pipeline execution and every single command is a round
trip; commands are counted inside pipelines too. Uses MCPCHAT_OPS_REDIS_URL's database
(default redis://127.0.0.1:6379/12), which it empties.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from collections import Counter
from typing import Any

import redis.asyncio
from redis.asyncio.client import Pipeline

from chat.core.config import ChatConfig
from chat.layer import Doorbells
from chat.redis_layer import PipelinedRedisChannelLayer
from chat.services import ChatService
from chat.state.redis import RedisChatState

OPS_REDIS_URL = os.environ.get("MCPCHAT_OPS_REDIS_URL", "redis://127.0.0.1:6379/11")
COUNTS: Counter[str] = Counter()


def count_round_trips() -> None:
    single = redis.asyncio.Redis.execute_command
    batch = Pipeline.execute

    async def execute_command(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not isinstance(self, Pipeline) or self.watching:
            COUNTS["round trips"] += 1
            COUNTS["commands"] += 1
            COUNTS[str(args[0]).upper()] += 1
        return await single(self, *args, **kwargs)

    async def execute(self: Pipeline, raise_on_error: bool = True) -> Any:
        COUNTS["round trips"] += 1
        COUNTS["commands"] += len(self.command_stack)
        for command in self.command_stack:
            COUNTS[str(command[0][0]).upper()] += 1
        return await batch(self, raise_on_error)

    redis.asyncio.Redis.execute_command = execute_command  # type: ignore[method-assign]
    Pipeline.execute = execute  # type: ignore[method-assign]


def process(config: ChatConfig) -> ChatService:
    state = RedisChatState(config, redis.asyncio.Redis.from_url(OPS_REDIS_URL))
    layer = PipelinedRedisChannelLayer(hosts=[{"address": OPS_REDIS_URL, "socket_timeout": None}])
    return ChatService(state, Doorbells(layer), config)


async def measure(messages: int) -> Counter[str]:
    await redis.asyncio.Redis.from_url(OPS_REDIS_URL).flushdb()
    config = ChatConfig()
    p0, p1 = process(config), process(config)
    alice = (await p0.join_room("ops", "Alice")).client_id
    bob = (await p1.join_room("ops", "Bob")).client_id
    cursor = (await p0.wait(alice, timeout=5)).last_id
    COUNTS.clear()
    for i in range(messages):
        waiting = asyncio.create_task(p0.wait(alice, timeout=10, after=cursor))
        while not p0.bells.layer.receive_count:  # parked, as a real reader's wait would be
            await asyncio.sleep(0.0005)
        await p1.send(bob, None, f"m{i}")
        got = await waiting
        assert [item.text for item in got.items] == [f"m{i}"], got
        cursor = got.last_id
    return COUNTS.copy()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.redis_ops", description=__doc__)
    parser.add_argument("--messages", type=int, default=200)
    args = parser.parse_args()
    count_round_trips()
    counts = asyncio.run(measure(args.messages))
    print(f"per delivered message ({args.messages} messages, lockstep):")
    for name, value in counts.most_common():
        print(f"  {name:14} {value / args.messages:6.2f}")


if __name__ == "__main__":
    main()
