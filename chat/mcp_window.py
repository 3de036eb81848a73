"""The chat window: an MCP App (the io.modelcontextprotocol/ui extension) that hosts which
render apps show for enter_queue and join_room; others keep the tool results as they are.

The page is `templates/chat/window.html` with the vendored SDK
(`static/chat/window/vendor/ext-apps.js`, refreshed by `frontend/vendor.mjs`) and the
window's own script (`static/chat/window/window.js`) inlined: the host's sandboxed frame
may load nothing from the network. It chats through the same tools a model uses.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from fastmcp.apps import AppConfig

from chat.mcp_tools import WINDOW_URI, mcp


def _static(path: str) -> str:
    found = finders.find(path)
    if not isinstance(found, str):
        raise FileNotFoundError(f"static file {path} is missing")
    return Path(found).read_text(encoding="utf-8")


@cache
def window_html() -> str:
    """The page, rendered once per process: it never changes while the server runs."""
    scripts = {"sdk": _static("chat/window/vendor/ext-apps.js")}
    scripts["window_js"] = _static("chat/window/window.js")
    for name, text in scripts.items():
        if "</script" in text.lower():  # inlined as-is: it must not end its <script> early
            raise ValueError(f"{name} contains </script")
    return render_to_string(
        "chat/window.html", {**scripts, "max_chars": settings.MCPCHAT.max_message_chars}
    )


@mcp.resource(
    WINDOW_URI,
    name="chat_window",
    title="mcpchat chat window",
    description="A live chat window for mcpchat: messages, presence, read receipts.",
    app=AppConfig(prefers_border=True),
)
def chat_window() -> str:
    return window_html()
