"""`mcpchat` command line: `serve` runs the server, `chat` is a terminal chat client."""

from __future__ import annotations

import argparse
import os
import signal
import socket
import sys
from types import FrameType
from typing import Any

DEFAULT_URL = "http://127.0.0.1:8000/mcp"
APP = "mcpchat.asgi:application"
SERVERS = ("uvicorn", "daphne")


# How long an idle keep-alive connection stays open. Uvicorn's own 5 s is exactly httpx's
# client-side expiry (the FastMCP and Python SDK clients), so a client reusing a connection as
# the server closed it lost the request (a ReadError: 14 in a two-minute Redis soak). Longer
# than the clients' (httpx 5 s, Node's fetch 4 s) and than a proxy's idle pool (nginx, AWS
# ALB: 60 s), so the client or proxy always closes first. Daphne closes idle connections
# after 60 s (Twisted's default).
KEEP_ALIVE_SECONDS = 75


def uvicorn_options() -> dict[str, Any]:
    """How `serve` runs uvicorn: as daphne does, no access log and no trust in X-Forwarded-*
    (MCPCHAT_TRUSTED_PROXY_HEADER decides), and the application's lifespan is required; the
    event loop is uvicorn's "auto" (uvloop, installed with mcpchat). `uvicorn_flags` says the
    same to `python -m uvicorn` (the test and benchmark servers, mcpchat/devserver.py)."""
    return {
        "access_log": False,
        "proxy_headers": False,
        "lifespan": "on",
        "loop": "auto",
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
    }


def uvicorn_flags() -> list[str]:
    """`uvicorn_options` as uvicorn's command line: `--no-<name>` for an option turned off,
    `--<name> <value>` for the rest."""
    flags: list[str] = []
    for name, value in uvicorn_options().items():
        flag = name.replace("_", "-")
        flags += [f"--no-{flag}"] if value is False else [f"--{flag}", str(value)]
    return flags


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="mcpchat", description="Real-time human-to-human chat over MCP."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve",
        help="run the server with the MCP endpoint at /mcp",
        description="Run mcpchat under uvicorn (or daphne). Pending migrations of the embedded "
        "SQLite database apply themselves. Settings come from DJANGO_* and MCPCHAT_* variables.",
    )
    serve.add_argument(
        "--server",
        choices=SERVERS,
        default="uvicorn",
        help="the ASGI server (default uvicorn, with httptools and uvloop: faster in the "
        "benchmark; daphne serves the same application)",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes sharing the port (default 1); more than one needs MCPCHAT_REDIS_URL, "
        "so that they share the chats",
    )
    serve.add_argument(
        "--backlog",
        type=int,
        default=1024,
        help="listen backlog (default 1024; Twisted's own 50 resets bursts of new connections)",
    )
    serve.add_argument(
        "--fd",
        type=int,
        help="serve on this inherited listening socket instead of binding --host and --port "
        "(what --workers hands each process; systemd socket activation too)",
    )

    chat = commands.add_parser(
        "chat",
        help="chat from this terminal (an MCP client of any mcpchat server)",
        description="Meet a stranger (or someone in a private room) and chat from the "
        "terminal. Type /help once connected. MCPCHAT_ACCESS_TOKEN is sent as a bearer token "
        "when set.",
    )
    chat.add_argument(
        "url",
        nargs="?",
        default=DEFAULT_URL,
        help=f"the server's MCP endpoint (default {DEFAULT_URL})",
    )
    chat.add_argument("--name", help="your display name (default: a random guest name)")
    chat.add_argument("--room", help="meet in this private room instead of the random queue")
    chat.add_argument(
        "--token",
        default=os.environ.get("MCPCHAT_ACCESS_TOKEN"),
        help="access token (default: $MCPCHAT_ACCESS_TOKEN)",
    )

    args = parser.parse_args(argv)
    if args.command == "serve":
        from mcpchat.allocator import run_under_server_allocator

        run_under_server_allocator(sys.argv[1:] if argv is None else argv)
        if args.workers < 1:
            parser.error("--workers must be at least 1")
        if args.workers > 1:
            if args.fd is not None:
                parser.error("--fd serves one process on a socket; --workers binds its own")
            if not os.environ.get("MCPCHAT_REDIS_URL"):
                parser.error(
                    "--workers above 1 needs MCPCHAT_REDIS_URL (e.g. redis://127.0.0.1:6379/0): "
                    "without it every process would keep chats of its own"
                )
            from mcpchat.workers import serve_workers

            _announce(args.host, args.port, f"{args.workers} {args.server} workers")
            return serve_workers(args.host, args.port, args.backlog, args.workers, args.server)
        if args.fd is None:
            _announce(args.host, args.port, f"one {args.server} process")
        if args.server == "daphne":
            return serve_daphne(args.host, args.port, args.backlog, args.fd)
        return serve_uvicorn(args.host, args.port, args.backlog, args.fd)
    if args.command == "chat":
        from mcpchat_terminal import run_chat

        return run_chat(args.url, args.name, args.room, args.token)
    parser.error(f"unknown command {args.command}")
    return 2


def daphne_endpoint(host: str, port: int, backlog: int = 1024) -> str:
    """A Twisted endpoint string; daphne's -b/-p cannot set the backlog."""
    interface = host.replace(":", r"\:")  # IPv6 colons are escaped in endpoint strings
    return f"tcp:port={port}:interface={interface}:backlog={backlog}"


def serve_daphne(host: str, port: int, backlog: int, fd: int | None = None) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mcpchat.settings")
    from daphne.cli import CommandLineInterface

    where = ["--fd", str(fd)] if fd is not None else ["-e", daphne_endpoint(host, port, backlog)]
    CommandLineInterface().run([*where, APP])
    return 0


def serve_uvicorn(host: str, port: int, backlog: int, fd: int | None = None) -> int:
    import uvicorn

    # Imported here, outside the event loop: it sets Django up and migrates (synchronous).
    from mcpchat.asgi import application

    config = uvicorn.Config(application, host=host, port=port, backlog=backlog, **uvicorn_options())
    # Not uvicorn's own `fd`: it opens the socket as AF_UNIX, and a TCP socket's addresses
    # would then read as None (no client address for the limits).
    sockets = [socket.socket(fileno=fd)] if fd is not None else None
    # Uvicorn shuts down on SIGTERM or Ctrl-C, then raises the signal again under the handlers
    # from before it ran. These make that a plain exit (0, as under daphne), instead of death
    # by the signal or a KeyboardInterrupt traceback; before uvicorn runs they just stop.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _exit_quietly)
    uvicorn.Server(config).run(sockets=sockets)
    return 0


def _exit_quietly(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def _announce(host: str, port: int, processes: str) -> None:
    print(
        f"mcpchat: MCP endpoint at http://{host}:{port}/mcp, admin at "
        f"http://{host}:{port}/admin/ ({processes}; Ctrl-C stops)",
        file=sys.stderr,
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
