"""An ASGI app that serves another one and profiles it on request (bench/profile.py).

    BENCH_PROFILED_APP=mcpchat.asgi:application daphne bench.profiled:application

POST /__profile__/start begins a cProfile of the server's thread (where the event loop runs
every request), POST /__profile__/stop?path=... writes it there. POST /__profile__/trace
starts tracemalloc, /__profile__/snapshot?path=... writes a snapshot of what is allocated,
/__profile__/mallocstats prints the allocator's statistics to the server's log. Only the
benchmark uses it: the steady state is profiled, not the imports and start-up a whole-process
profile would show. Never serve it to anyone else.
"""

from __future__ import annotations

import cProfile
import gc
import importlib
import os
import sys
import tracemalloc
from typing import Any
from urllib.parse import parse_qs

from starlette.types import Receive, Scope, Send

module, _, name = os.environ.get("BENCH_PROFILED_APP", "mcpchat.asgi:application").partition(":")
inner: Any = getattr(importlib.import_module(module), name)
_profile: cProfile.Profile | None = None


async def application(scope: Scope, receive: Receive, send: Send) -> None:
    global _profile
    path = scope.get("path", "")
    if scope["type"] != "http" or not path.startswith("/__profile__/"):
        await inner(scope, receive, send)
        return
    out = parse_qs(scope.get("query_string", b"").decode()).get("path", ["server.pstats"])[0]
    if path.endswith("/trace"):
        tracemalloc.start(30)
    elif path.endswith("/mallocstats"):
        sys._debugmallocstats()  # to stderr: the server's log
    elif path.endswith("/snapshot"):
        gc.collect()
        tracemalloc.take_snapshot().dump(out)
    elif path.endswith("/start"):
        _profile = cProfile.Profile()
        _profile.enable()
    elif path.endswith("/stop") and _profile is not None:
        _profile.disable()
        _profile.dump_stats(out)
        _profile = None
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})
