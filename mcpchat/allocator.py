"""Which memory allocator the server runs on: jemalloc for every object, when the system has it.

CPython's own small-object allocator (pymalloc) hands a 1 MiB arena back only once every
object in it is gone, and a load leaves a few long-lived objects scattered over most of the
arenas it grew: after 1,000 parked waits and their burst, everyone reaped, RSS stayed
1.6-1.7x of idle. glibc's malloc hands pages back only through `malloc_trim`, cost about a
tenth more CPU per call and slowed the burst. jemalloc (`PYTHONMALLOC=malloc` with it
preloaded) returns freed pages by itself within about a second, and measured as fast as
pymalloc (docs/PERFORMANCE.md). CPython picks its allocator as it starts, so `mcpchat serve`
runs itself again, in place, under this environment; the test and benchmark servers start
under it too (`mcpchat.devserver`).
"""

from __future__ import annotations

import ctypes.util
import os
import sys

# Freed pages go back to the system after about a second, by a background thread rather than
# on some later allocation (jemalloc's own default waits 10 s and needs allocations to run).
# One arena for every thread: the event loop allocates nearly everything, and the few other
# threads (Django's sync work, DNS lookups) then pin no half-empty arenas of their own (the
# two-minute soak, one run each: +5.0 % of idle after the load, against +9.9 % with
# jemalloc's default of four arenas per core).
JEMALLOC_CONF = "background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0,narenas:1"


def server_allocator() -> dict[str, str]:
    """The environment that runs a server on jemalloc: empty when the system has no
    jemalloc (Debian: `apt-get install libjemalloc2`), and when the operator chose already
    (any PYTHONMALLOC, such as PYTHONMALLOC=pymalloc for CPython's own, or an LD_PRELOAD)."""
    if os.environ.get("PYTHONMALLOC") or os.environ.get("LD_PRELOAD"):
        return {}
    library = ctypes.util.find_library("jemalloc")
    if library is None:
        return {}
    return {
        "LD_PRELOAD": library,
        "PYTHONMALLOC": "malloc",
        "MALLOC_CONF": os.environ.get("MALLOC_CONF", JEMALLOC_CONF),
    }


def run_under_server_allocator(argv: list[str]) -> None:
    """Run `python -m mcpchat.cli argv` again in this process (the same pid) under
    `server_allocator`; return at once if there is nothing to change (or it already ran)."""
    allocator = server_allocator()
    if allocator:
        command = [sys.executable, "-m", "mcpchat.cli", *argv]
        os.execve(sys.executable, command, {**os.environ, **allocator})
