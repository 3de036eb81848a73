"""What each use case returns: plain dataclasses that the MCP layer returns as structured
output (FastMCP derives the output schema from them)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Generic, Literal, TypeVar

from chat.core.mailbox import Entry, Item

T = TypeVar("T")
Presence = Literal["typing", "listening", "away"]  # what the others see of someone in a room


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """A result plus the doorbell channels the change must ring. `news` is for a shared
    backend only (the core leaves it empty): the stored values its commit left, which the
    rung waits' processes may start their next look from instead of reading them again."""

    value: T
    wake: tuple[str, ...] = ()
    news: Mapping[str, str] | None = None


@dataclass(frozen=True)
class WaitStep:
    """One look at the log for a wait: what it handed out, or None when a newer wait took
    over. A wait that got something (or was replaced) is over: `done`."""

    generation: int
    entries: list[Entry] | None

    @property
    def done(self) -> bool:
        return self.entries is None or bool(self.entries)


@dataclass
class QueueResult:
    client_id: str
    display_name: str
    status: Literal["waiting", "matched"]
    position: int | None = None  # 1 = next to be matched
    queue_length: int | None = None
    room_id: str | None = None
    partner: str | None = None  # the partner's display name
    hint: str = ""


@dataclass
class JoinResult:
    client_id: str
    display_name: str
    room_id: str
    created: bool  # True when this call created the room
    members: list[str]  # display names of everyone in the room, you included
    capacity: int
    hint: str = ""


@dataclass
class SendResult:
    message_id: int  # the message's number in this room
    sent_at: str  # UTC ISO-8601
    room_id: str
    recipients: int
    listening: int = 0  # recipients waiting for messages right now: they see it at once


@dataclass
class TypingResult:
    typing: bool = True
    hint: str = "The others in your room see you typing for a few seconds."


@dataclass
class Member:
    """Someone else in your room, and whether they are listening: a wait_for_message of
    theirs is in progress (or just returned), so what you send reaches them at once."""

    name: str
    presence: Presence


@dataclass
class WaitResult:
    status: Literal["delivered", "timeout", "superseded"]
    items: list[Item] = field(default_factory=list)
    last_id: int | None = None  # pass as `after` on your next wait
    hint: str = ""


@dataclass
class LeaveResult:
    left: Literal["room", "queue", "nothing"]
    room_id: str | None = None
    hint: str = ""


@dataclass
class StatusResult:
    client_id: str
    display_name: str
    state: Literal["idle", "queued", "in_room"]
    position: int | None = None
    queue_length: int | None = None
    room_id: str | None = None
    room_kind: Literal["matched", "private"] | None = None
    members: list[str] = field(default_factory=list)
    presence: list[Member] = field(default_factory=list)  # the others in your room
    pending: int = 0  # entries waiting for you in wait_for_message
    waiting: bool = False  # a wait_for_message call of yours is in progress
    hint: str = ""
