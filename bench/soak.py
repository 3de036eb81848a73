"""Soak test: hundreds of simulated chatters against real servers for minutes, then proof that
nothing was lost, repeated or left behind.

    uv run python -m bench.soak                          # 300 chatters, 5 minutes, 1 process
    uv run python -m bench.soak --redis --seconds 120    # two processes sharing Redis

Loopback only: it starts its own servers on free ports and stops them. At the end it checks
that every accepted message reached each of its recipients exactly once, that no wait is
still registered, that the servers' memory went back to within 10 % of idle once everyone
had been reaped, and that every error was an expected refusal. Exit status 1 if not.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import redis
from fastmcp import Client

from bench.scenarios import rss_kb
from bench.soak_chatter import EXPECTED, Chatter, Record
from mcpchat.devserver import Server, eventually

SOAK_REDIS_URL = os.environ.get("MCPCHAT_SOAK_REDIS_URL", "redis://127.0.0.1:6379/10")
MAX_BODY = 65536
WARM_UP_SECONDS = 30
# The default limits, except reaping: everyone is gone half a minute after the load, so the
# memory check need not wait two minutes.
SERVER_ENV = {
    "MCPCHAT_LOG_LEVEL": "WARNING",
    "MCPCHAT_IDLE_TIMEOUT": "30",
    "MCPCHAT_REAP_INTERVAL": "1",
    "MCPCHAT_SESSION_IDLE_TIMEOUT": "30",
    "MCPCHAT_MAX_BODY_BYTES": str(MAX_BODY),
}


async def warm_up(urls: list[str], chatters: int) -> None:
    """The same chaos, as many chatters for a shorter time, then everyone reaped. Code that
    loads on first use (the session protocol, error paths, the 413 path) and the heap Python
    keeps once it has grown (freed small objects stay in its arenas) then count as idle, so
    what the check below measures is whether a load leaves anything behind."""
    await soak(urls, chatters, WARM_UP_SECONDS)
    await eventually(lambda: nobody_online(urls), 120, "the warm-up chatters to be reaped")


async def soak(urls: list[str], chatters: int, seconds: float) -> tuple[Record, list[str]]:
    record, stop = Record(), asyncio.Event()
    people = [Chatter(n, random.sample(urls, len(urls)), record, MAX_BODY) for n in range(chatters)]
    tasks = [asyncio.create_task(p.run(stop)) for p in people]
    await asyncio.sleep(seconds)
    stop.set()
    await asyncio.gather(*tasks)
    return record, [p.client_id for p in people if p.client_id]


async def still_waiting(urls: list[str], ids: list[str]) -> int:
    probe = Chatter(-2, urls, Record(), MAX_BODY)
    await probe._open()
    try:
        statuses = [await probe.call("get_status", client_id=cid) for cid in ids]
    finally:
        await probe._close()
    return sum(1 for s in statuses if s is not None and s["waiting"])


async def nobody_online(urls: list[str]) -> bool:
    """From the public status resource: asking a client's status would keep it alive."""
    for url in urls:
        async with Client(url) as client:
            status = json.loads((await client.read_resource("mcpchat://status"))[0].text)
            if status["online"]:
                return False
    return True


def check(record: Record) -> list[str]:
    """Every accepted message reached each of its recipients exactly once."""
    problems = []
    got = Counter(record.received)
    for key, recipients in record.sent.items():
        if got[key] != recipients:
            problems.append(f"message {key}: {got[key]} receipts for {recipients} recipients")
    problems += [f"message {key} that nobody sent arrived" for key in got if key not in record.sent]
    unexpected = {code: n for code, n in record.errors.items() if code not in EXPECTED}
    if unexpected:
        problems.append(f"unexpected errors: {unexpected} {record.exceptions[:5]}")
    return problems[:20]


