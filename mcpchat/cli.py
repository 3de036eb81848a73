"""`mcpchat` command line: `serve` runs the server, `chat` is a terminal chat client."""

from __future__ import annotations

import argparse
import os
import sys

DEFAULT_URL = "http://127.0.0.1:8000/mcp"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="mcpchat", description="Real-time human-to-human chat over MCP."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser(
        "serve",
        help="run the server (daphne) with the MCP endpoint at /mcp",
        description="Run mcpchat under daphne. Pending migrations of the embedded SQLite "
        "database apply themselves. Settings come from DJANGO_* and MCPCHAT_* variables.",
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
        if args.workers < 1:
            parser.error("--workers must be at least 1")
        if args.workers > 1:
            if not os.environ.get("MCPCHAT_REDIS_URL"):
                parser.error(
                    "--workers above 1 needs MCPCHAT_REDIS_URL (e.g. redis://127.0.0.1:6379/0): "
                    "without it every process would keep chats of its own"
                )
            from mcpchat.workers import serve_workers

            _announce(args.host, args.port, f"{args.workers} workers")
            return serve_workers(args.host, args.port, args.backlog, args.workers)
        return serve_daphne(args.host, args.port, args.backlog)
    if args.command == "chat":
        from mcpchat_terminal import run_chat

        return run_chat(args.url, args.name, args.room, args.token)
    parser.error(f"unknown command {args.command}")
    return 2


def daphne_endpoint(host: str, port: int, backlog: int = 1024) -> str:
    """A Twisted endpoint string; daphne's -b/-p cannot set the backlog."""
    interface = host.replace(":", r"\:")  # IPv6 colons are escaped in endpoint strings
    return f"tcp:port={port}:interface={interface}:backlog={backlog}"


def serve_daphne(host: str, port: int, backlog: int) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mcpchat.settings")
    from daphne.cli import CommandLineInterface

    _announce(host, port, "one process")
    endpoint = daphne_endpoint(host, port, backlog)
    CommandLineInterface().run(["-e", endpoint, "mcpchat.asgi:application"])
    return 0


def _announce(host: str, port: int, processes: str) -> None:
    print(
        f"mcpchat: MCP endpoint at http://{host}:{port}/mcp, admin at "
        f"http://{host}:{port}/admin/ ({processes}; Ctrl-C stops)",
        file=sys.stderr,
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
