"""A separate process that parks a wait_for_message and is killed by the test mid-wait."""

from __future__ import annotations

import asyncio
import subprocess
import sys

from fastmcp import Client


def start_waiter(url: str, client_id: str, mode: str) -> subprocess.Popen[str]:
    """This module as a process of its own, parking a 300 s wait for `client_id`."""
    from mcpchat.devserver import ROOT

    return subprocess.Popen(
        [sys.executable, "-m", "tests.e2e.waiter", url, client_id, mode],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )


async def main(url: str, client_id: str, mode: str) -> None:
    kwargs = {"mode": "legacy"} if mode == "legacy" else {}
    async with Client(url, **kwargs) as client:
        print("waiting", flush=True)
        await client.call_tool("wait_for_message", {"client_id": client_id, "timeout": 300})
        print("returned", flush=True)


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