def tracebacks(logs: str) -> list[str]:
    """Each distinct traceback in the servers' logs, shortened to the line before it, its last
    frames and the exception it ends with: the part that says what went wrong."""
    found: dict[str, str] = {}
    lines = logs.splitlines()
    for at, line in enumerate(lines):
        if not line.startswith("Traceback"):
            continue
        end = at + 1
        while end < len(lines) and (lines[end].startswith(" ") or not lines[end].strip()):
            end += 1
        raised = lines[end] if end < len(lines) else "(the log ends inside it)"
        before = lines[at - 1] if at else ""
        found.setdefault(raised, "\n".join([before, *lines[at:end][-8:], raised]))
    return list(found.values())[:5]


async def run(args: argparse.Namespace, servers: list[Server]) -> int:
    urls, pids = [s.mcp_url for s in servers], [s.proc.pid for s in servers if s.proc]
    fresh_kb = sum(rss_kb(p) for p in pids)
    await warm_up(urls, args.chatters)
    idle_kb = sum(rss_kb(p) for p in pids)
    start = time.monotonic()
    record, ids = await soak(urls, args.chatters, args.seconds)
    load_s = time.monotonic() - start
    peak_kb = sum(rss_kb(p) for p in pids)
    problems = check(record)
    waiting = await still_waiting(urls, ids)
    if waiting:
        problems.append(f"{waiting} waits still registered after every chatter stopped")
    try:
        await eventually(lambda: nobody_online(urls), 120, "every chatter to be reaped")
    except TimeoutError:
        problems.append("chatters were not reaped after they stopped")
    # The sweeper hands freed memory back at most every 30 s (chat/runtime.py): give it time.
    settled = time.monotonic()
    with contextlib.suppress(TimeoutError):  # reported below
        await eventually(lambda: sum(rss_kb(p) for p in pids) <= idle_kb * 1.10, 120, "memory")
    after_kb, settled_s = sum(rss_kb(p) for p in pids), time.monotonic() - settled
    if after_kb > idle_kb * 1.10:
        problems.append(f"memory {after_kb} KB is more than 10 % above idle ({idle_kb} KB)")
    logs = "".join(s.log() for s in servers)
    problems += [f"a server logged a traceback:\n{t}" for t in tracebacks(logs)]
    print(f"soak: {args.chatters} chatters for {load_s:.0f} s on {len(servers)} process(es)")
    print(f"  messages accepted {len(record.sent)}, receipts {len(record.received)}")
    print(
        f"  kills {record.kills}, cancelled waits {record.cancelled_waits}, "
        f"retried sends {record.retried_sends}"
    )
    print(f"  refusals {dict(sorted(record.errors.items()))}")
    print(
        f"  memory KB: fresh {fresh_kb}, idle after the warm-up {idle_kb}, loaded {peak_kb}, "
        f"after {after_kb} "
        f"({100 * (after_kb - idle_kb) / idle_kb:+.1f} %, {settled_s:.0f} s after everyone "
        "was reaped)"
    )
    for problem in problems:
        print("  PROBLEM:", problem)
    print("  result:", "FAILED" if problems else "passed")
    return 1 if problems else 0


def main() -> int:
    # A killed chatter's client library reports the connection it lost; that is the point.
    logging.getLogger("mcp.client").setLevel(logging.CRITICAL)
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--chatters", type=int, default=300, help="simulated chatters (300)")
    parser.add_argument("--seconds", type=float, default=300, help="length of the load (300)")
    parser.add_argument("--redis", action="store_true", help="two processes sharing Redis")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(SERVER_ENV)
        if args.redis:
            r = redis.Redis.from_url(SOAK_REDIS_URL)
            r.flushdb()
            env |= {"MCPCHAT_REDIS_URL": SOAK_REDIS_URL, "DJANGO_SQLITE_PATH": f"{tmp}/db"}
        count = 2 if args.redis else 1
        servers = [Server(Path(tmp) / f"p{i}", env=env, limits={}) for i in range(count)]
        try:
            for s in servers:
                s.start()
            return asyncio.run(run(args, servers))
        finally:
            for s in servers:
                s.stop()


if __name__ == "__main__":
    sys.exit(main())
