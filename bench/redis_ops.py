"""Redis round trips and commands per delivered message, counted on the client side.

    uv run python -m bench.redis_ops [--messages 200]
    uv run python -m bench.redis_ops --cpu      # CPU per message, Redis against in-memory

Two chat services (as two processes would have), each with its own Redis clients and
channels_redis layer, on one event loop: in each pair Alice waits through one, Bob sends
through the other, in lockstep, as in the benchmark. Every pipeline execution and every
single command is a round trip; commands are counted inside pipelines too. Uses the database
MCPCHAT_OPS_REDIS_URL names (default redis://127.0.0.1:6379/11), which it empties.

--cpu counts nothing (counting costs CPU too): it measures this process's CPU per delivered
message and the time from a send's start until the parked wait returns, once with the Redis
backend and once with the in-memory one (both "processes" sharing one state and layer). No
HTTP is involved, so the difference is what the Redis path itself costs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections import Counter
from typing import Any

import redis.asyncio
from redis.asyncio.client import Pipeline

from chat.core.config import ChatConfig
from chat.layer import Doorbells
from chat.local_layer import LocalChannelLayer
from chat.redis_layer import PipelinedRedisChannelLayer, layer_config
from chat.redis_wire import RedisWire
from chat.services import ChatService
from chat.state.memory import MemoryChatState
from chat.state.redis import RedisChatState

OPS_REDIS_URL = os.environ.get("MCPCHAT_OPS_REDIS_URL", "redis://127.0.0.1:6379/11")
COUNTS: Counter[str] = Counter()


def count_round_trips() -> None:
    single = redis.asyncio.Redis.execute_command
    batch = Pipeline.execute
    wire = RedisWire.pipeline  # the state's connection; `call` and scripts go through it

    async def pipeline(self: RedisWire, commands: Any) -> Any:
        COUNTS["round trips"] += 1
        COUNTS["commands"] += len(commands)
        for command in commands:
            COUNTS[str(command[0]).upper()] += 1
        return await wire(self, commands)

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
    RedisWire.pipeline = pipeline  # type: ignore[method-assign]


def process(config: ChatConfig) -> ChatService:
    state = RedisChatState(config, RedisWire.from_url(OPS_REDIS_URL))
    layer = PipelinedRedisChannelLayer(**layer_config(OPS_REDIS_URL))
    return ChatService(state, Doorbells(layer), config)


def in_memory(config: ChatConfig) -> tuple[ChatService, ChatService]:
    """Two services on one in-memory state and layer: the single process's path."""
    state, layer = MemoryChatState(config), LocalChannelLayer()
    return ChatService(state, Doorbells(layer, 0), config), ChatService(
        state, Doorbells(layer, 0), config
    )


async def pair(
    p0: ChatService, p1: ChatService, n: int, messages: int, latencies: list[float] | None = None
) -> None:
    alice = (await p0.join_room(f"ops-{n}", "Alice")).client_id
    bob = (await p1.join_room(f"ops-{n}", "Bob")).client_id
    cursor = (await p0.wait(alice, timeout=5)).last_id
    READY.append(n)
    await START.wait()
    for i in range(messages):
        waiting = asyncio.create_task(p0.wait(alice, timeout=10, after=cursor))
        await asyncio.sleep(0.002)  # pacing: the reader's wait parks before the message comes
        sent = time.perf_counter()
        await p1.send(bob, None, f"m{i}")
        got = await waiting
        if latencies is not None:
            latencies.append(time.perf_counter() - sent)
        assert [item.text for item in got.items] == [f"m{i}"], got
        cursor = got.last_id


START = asyncio.Event()
# Lockstep goes faster than a person's send limit: the limits are not what is measured.
LOOSE = {f"{kind}_{part}": 100_000 for kind in ("send", "wait") for part in ("rate", "burst")}
READY: list[int] = []


async def measure(pairs: int, messages: int) -> Counter[str]:
    await redis.asyncio.Redis.from_url(OPS_REDIS_URL).flushdb()
    config = ChatConfig(**LOOSE)  # type: ignore[arg-type]
    p0, p1 = process(config), process(config)
    talking = [asyncio.create_task(pair(p0, p1, n, messages)) for n in range(pairs)]
    while len(READY) < pairs and not any(t.done() for t in talking):
        await asyncio.sleep(0.01)  # until every pair is set up
    COUNTS.clear()
    START.set()
    await asyncio.gather(*talking)
    return COUNTS.copy()


async def cpu(messages: int) -> None:
    await redis.asyncio.Redis.from_url(OPS_REDIS_URL).flushdb()
    config = ChatConfig(**LOOSE)  # type: ignore[arg-type]
    for name, (p0, p1) in [
        ("Redis", (process(config), process(config))),
        ("in-memory", in_memory(config)),
    ]:
        READY.clear()
        START.set()
        latencies: list[float] = []
        await pair(p0, p1, 0, 20)  # warm-up: connections, scripts, first allocations
        cpu0 = time.process_time()
        await pair(p0, p1, 1, messages, latencies)
        used = (time.process_time() - cpu0) * 1000 / messages
        p50 = statistics.median(latencies) * 1000
        print(f"{name:10} CPU {used:5.2f} ms/message, send -> wait returns p50 {p50:5.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.redis_ops", description=__doc__)
    parser.add_argument("--messages", type=int, default=200, help="per pair (200)")
    parser.add_argument("--pairs", type=int, default=1, help="pairs in lockstep at once (1)")
    parser.add_argument(
        "--cpu", action="store_true", help="CPU per message, Redis against in-memory (no counts)"
    )
    args = parser.parse_args()
    if args.cpu:
        asyncio.run(cpu(args.messages))
        return
    count_round_trips()
    counts = asyncio.run(measure(args.pairs, args.messages))
    total = args.pairs * args.messages
    print(f"per delivered message ({args.pairs} pairs x {args.messages} messages, lockstep):")
    for name, value in counts.most_common():
        print(f"  {name:18} {value / total:6.2f}")


if __name__ == "__main__":
    main()
