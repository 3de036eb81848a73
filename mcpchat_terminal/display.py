"""What the terminal shows: other people's words as plain characters, never as commands.

A message can hold anything a server lets through, so control characters (ESC sequences
that clear the screen or retitle the window, carriage returns that overwrite a line) and
invisible direction overrides are shown as visible escapes, and every line of a message is
prefixed with its sender, so no message can pass for a `*` notice of this client.
"""

from __future__ import annotations

import unicodedata
from typing import Any

# Format characters that reorder or hide text (bidi embeddings, overrides and isolates); the
# joiners and variation selectors that emoji need stay.
REORDERING = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
UNSAFE_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})


def safe(text: str, newlines: bool = True) -> str:
    """`text` with every character that could act on the terminal made visible."""
    out = []
    for ch in text:
        if ch == "\t" or (ch == "\n" and newlines):
            out.append(ch)
        elif ch in REORDERING or unicodedata.category(ch) in UNSAFE_CATEGORIES:
            out.append(f"\\u{ord(ch):04x}" if ord(ch) > 0xFF else f"\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return "".join(out)


def describe(item: dict[str, Any]) -> str | None:
    """One message or event from wait_for_message as lines for the screen."""
    who = safe(str(item.get("sender") or "someone"), newlines=False)
    if item.get("kind") == "message":
        lines = safe(str(item.get("text") or "")).split("\n")
        return "\n".join(f"{who}: {line}" for line in lines)
    event, reason = item.get("event"), item.get("reason")
    if event == "matched":
        return f"* You are now chatting with {who}. Say hi!"
    if event == "joined":
        return f"* {who} joined the room."
    if event == "left" and reason == "idle":
        return f"* {who} went quiet and was disconnected. /next meets someone new."
    if event == "left":
        return f"* {who} left the chat. /next meets someone new."
    if event == "room_closed":
        return "* A moderator closed this room. /next meets someone new."
    return None
