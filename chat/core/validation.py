"""Input rules shared by every edge (MCP tools, terminal client, tests)."""

from __future__ import annotations

import random
import re

from chat.core.errors import InvalidInput

MAX_NAME_CHARS = 32
ROOM_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")


def display_name(raw: str | None) -> str:
    """Trim and check a display name; None picks a friendly random one."""
    if raw is None:
        return f"Guest-{random.randint(1000, 9999)}"
    name = raw.strip()
    if not name:
        raise InvalidInput("display_name is empty. Pass 1-32 printable characters, or omit it.")
    if len(name) > MAX_NAME_CHARS:
        raise InvalidInput(
            f"display_name is {len(name)} characters long; the limit is {MAX_NAME_CHARS}."
        )
    if not name.isprintable():
        raise InvalidInput(
            "display_name may hold printable characters only (no newlines or control codes)."
        )
    return name


def message_text(raw: str, max_chars: int) -> str:
    if "\x00" in raw:
        raise InvalidInput("message contains a NUL character; remove it and send again.")
    if not raw.strip():
        raise InvalidInput("message is empty. Send at least one visible character.")
    if len(raw) > max_chars:
        raise InvalidInput(
            f"message is {len(raw)} characters long; the limit is {max_chars}. "
            "Split it into several messages."
        )
    return raw


def room_id(raw: str) -> str:
    if not ROOM_ID_RE.fullmatch(raw):
        raise InvalidInput(
            "room_id must be 1-64 characters of letters, digits, '_' or '-'. "
            "Omit it to create a new private room with a random id."
        )
    return raw


def wait_timeout(raw: float | None, default: float, maximum: float) -> float:
    if raw is None:
        return default
    if not 0 <= raw <= maximum:
        raise InvalidInput(f"timeout must be between 0 and {maximum:g} seconds.")
    return float(raw)
