"""Input rules shared by every edge (MCP tools, terminal client, tests)."""

from __future__ import annotations

import random
import re
import unicodedata

from chat.core.errors import InvalidInput

MAX_NAME_CHARS = 32
ROOM_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
KEY_RE = re.compile(r"[\x21-\x7e]{1,64}")  # printable ASCII: a UUID, a counter, a hash
ALLOWED_CONTROLS = frozenset("\n\t")
# Letters and symbols that render as nothing (Hangul fillers, the braille blank, ...).
INVISIBLE = frozenset("\u115f\u1160\u3164\uffa0\u2800\u180e")
# Categories that never show a glyph by themselves: controls, formats (zero-width, bidi),
# separators and combining marks.
INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zs", "Zl", "Zp", "Mn", "Me"})


def visible(text: str) -> bool:
    """Whether `text` shows at least one glyph."""
    return any(
        ch not in INVISIBLE and unicodedata.category(ch) not in INVISIBLE_CATEGORIES for ch in text
    )


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
    if not name.isprintable() or _has_surrogate(name):
        raise InvalidInput(
            "display_name may hold printable characters only (no newlines or control codes)."
        )
    if not visible(name):
        raise InvalidInput("display_name shows nothing. Pick a name with visible characters.")
    return name


def _has_surrogate(text: str) -> bool:
    # A lone surrogate (JSON "\ud800") cannot be encoded back to UTF-8 for anyone to read.
    return any("\ud800" <= ch <= "\udfff" for ch in text)


def message_text(raw: str, max_chars: int) -> str:
    """Text people's screens can show safely: no control characters but newline and tab
    (escape sequences could rewrite a terminal), and something visible."""
    bad = next(
        (ch for ch in raw if unicodedata.category(ch) == "Cc" and ch not in ALLOWED_CONTROLS), None
    )
    if bad is not None:
        raise InvalidInput(
            f"message contains the control character U+{ord(bad):04X}; only newline and tab are "
            "allowed. Remove it and send again."
        )
    if _has_surrogate(raw):
        raise InvalidInput("message contains an unpaired surrogate; send valid Unicode text.")
    if not visible(raw):
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


def idempotency_key(raw: str) -> str:
    if not KEY_RE.fullmatch(raw):
        raise InvalidInput(
            "idempotency_key must be 1-64 printable ASCII characters without spaces, e.g. a "
            "UUID. Use a new key for each new message and the same key to retry it."
        )
    return raw


def wait_timeout(raw: float | None, default: float, maximum: float) -> float:
    if raw is None:
        return default
    if not 0 <= raw <= maximum:
        raise InvalidInput(f"timeout must be between 0 and {maximum:g} seconds.")
    return float(raw)
