"""How the core's objects are stored outside the process: identities and rooms as JSON.

A storage format only: no rule lives here. Every field of `Identity` and `Room` round-trips,
mailboxes included, so a process that loads them runs the unchanged core on them.
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, fields
from typing import Any

from pydantic_core import from_json, to_json

from chat.core.mailbox import Entry, Mailbox
from chat.core.results import SendResult
from chat.core.world import Identity, Room, SentKey

ENTRY_FIELDS = tuple(f.name for f in fields(Entry))  # entries are stored as lists: compact
MAILBOX_FIELDS = tuple(f.name for f in fields(Mailbox) if f.name != "entries")
IDENTITY_FIELDS = tuple(f.name for f in fields(Identity) if f.name not in ("mailbox", "sent_keys"))
ROOM_FIELDS = tuple(f.name for f in fields(Room))
# pydantic-core's JSON (Rust) reads and writes an identity about three times as fast as the
# json module, and every use case loads and dumps several. Its output equals json.dumps'
# with compact separators but for non-ASCII text, kept as UTF-8 rather than \u-escaped, and
# exponents (1e-7, not 1e-07): both read back the same. Only field names are worth caching.


def dump_identity(ident: Identity) -> str:
    box = ident.mailbox
    data = {name: getattr(ident, name) for name in IDENTITY_FIELDS}
    data["mailbox"] = {name: getattr(box, name) for name in MAILBOX_FIELDS}
    data["mailbox"]["entries"] = [[getattr(e, n) for n in ENTRY_FIELDS] for e in box.entries]
    data["sent_keys"] = {key: asdict(sent) for key, sent in ident.sent_keys.items()}
    return to_json(data).decode()


def load_identity(raw: str | bytes) -> Identity:
    data: dict[str, Any] = from_json(raw, cache_strings="keys")
    data.pop("waiter_rung", None)  # stored by versions before waits were answered in place
    box = data.pop("mailbox")
    entries = deque(Entry(**dict(zip(ENTRY_FIELDS, e, strict=True))) for e in box.pop("entries"))
    sent = {
        key: SentKey(s["at"], s["text"], SendResult(**s["result"]))
        for key, s in data.pop("sent_keys").items()
    }
    return Identity(mailbox=Mailbox(entries=entries, **box), sent_keys=sent, **data)


def dump_room(room: Room) -> str:
    # What `asdict` would give (members' values are None), without its deep copy: every
    # commit dumps each room it loaded, to see whether it changed.
    return to_json({name: getattr(room, name) for name in ROOM_FIELDS}).decode()


def load_room(raw: str | bytes) -> Room:
    return Room(**from_json(raw, cache_strings="keys"))


def pairs(flat: list[bytes]) -> list[tuple[bytes, bytes]]:
    """A hash as `HGETALL` returns it (field, value, field, value...), as pairs."""
    return list(zip(flat[::2], flat[1::2], strict=True))


def text(raw: bytes | str | None) -> str | None:
    """A value as Redis returned it (bytes), as the text it was stored as."""
    return raw.decode() if isinstance(raw, bytes) else raw
