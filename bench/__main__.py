"""mcpchat benchmark: one process against two Redis-backed processes, in the same run.

    uv run python -m bench                      # starts its own servers on free ports
    uv run python -m bench http://host:8000/mcp --pid 1234   # a running server (pid: memory)

For each setup: a bare tool call's round trip, message latency (send -> partner's wait
returns) for one pair and for N pairs in lockstep, messages per second, server CPU per
delivered message, lost and duplicated messages, and memory per parked wait. In the Redis
setup each pair's two people talk through different processes, and Redis' own commands and
CPU per message are counted. Ratios compare the Redis setup with the single process.
Then a flooder: one pair's latency alone and while another client sends as fast as it can
(the server with its default rate limits).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

from bench.baseline import bare_figures, report_baseline, until_nobody_online
from bench.scenarios import (
    BENCH_REDIS_URL,
    bare_round_trip,
    cpu_seconds,
    flood,
    parked_waiters,
    pct,
    rss_kb,
    run_pair,
)
from chat.runtime import RELEASE_EVERY
from mcpchat.cli import SERVERS
from mcpchat.devserver import Server

FLOOD_PAIR_BURST = 20  # MCPCHAT_SEND_BURST's default


@dataclass
class Figures:
    setup: str
    rows: dict[str, float] = field(default_factory=dict)


def redis_counters(r: redis.Redis | None) -> tuple[int, float]:
    """(commands processed, CPU seconds) of the Redis server."""
    if r is None:
        return 0, 0.0
    stats, cpu = r.info("stats"), r.info("cpu")
    return int(stats["total_commands_processed"]), cpu["used_cpu_sys"] + cpu["used_cpu_user"]


async def measure(
    setup: str,
    urls: list[str],
    pids: list[int],
    token: str | None,
    args: argparse.Namespace,
    r: redis.Redis | None = None,
    settle: float = 0,
) -> Figures:
    """The scenarios; with `settle`, also the RSS once everyone has been reaped (the server
    reaps after its idle timeout, which `settle` seconds must exceed)."""
    f = Figures(setup)
    pair_urls = (urls[0], urls[-1])  # with two processes, a pair spans both
    rtt = await bare_round_trip(urls[0], token, 200)
    f.rows["round trip p50 ms"] = pct(rtt, 50)
    f.rows["idle RSS MB"] = rss_kb(pids[0]) / 1024
    one: list[float] = []
    lost, dup = await run_pair(pair_urls, token, args.messages, one)
    f.rows["1 pair p50 ms"], f.rows["1 pair p99 ms"] = pct(one, 50), pct(one, 99)
    many: list[float] = []
    cpu0, (cmd0, rcpu0) = cpu_seconds(pids), redis_counters(r)
    start = time.perf_counter()
    results = await asyncio.gather(
        *(run_pair(pair_urls, token, args.messages, many) for _ in range(args.pairs))
    )
    elapsed = time.perf_counter() - start
    cpu1, (cmd1, rcpu1) = cpu_seconds(pids), redis_counters(r)
    delivered = max(len(many), 1)
    f.rows[f"{args.pairs} pairs p50 ms"] = pct(many, 50)
    f.rows[f"{args.pairs} pairs p99 ms"] = pct(many, 99)
    f.rows["messages/s"] = len(many) / elapsed
    f.rows["server CPU ms/message"] = (cpu1 - cpu0) * 1000 / delivered
    if r is not None:
        f.rows["Redis commands/message"] = (cmd1 - cmd0) / delivered
        f.rows["Redis CPU ms/message"] = (rcpu1 - rcpu0) * 1000 / delivered
    f.rows["lost"] = lost + sum(x[0] for x in results)
    f.rows["duplicated"] = dup + sum(x[1] for x in results)
    m = await parked_waiters(urls[0], token, args.waiters, pids[0])
    f.rows["parked waits woken"] = m["delivered"]
    f.rows["KB per parked wait"] = (m["during_kb"] - m["before_kb"]) / max(m["parked"], 1)
    f.rows["burst s"] = m["burst_s"]
    if settle:
        await until_nobody_online(urls[0], token, settle)
        # The sweeper hands freed memory back at most every RELEASE_EVERY seconds after it
        # reaps (chat/runtime.py); nothing outside the process shows when it has.
        await asyncio.sleep(RELEASE_EVERY + 2 * float(SETTLE_ENV["MCPCHAT_REAP_INTERVAL"]))
        f.rows["RSS after load MB"] = rss_kb(pids[0]) / 1024
    return f


def report(results: list[Figures]) -> None:
    base = results[0]
    head = f"{'figure':28}" + "".join(f"{r.setup:>22}" for r in results)
    print(head + ("   ratio" if len(results) > 1 else ""))
    names = list(dict.fromkeys(n for r in results for n in r.rows))
    for name in names:
        value = base.rows.get(name, float("nan"))
        line = f"{name:28}" + "".join(f"{r.rows.get(name, float('nan')):>22.2f}" for r in results)
        other = results[-1].rows.get(name)
        if len(results) > 1 and other is not None and name in base.rows and value:
            line += f"   {other / value:.2f}x"
        print(line)


ENV = {"MCPCHAT_LOG_LEVEL": "WARNING", "MCPCHAT_MAILBOX_SIZE": "1000"}
# --baseline waits for everyone to be reaped, so its single process reaps sooner: short enough
# for that, long enough that nobody is reaped mid-scenario (the parked-waits setup takes a
# while on a slow machine). Only there: a sweep every 2 s costs a Redis setup measurably.
IDLE_TIMEOUT = 60
SETTLE_ENV = {"MCPCHAT_IDLE_TIMEOUT": str(IDLE_TIMEOUT), "MCPCHAT_REAP_INTERVAL": "2"}


def run_local(args: argparse.Namespace, token: str | None) -> list[Figures]:
    env = dict(ENV)
    results = []
    # --baseline: servers on the last core, this load generator on the others, as an outside
    # check would pin them, so that the bare and the mcpchat server get the same core.
    cores = os.cpu_count() or 1
    server_cpus = {cores - 1} if args.baseline and cores > 1 else None
    with tempfile.TemporaryDirectory() as tmp:
        if args.baseline:
            if server_cpus:
                os.sched_setaffinity(0, set(range(cores - 1)))
            args.bare = run_bare(Path(tmp) / "bare", args, server_cpus)
        settling = {**env, **SETTLE_ENV} if args.baseline else env
        single = Server(
            Path(tmp) / "single", env=settling, cpus=server_cpus, server=args.server
        ).start()
        try:
            # --baseline: also the RSS once everyone has been reaped (the target is idle's).
            pid, settle = _pid(single), IDLE_TIMEOUT * 3 if args.baseline else 0
            f = asyncio.run(
                measure("1 process", [single.mcp_url], [pid], token, args, None, settle)
            )
            results.append(f)
        finally:
            single.stop()
        if args.no_redis:
            return results
        r = redis.Redis.from_url(BENCH_REDIS_URL)
        r.flushdb()
        shared = {**env, "MCPCHAT_REDIS_URL": BENCH_REDIS_URL, "DJANGO_SQLITE_PATH": f"{tmp}/db"}
        # --baseline: both on the servers' core, as the single process was. Unpinned they would
        # inherit this generator's affinity and share its core instead.
        cluster = [
            Server(Path(tmp) / f"p{i}", env=shared, cpus=server_cpus, server=args.server).start()
            for i in range(2)
        ]
        try:
            urls, pids = [s.mcp_url for s in cluster], [_pid(s) for s in cluster]
            setup = "2 processes (Redis)"
            results.append(asyncio.run(measure(setup, urls, pids, token, args, r)))
        finally:
            for s in cluster:
                s.stop()
            r.flushdb()
    return results


def run_bare(workdir: Path, args: argparse.Namespace, cpus: set[int] | None) -> dict[str, float]:
    bare = Server(
        workdir,
        app="bench.bare_server:application",
        ready_path="/ready",
        cpus=cpus,
        server=args.server,
    ).start()
    try:
        load = bare_figures(bare.mcp_url, _pid(bare), args.pairs * 2, args.messages, args.waiters)
        return asyncio.run(load)
    finally:
        bare.stop()


async def flooded(url: str, token: str | None, messages: int) -> dict[str, float]:
    """One pair's latency alone, then while a flooder sends as fast as it can from another
    address; the server keeps its default rate limits."""
    pair = (url, url)
    me, other = ("203.0.113.1", "203.0.113.2"), ("203.0.113.3", "203.0.113.4")
    alone: list[float] = []
    await run_pair(pair, token, messages, alone, me)
    stop, limited = asyncio.Event(), asyncio.Event()
    flooder = asyncio.create_task(flood(url, token, stop, limited))
    await asyncio.wait_for(limited.wait(), 60)
    loaded: list[float] = []
    await run_pair(pair, token, messages, loaded, other)
    stop.set()
    counts = await flooder
    return {
        "alone": pct(alone, 50),
        "flooded": pct(loaded, 50),
        "accepted": counts["accepted"],
        "refused": counts["refused"],
    }


def run_flood(args: argparse.Namespace, token: str | None) -> None:
    env = {"MCPCHAT_LOG_LEVEL": "WARNING", "MCPCHAT_TRUSTED_PROXY_HEADER": "X-Forwarded-For"}
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp), env=env, limits={}, server=args.server).start()  # default limits
        try:
            # The measured pair keeps within a person's limits: the default burst of 20
            # messages per client_id (lockstep goes faster than the steady 5 per second).
            f = asyncio.run(flooded(server.mcp_url, token, min(args.messages, FLOOD_PAIR_BURST)))
        finally:
            server.stop()
    print(
        f"flooder: 1 pair p50 {f['alone']:.2f} ms alone, {f['flooded']:.2f} ms flooded "
        f"({f['flooded'] / f['alone']:.2f}x); the flooder's sends: {f['accepted']:.0f} "
        f"accepted, {f['refused']:.0f} refused"
    )


def _pid(server: Server) -> int:
    assert server.proc is not None
    return server.proc.pid


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("url", nargs="?", help="MCP endpoint; omit to start local servers")
    parser.add_argument("--pid", type=int, help="server process id, for its CPU and memory")
    parser.add_argument("--pairs", type=int, default=50, help="pairs in lockstep (default 50)")
    parser.add_argument("--messages", type=int, default=100, help="messages per pair (100)")
    parser.add_argument("--waiters", type=int, default=1000, help="parked waits (1000)")
    parser.add_argument("--no-redis", action="store_true", help="only the single process")
    parser.add_argument("--no-flood", action="store_true", help="skip the flooder scenario")
    parser.add_argument(
        "--baseline",
        action="store_true",
        help="also run the scenarios against a bare FastMCP server (bench/bare_server.py) and "
        "print mcpchat's figures as ratios to it; pins the servers to the last core",
    )
    parser.add_argument(
        "--server",
        choices=SERVERS,
        default=SERVERS[0],
        help=f"what serves the local servers (default {SERVERS[0]}, as `mcpchat serve`)",
    )
    args = parser.parse_args()
    token = os.environ.get("MCPCHAT_ACCESS_TOKEN")
    if args.url:
        if args.pid is None:
            parser.error("--pid is needed to measure a running server's CPU and memory")
        report([asyncio.run(measure("server", [args.url], [args.pid], token, args))])
        return 0
    results = run_local(args, token)
    report(results)
    if args.baseline:
        report_baseline(results[0].rows, args.bare)
    if not args.no_flood:
        run_flood(args, token)
    return 0


if __name__ == "__main__":
    sys.exit(main())
