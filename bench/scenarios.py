"""The benchmark's scenarios, each against one or two MCP endpoints (a pair's two people may
talk through different processes)."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import psutil

from bench.raw_client import RawClient

# The Redis database the benchmark's Redis-backed servers use (and flush).
BENCH_REDIS_URL = os.environ.get("MCPCHAT_BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")


def client(url: str, token: str | None, address: str | None = None) -> RawClient:
    """A raw-HTTP client; with `address`, it says it comes from there (X-Forwarded-For), for
    servers that trust that header."""
    return RawClient(url, token, address)


async def call(c: RawClient, tool: str, **args: Any) -> Any:
    return (await c.call_tool(tool, args)).data


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


async def timed_calls(c: RawClient, n: int, tool: str, **args: Any) -> list[float]:
    """Seconds each of n calls of `tool`, one after another, took."""
    times = []
    for _ in range(n):
        start = time.perf_counter()
        await call(c, tool, **args)
        times.append(time.perf_counter() - start)
    return times


async def bare_round_trip(url: str, token: str | None, n: int) -> list[float]:
    async with client(url, token) as c:
        me = await call(c, "join_room", display_name="Probe")
        times = await timed_calls(c, n, "get_status", client_id=me.client_id)
        await call(c, "leave_chat", client_id=me.client_id)
    return times


async def run_pair(
    urls: tuple[str, str],
    token: str | None,
    n: int,
    latencies: list[float],
    addresses: tuple[str | None, str | None] = (None, None),
) -> tuple[int, int]:
    """Bob sends n messages one after another; Alice's wait loop timestamps each arrival.
    Alice talks to the first endpoint, Bob to the second. Returns (lost, duplicated)."""
    ca_, cb_ = client(urls[0], token, addresses[0]), client(urls[1], token, addresses[1])
    async with ca_ as ca, cb_ as cb:
        alice = await call(ca, "join_room", display_name="Alice")
        bob = await call(cb, "join_room", room_id=alice.room_id, display_name="Bob")
        cursor = (await call(ca, "wait_for_message", client_id=alice.client_id, timeout=10)).last_id
        sent_at: dict[int, float] = {}
        arrived: list[int] = []
        got_one = asyncio.Event()

        async def reader() -> None:
            nonlocal cursor
            while len(arrived) < n:
                r = await call(
                    ca, "wait_for_message", client_id=alice.client_id, after=cursor, timeout=20
                )
                now = time.perf_counter()
                if r.status == "timeout":
                    return
                for item in r.items:
                    if item.kind == "message":
                        latencies.append(now - sent_at[item.message_id])
                        arrived.append(item.message_id)
                cursor = r.last_id
                got_one.set()

        task = asyncio.create_task(reader())
        for i in range(1, n + 1):
            got_one.clear()
            sent_at[i] = time.perf_counter()
            await call(cb, "send_message", client_id=bob.client_id, message=f"message {i}")
            await asyncio.wait_for(got_one.wait(), 30)
        await asyncio.wait_for(task, 30)
        await call(cb, "leave_chat", client_id=bob.client_id)
        await call(ca, "leave_chat", client_id=alice.client_id)
        duplicated = len(arrived) - len(set(arrived))
        in_order = sum(1 for i, mid in enumerate(arrived, 1) if i == mid)
        return n - min(in_order, n), duplicated


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU the processes have used."""
    return sum(sum(psutil.Process(p).cpu_times()[:2]) for p in pids)


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def settled_rss_kb(pid: int, bound: float = 10.0) -> int:
    """RSS once it has stopped falling for a second (at most `bound` s): jemalloc hands the
    pages of freed objects back over about a second (mcpchat/allocator.py), so a reading
    right after a busy stretch counts its garbage; pymalloc keeps them either way."""
    readings, deadline = [rss_kb(pid)], time.monotonic() + bound
    while time.monotonic() < deadline:
        await asyncio.sleep(0.25)
        readings.append(rss_kb(pid))
        if len(readings) > 4 and min(readings[-4:]) >= readings[-5]:
            break
    return readings[-1]


async def parked_waiters(
    url: str, token: str | None, count: int, pid: int | None
) -> dict[str, Any]:
    async with client(url, token) as c:
        people = []
        for _ in range(count // 2):
            a = await call(c, "join_room", display_name="A")
            b = await call(c, "join_room", room_id=a.room_id, display_name="B")
            people += [a.client_id, b.client_id]
        for cid in people[::2]:
            await call(c, "wait_for_message", client_id=cid, timeout=0)  # take "joined"
        before = await settled_rss_kb(pid) if pid else None
        waits = [
            asyncio.create_task(call(c, "wait_for_message", client_id=cid, timeout=120))
            for cid in people
        ]
        # Poll one at a time: a burst of concurrent status calls would add its own peak memory
        # to the figure being measured.
        deadline = time.monotonic() + 120
        parked = 0
        while parked < len(people) and time.monotonic() < deadline:
            parked = 0
            for p in people:
                parked += (await call(c, "get_status", client_id=p)).waiting
        during = await settled_rss_kb(pid) if pid else None
        # The burst: every person sends one message at once, to a partner who is parked.
        start = time.perf_counter()
        await asyncio.gather(
            *(call(c, "send_message", client_id=cid, message="wake up") for cid in people)
        )
        results = await asyncio.gather(*waits)
        burst = time.perf_counter() - start
        delivered = sum(1 for r in results for i in r.items if i.kind == "message")
        for cid in people:
            await call(c, "leave_chat", client_id=cid)
        return {
            "parked": parked,
            "delivered": delivered,
            "before_kb": before,
            "during_kb": during,
            "burst_s": burst,
        }


async def flood(
    url: str, token: str | None, stop: asyncio.Event, limited: asyncio.Event
) -> dict[str, int]:
    """One client sending as fast as it can, call after call, to a partner who never reads;
    `limited` is set once the rate limit refuses it (its burst is spent: the steady state).
    Returns how many calls were accepted and refused."""
    counts = {"accepted": 0, "refused": 0}
    async with client(url, token, "198.51.100.66") as c:
        me = await call(c, "join_room", display_name="Flooder")
        await call(c, "join_room", room_id=me.room_id, display_name="Victim")
        while not stop.is_set():
            r = await c.call_tool(
                "send_message",
                {"client_id": me.client_id, "message": "x" * 100},
                raise_on_error=False,
            )
            counts["refused" if r.is_error else "accepted"] += 1
            if r.is_error:
                limited.set()
    return counts
