"""`mcpchat serve --workers N`: N server processes accepting on one shared listening socket.

The parent binds the port once and hands the socket to every worker (`mcpchat serve --fd`,
under uvicorn or daphne), so the kernel spreads connections over them; any request may land
on any worker, which the Redis backend makes safe. A worker that dies is started again;
SIGTERM or Ctrl-C stops them all.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from types import FrameType

RESTART_PAUSE = 1.0  # seconds before a crashed worker is started again (no tight crash loop)


def serve_workers(host: str, port: int, backlog: int, workers: int, server: str) -> int:
    _migrate_once()  # here, not in every worker at once
    env = {**os.environ, "MCPCHAT_AUTO_MIGRATE": "0"}
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.create_server((host, port), family=family, backlog=backlog)
    listener.set_inheritable(True)
    fd = listener.fileno()
    argv = [sys.executable, "-m", "mcpchat.cli", "serve", "--server", server, "--fd", str(fd)]
    procs = [subprocess.Popen(argv, pass_fds=[fd], env=env) for _ in range(workers)]
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"mcpchat: {workers} workers, pids {[p.pid for p in procs]}", file=sys.stderr, flush=True)
    while not stopping:
        for i, proc in enumerate(procs):
            if proc.poll() is not None and not stopping:
                print(
                    f"mcpchat: worker {proc.pid} exited ({proc.returncode}); starting another",
                    file=sys.stderr,
                    flush=True,
                )
                time.sleep(RESTART_PAUSE)
                procs[i] = subprocess.Popen(argv, pass_fds=[fd], env=env)
        time.sleep(0.2)
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
    listener.close()
    return 0


def _migrate_once() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mcpchat.settings")
    import django

    django.setup()
    from mcpchat.bootstrap import migrate_if_needed

    migrate_if_needed()
