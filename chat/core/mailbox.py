"""A chatter's mailbox: an ordered log that reading never empties.

Ids increase by one per mailbox. `hand_out` gives away everything after the confirmed cursor
and remembers how far it went; `confirm` is the only thing that removes entries. A wait whose
answer never reached the client therefore costs nothing: the next wait that confirms less
than was handed out gets the same entries again (Telegram's `getUpdates` offset rule).

Messages are bounded by `size` (a full mailbox refuses the sender). Events are bounded by
collapsing: a `joined` and a `left` of the same person that the reader has not been handed yet
cancel out, so join/leave churn leaves at most one pending event per person. A `left` about
someone the reader was told about, and a `room_closed`, are never dropped.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Literal

from chat.core.errors import BadCursor, MailboxFull

EntryKind = Literal["message", "event"]
EventName = Literal["matched", "joined", "left", "room_closed", "read"]
CANCELS = {"joined": "left", "left": "joined"}  # an event and the one that undoes it
REPLACES = {"read": "read"}  # an event and the older one it makes stale


def iso(ts: float) -> str:
    """UTC ISO-8601 with milliseconds and a Z, e.g. 2026-11-24T13:37:13.123Z."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Item:
    """One message or event as its recipient sees it (the wire form)."""

    id: int  # position in the recipient's mailbox: pass the last one back as `after`
    kind: EntryKind
    room_id: str
    at: str  # UTC ISO-8601
    sender: str | None = None  # display name of the author (messages) or subject (events)
    text: str | None = None
    event: EventName | None = None  # matched | joined | left | room_closed | read
    reason: str | None = None  # for `left`: "left", "next", "idle"; for `room_closed`: "staff"
    # messages: the room-wide number the sender was given; `read`: the last of your messages
    # that `sender` has read
    message_id: int | None = None


ITEM_FIELDS = tuple(f.name for f in fields(Item))


@dataclass(frozen=True)
class Entry(Item):
    """An `Item` plus what only the server needs to know about it."""

    ts: float = 0.0  # `at` as seconds since the epoch, for expiry
    subject: str | None = None  # client id of the sender or of whom the event is about

    def item(self) -> Item:
        """The wire form: the one place an entry is turned into what clients see."""
        return Item(**{name: getattr(self, name) for name in ITEM_FIELDS})


@dataclass
class Mailbox:
    size: int
    ttl: float
    entries: deque[Entry] = field(default_factory=deque)
    last_id: int = 0  # highest id ever appended
    confirmed: int = 0  # everything up to here is acknowledged and gone
    handed_out: int = 0  # highest id any wait has returned
    messages: int = 0  # how many of `entries` are messages (the size bound counts only these)

    def append(self, now: float, *, kind: EntryKind, room_id: str, **data: object) -> None:
        """Add an entry. Messages respect the size bound; events always fit (losing a `left` or
        `room_closed` would leave the reader in a room that no longer holds them), but an event
        that undoes one the reader has not been handed yet removes it instead."""
        self.expire(now)
        if kind == "message" and not self.has_room(now):
            raise MailboxFull(f"the recipient's mailbox is full ({self.size} unread messages)")
        if kind == "event" and self._collapse(room_id, data.get("event"), data.get("subject")):
            return
        self.last_id += 1
        entry = Entry(id=self.last_id, kind=kind, room_id=room_id, at=iso(now), ts=now, **data)  # type: ignore[arg-type]
        self.entries.append(entry)
        self.messages += kind == "message"

    def _collapse(self, room_id: str, event: object, subject: object) -> bool:
        """Drop the not-yet-handed-out event that `event` undoes or makes stale, if it is the
        newest entry about that person in that room; True when the two cancelled out (the new
        one is not to be appended either)."""
        older = CANCELS.get(str(event)) or REPLACES.get(str(event))
        if older is None or subject is None:
            return False
        for entry in reversed(self.entries):
            if entry.id <= self.handed_out:
                return False  # the reader has seen it (or anything older): keep the history
            if entry.subject == subject and entry.room_id == room_id:
                if entry.event != older:
                    return False
                self.entries.remove(entry)
                return str(event) in CANCELS
        return False

    def has_room(self, now: float) -> bool:
        """Whether one more message fits."""
        self.expire(now)
        return self.messages < self.size

    def _drop_oldest(self) -> Entry:
        gone = self.entries.popleft()
        self.messages -= gone.kind == "message"
        return gone

    def confirm(self, upto: int | None) -> list[Entry]:
        """Acknowledge entries up to `upto`; None acknowledges all that was handed out.
        Returns the entries this confirmed (for read receipts)."""
        if upto is None:
            upto = self.handed_out
        elif upto > self.handed_out:
            raise BadCursor(
                f"after={upto} is beyond the last entry you were given ({self.handed_out}). "
                "Pass the id of the last message you received, or omit after."
            )
        if upto <= self.confirmed:
            return []
        self.confirmed = upto
        confirmed = []
        while self.entries and self.entries[0].id <= upto:
            confirmed.append(self._drop_oldest())
        return confirmed

    def hand_out(self, now: float) -> list[Entry]:
        """Everything not yet confirmed, oldest first; remembers how far it went."""
        self.expire(now)
        batch = list(self.entries)
        if batch:
            self.handed_out = max(self.handed_out, batch[-1].id)
        return batch

    def give_back(self) -> None:
        """What was handed out since the last confirmation never reached its reader: hand it
        out again. For a wait answered in place, which parked with everything confirmed."""
        self.handed_out = self.confirmed

    def handed(self) -> list[Entry]:
        """What the last `hand_out` gave away and nobody has confirmed yet."""
        return [e for e in self.entries if e.id <= self.handed_out]

    def pending(self) -> int:
        return len(self.entries)

    def expire(self, now: float) -> None:
        """Drop entries older than the TTL: their reader has been away far longer than the
        idle timeout, so nobody is left to read them."""
        limit = now - self.ttl
        while self.entries and self.entries[0].ts < limit:
            gone = self._drop_oldest()
            self.confirmed = max(self.confirmed, gone.id)
            self.handed_out = max(self.handed_out, gone.id)
