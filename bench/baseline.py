"""`--baseline`: the same scenarios against a bare FastMCP server (bench/bare_server.py), in
the same run, served the same way, so that mcpchat's figures read as ratios to what the MCP
stack itself costs here.

What each mcpchat figure is compared with:
- a tool call's round trip (`get_status`)       -> the bare `echo` call's round trip
- one pair's message latency                    -> the bare `echo` call's round trip
- server CPU per delivered message (N pairs)    -> server CPU per `echo` call (2N callers)
- memory per parked `wait_for_message`          -> memory per parked `park` call
- the burst: every parked wait woken at once    -> every parked `park` woken at once
- idle RSS, and RSS once the load has gone      -> the bare server's idle RSS
"""

from __future__ import annotations

import asyncio
import json
import time

from bench.scenarios import call, client, cpu_seconds, pct, rss_kb, settled_rss_kb, timed_calls

# figure -> (the bare figure it is divided by, the target ratio or None)
COMPARED = {
    "round trip p50 ms": ("echo p50 ms", 1.15),
    "1 pair p50 ms": ("echo p50 ms", 1.4),
    "server CPU ms/message": ("CPU ms/echo call", 2.3),
    "KB per parked wait": ("KB per parked call", 1.1),
    "burst s": ("burst s", None),
    "idle RSS MB": ("idle RSS MB", None),
}


async def bare_figures(
    url: str, pid: int, callers: int, calls: int, parked: int
) -> dict[str, float]:
    """The bare server's figures, measured as the main run measures mcpchat's."""
    f: dict[str, float] = {"idle RSS MB": rss_kb(pid) / 1024}
    async with client(url, None) as c:
        f["echo p50 ms"] = pct(await timed_calls(c, 200, "echo", text="ping"), 50)

    async def caller() -> None:
        async with client(url, None) as c:
            for i in range(calls):
                await call(c, "echo", text=f"message {i}")

    cpu0 = cpu_seconds([pid])
    await asyncio.gather(*(caller() for _ in range(callers)))
    f["CPU ms/echo call"] = (cpu_seconds([pid]) - cpu0) * 1000 / (callers * calls)
    f.update(await bare_parked(url, pid, parked))
    return f


async def bare_parked(url: str, pid: int, count: int) -> dict[str, float]:
    async with client(url, None) as c:
        before = await settled_rss_kb(pid)
        keys = [f"k{i}" for i in range(count)]
        calls = [asyncio.create_task(call(c, "park", key=k, timeout=120)) for k in keys]
        deadline = time.monotonic() + 120
        while await call(c, "parked") < count and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        during = await settled_rss_kb(pid)
        start = time.perf_counter()
        await asyncio.gather(*(call(c, "wake", key=k) for k in keys))
        woken = sum(await asyncio.gather(*calls))
        burst = time.perf_counter() - start
    return {
        "KB per parked call": (during - before) / count,
        "burst s": burst,
        "parked calls woken": woken,
    }


async def until_nobody_online(url: str, token: str | None, timeout: float) -> None:
    """Until the server has reaped everyone (its public status resource; asking a person's
    status would keep them alive)."""
    deadline = time.monotonic() + timeout
    async with client(url, token) as c:
        while time.monotonic() < deadline:
            status = json.loads((await c.read_resource("mcpchat://status"))[0].text)
            if not status["online"]:
                return
            await asyncio.sleep(0.5)
    raise TimeoutError(f"people still online after {timeout} s")


def report_baseline(mcpchat: dict[str, float], bare: dict[str, float]) -> None:
    print(f"\n{'mcpchat against bare FastMCP':28}{'mcpchat':>12}{'bare':>12}{'ratio':>9}  target")
    for name, (bare_name, target) in COMPARED.items():
        mine, theirs = mcpchat.get(name), bare.get(bare_name)
        if mine is None or theirs is None:
            continue
        if mine <= 0 or theirs <= 0:
            # RSS that did not grow: too few parked calls to show past what the allocator
            # already held (PYTHONMALLOC=malloc reuses what earlier scenarios freed).
            print(f"{name:28}{mine:>12.2f}{theirs:>12.2f}  too few to measure (use more)")
            continue
        ratio = mine / theirs
        goal = f"<= {target}x" + ("" if ratio <= target else " (missed)") if target else ""
        print(f"{name:28}{mine:>12.2f}{theirs:>12.2f}{ratio:>8.2f}x  {goal}")
    idle, after = mcpchat.get("idle RSS MB"), mcpchat.get("RSS after load MB")
    if idle and after:
        print(
            f"{'RSS after load / idle':28}{after:>12.2f}{idle:>12.2f}{after / idle:>8.2f}x  <= 1.1x"
        )
    print(
        f"{'burst of parked waits woken':28}{mcpchat.get('parked waits woken', 0):>12.0f}"
        f"{bare.get('parked calls woken', 0):>12.0f}"
    )
