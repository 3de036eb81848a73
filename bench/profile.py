"""Where a server's CPU goes, per call or per message: cProfile of the steady state.

    uv run python -m bench.profile                    # mcpchat, one pair exchanging messages
    uv run python -m bench.profile --scenario call    # mcpchat, get_status calls one by one
    uv run python -m bench.profile --bare             # the bare FastMCP server, echo calls
    uv run python -m bench.profile --redis --pairs 50 --units 2500   # 50 pairs at once

It starts the server under bench/profiled.py, warms it up, profiles N units of the scenario
and prints the server's own CPU time per unit by package (self time, so the groups add up),
then the functions that cost most. cProfile slows Python code down by about 2x: read the
shares, not the absolute figures (the benchmark gives those).
"""

from __future__ import annotations

import argparse
import asyncio
import pstats
import sys
import tempfile
from pathlib import Path

import httpx2
import redis

from bench.scenarios import BENCH_REDIS_URL, call, client, run_pair
from mcpchat.cli import SERVERS
from mcpchat.devserver import LOOSE_LIMITS, Server

# (group, a piece of the code file's path); the first match wins, in this order.
GROUPS = [
    ("chat core", "/chat/core/"),
    ("chat state", "/chat/state/"),
    ("chat services, tools, layer", "/chat/"),
    ("mcpchat ASGI (mount, body limit)", "/mcpchat/"),
    ("benchmark wrapper", "/bench/"),
    ("channels", "/channels/"),
    ("fastmcp", "/fastmcp/"),
    ("mcp SDK", "/mcp/"),
    ("mcp_types", "/mcp_types/"),
    ("pydantic", "pydantic"),
    ("opentelemetry", "opentelemetry"),
    ("starlette, sse", "starlette"),
    ("anyio", "/anyio/"),
    ("daphne", "/daphne/"),
    ("twisted", "/twisted/"),
    ("uvicorn, h11, httptools", "vicorn"),
    ("json", "/json/"),
    ("logging", "/logging/"),
    ("asyncio", "/asyncio/"),
    ("django", "/django/"),
    ("redis", "/redis/"),
    ("email (header parsing)", "/email/"),
]


def group_of(filename: str) -> str:
    for group, piece in GROUPS:
        if piece in filename:
            return group
    return "builtins" if filename == "~" else "other Python"


async def load(url: str, scenario: str, bare: bool, units: int, pairs: int = 1) -> None:
    if scenario == "message":  # `units` messages in all, shared by the pairs
        each = max(1, units // pairs)
        await asyncio.gather(*(run_pair((url, url), None, each, []) for _ in range(pairs)))
        return
    async with client(url, None) as c:
        if bare:
            for _ in range(units):
                await call(c, "echo", text="ping")
            return
        me = await call(c, "join_room", display_name="Probe")
        for _ in range(units):
            await call(c, "get_status", client_id=me.client_id)


def profile(args: argparse.Namespace, out: Path) -> None:
    app = "bench.bare_server:application" if args.bare else "mcpchat.asgi:application"
    env = {"BENCH_PROFILED_APP": app, "MCPCHAT_LOG_LEVEL": "WARNING"}
    if args.redis:
        redis.Redis.from_url(args.redis).flushdb()
        env["MCPCHAT_REDIS_URL"] = args.redis
    with tempfile.TemporaryDirectory() as tmp:
        ready = "/ready" if args.bare else "/admin/login/"
        server = Server(
            Path(tmp),
            env=env,
            limits=dict(LOOSE_LIMITS),
            app="bench.profiled:application",
            ready_path=ready,
            server=args.server,
        ).start()
        try:
            asyncio.run(load(server.mcp_url, args.scenario, args.bare, 50))  # warm up
            httpx2.post(f"{server.base_url}/__profile__/start")
            asyncio.run(load(server.mcp_url, args.scenario, args.bare, args.units, args.pairs))
            httpx2.post(f"{server.base_url}/__profile__/stop", params={"path": str(out)})
        finally:
            server.stop()


IDLE = ("poll", "select")  # the event loop waiting for the network: not CPU


def report(out: Path, units: int, top: int) -> None:
    stats = pstats.Stats(str(out)).stats  # type: ignore[attr-defined]
    by_group: dict[str, float] = {}
    total = 0.0
    for (filename, _, name), (_, _, self_time, _, callers) in stats.items():
        if filename == "~" and any(f"'{idle}'" in name for idle in IDLE):
            continue
        total += self_time
        # A builtin (pydantic-core's validators, socket.send) counts for whoever called it.
        shares = {k: v[2] for k, v in callers.items()} if filename == "~" and callers else {}
        for (caller_file, _, _), seconds in (shares or {(filename, 0, ""): self_time}).items():
            group = group_of(caller_file)
            by_group[group] = by_group.get(group, 0.0) + seconds
    print(f"server CPU per unit under cProfile: {total * 1e3 / units:.2f} ms (idle time excluded)")
    for group, seconds in sorted(by_group.items(), key=lambda kv: -kv[1]):
        print(f"  {group:34} {seconds * 1e6 / units:8.0f} us  {seconds / total:6.1%}")
    print(f"\nthe {top} functions with the most self time, per unit:")
    rows = sorted(stats.items(), key=lambda kv: -kv[1][2])[:top]
    for (filename, line, name), (_, calls, self_time, cumulative, _) in rows:
        where = filename.split("site-packages/")[-1]
        print(
            f"  {self_time * 1e6 / units:7.1f} us self {cumulative * 1e6 / units:8.1f} us cum "
            f"{calls / units:6.1f}x  {where}:{line}({name})"
        )


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.profile", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--scenario", choices=["message", "call"], default="message")
    parser.add_argument("--bare", action="store_true", help="the bare FastMCP server (echo)")
    parser.add_argument("--server", choices=SERVERS, default=SERVERS[0])
    parser.add_argument(
        "--redis",
        nargs="?",
        const=BENCH_REDIS_URL,
        help=f"mcpchat on the Redis backend (default URL {BENCH_REDIS_URL}, flushed first)",
    )
    parser.add_argument("--units", type=int, default=500, help="messages or calls (500)")
    parser.add_argument(
        "--pairs", type=int, default=1, help="pairs exchanging the messages at once (1)"
    )
    parser.add_argument("--top", type=int, default=25, help="functions to list (25)")
    parser.add_argument("--out", type=Path, help="keep the profile here (pstats)")
    args = parser.parse_args()
    if args.bare:
        args.scenario = "call"
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp) / "server.pstats"
        profile(args, out.resolve())
        report(out, args.units, args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
