"""The chat world: identities, the queue and rooms, and the helpers that keep them consistent.

`ChatWorld` holds the state and the moves every use case is built from (register, notify,
open a room, leave, pair the queue); `ChatEngine` (engine.py) adds the use cases themselves.
Pure Python, synchronous, no I/O.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal

from chat.core import validation
from chat.core.activity import Activity
from chat.core.config import ChatConfig
from chat.core.errors import NameChangeRefused, NotInRoom, ServerFull, UnknownClient
from chat.core.mailbox import Mailbox
from chat.core.results import JoinResult, Presence, QueueResult, SendResult

RoomKind = Literal["matched", "private"]
PRESENCE_GRACE = 5.0  # seconds after a wait ends that its client still counts as listening
TYPING_FOR = 6.0  # seconds one "typing" lasts: windows repeat it while the person types


@dataclass
class Identity:
    client_id: str
    name: str
    mailbox: Mailbox
    last_seen: float
    room_id: str | None = None
    avoid: dict[str, float] = field(default_factory=dict)  # ex-partner id -> not before
    wait_generation: int = 0  # the newest wait wins; older ones see a stale number
    waiter_channel: str | None = None  # doorbell of the newest wait in progress
    wait_answered: bool = False  # the newest wait was answered in place (`_answer_waits`)
    wait_lease: float = 0.0  # until then a wait is in progress, which counts as activity
    sent_keys: dict[str, SentKey] = field(default_factory=dict)  # idempotency keys, oldest first
    send_tat: float = 0.0  # rate limit state (limits.py) of this client's messages
    wait_tat: float = 0.0  # ... and of its wait_for_message calls
    heard_at: float = 0.0  # when its last wait ended (or was answered)
    typing_until: float = 0.0  # its chat window said it is typing (presence)
    receipts: bool = False  # its newest wait asked for `read` events

    def waiting(self, now: float) -> bool:
        """A wait is in progress. A lease, not a flag: a wait whose process died stops
        counting once its lease runs out, so the identity can still be reaped."""
        return self.wait_lease > now

    def presence(self, now: float) -> Presence:
        """Typing for a moment after its window said so; listening while a wait is in
        progress or has just ended (a client loops on wait_for_message, with a short gap
        between one wait and the next); else away."""
        if self.typing_until > now:
            return "typing"
        listening = self.waiting(now) or now - self.heard_at < PRESENCE_GRACE
        return "listening" if listening else "away"


@dataclass
class SentKey:
    """What a send with an idempotency key produced, so a retry can return it again."""

    at: float
    text: str
    result: SendResult


@dataclass
class Room:
    room_id: str
    kind: RoomKind
    capacity: int
    label: str  # short, non-secret name for staff
    created_at: float
    members: dict[str, None] = field(default_factory=dict)  # client ids in join order
    message_count: int = 0
    last_message_at: float | None = None


def new_token(prefix: str = "") -> str:
    """An unguessable id: 192 random bits, URL-safe, valid as a room id too."""
    return prefix + secrets.token_urlsafe(24)


class ChatWorld:
    def __init__(self, config: ChatConfig, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.clock = clock
        self.identities: dict[str, Identity] = {}
        self.queue: dict[str, float] = {}  # client id -> queued at; dicts keep FIFO order
        self.rooms: dict[str, Room] = {}
        self.room_serial = 0
        self.messages_sent = 0
        self.activity = Activity()  # counts for the staff monitor

    # -- identities -------------------------------------------------------------------------

    def online_count(self) -> int:
        """People online. A backend that holds only part of the world here says the total."""
        return len(self.identities)

    def room_count(self) -> int:
        """Rooms open. A backend that holds only part of the world here says the total."""
        return len(self.rooms)

    def identity(self, client_id: str) -> Identity:
        """The caller's identity, marked as seen now."""
        ident = self.identities.get(client_id)
        if ident is None:
            raise UnknownClient()
        ident.last_seen = self.clock()
        return ident

    def _register(self, name: str) -> Identity:
        if self.online_count() >= self.config.max_identities:
            raise ServerFull("too many people online")
        client_id = new_token("c_")
        mailbox = Mailbox(self.config.mailbox_size, self.config.message_ttl)
        ident = Identity(client_id, name, mailbox, self.clock())
        self.identities[client_id] = ident
        self.activity.online(ident.last_seen, self.online_count())
        return ident

    def _caller(self, client_id: str | None, display_name: str | None) -> Identity:
        """An existing identity or a new one. A name is chosen once: others have seen it on
        messages and events, so a different one for an existing client_id is refused."""
        name = validation.display_name(display_name) if display_name is not None else None
        if client_id is None:
            return self._register(name or validation.display_name(None))
        ident = self.identity(client_id)
        if name is not None and name != ident.name:
            raise NameChangeRefused(
                f"You are already '{ident.name}'; a client_id keeps its display_name. Omit "
                "display_name (or pass the same one), or start over without a client_id to "
                "chat under a new name."
            )
        return ident

    # -- events -----------------------------------------------------------------------------

    def _notify(
        self,
        client_ids: Iterable[str],
        room_id: str,
        event: str,
        about: Identity | None = None,
        reason: str | None = None,
        message_id: int | None = None,
    ) -> list[str]:
        """Append an event (about someone, when it is) to each mailbox; returns the doorbells
        to ring."""
        now = self.clock()
        idents = [self.identities[cid] for cid in client_ids]
        who = {"sender": about.name, "subject": about.client_id} if about else {}
        for ident in idents:
            ident.mailbox.append(
                now,
                kind="event",
                room_id=room_id,
                event=event,
                reason=reason,
                message_id=message_id,
                **who,
            )
        return self._answer_waits(idents)

    def _answer_waits(self, idents: Iterable[Identity]) -> list[str]:
        """Hand what is pending to each wait in progress among `idents`, which ends it, and
        return those waits' doorbells. A wait is answered by the change that fills its
        mailbox, within that change: its ring only tells it so (and, across processes,
        carries the answer), so the woken wait has nothing left to write."""
        now = self.clock()
        bells = []
        for ident in idents:
            channel = ident.waiter_channel
            if channel and ident.mailbox.hand_out(now):
                self._end(ident, now)
                ident.wait_answered = True
                bells.append(channel)
        return bells

    @staticmethod
    def _end(ident: Identity, at: float) -> None:
        """The identity's wait in progress is over (answered, timed out or cancelled)."""
        ident.waiter_channel, ident.wait_lease = None, 0.0
        ident.heard_at = at  # still listening for a moment (presence)

    # -- rooms ------------------------------------------------------------------------------

    def _new_room(self, kind: RoomKind, room_id: str | None, capacity: int) -> Room:
        self.room_serial += 1
        room = Room(
            room_id=room_id or new_token(),
            kind=kind,
            capacity=capacity,
            label=f"{'M' if kind == 'matched' else 'P'}-{self.room_serial}",
            created_at=self.clock(),
        )
        self.rooms[room.room_id] = room
        return room

    def _room_of(self, ident: Identity, room_id: str | None) -> Room:
        """The room the caller means: theirs, checked against `room_id` when given."""
        if room_id is not None and room_id != ident.room_id:
            raise NotInRoom(f"You are not in room '{room_id}'. " + self._where(ident))
        if ident.room_id is None:
            raise NotInRoom("You are not in a room. " + self._where(ident))
        return self.rooms[ident.room_id]

    def _where(self, ident: Identity) -> str:
        if ident.room_id is not None:
            return f"You are in room '{ident.room_id}'; omit room_id to use it."
        if ident.client_id in self.queue:
            return "You are queued: wait_for_message tells you when you are matched."
        return "Call enter_queue to meet a stranger or join_room to enter a private room."

    def _leave_current(self, ident: Identity, reason: str) -> list[str]:
        """Take the identity out of the queue and its room; tell those who stay."""
        self.queue.pop(ident.client_id, None)
        if ident.room_id is None:
            return []
        room = self.rooms[ident.room_id]
        ident.room_id = None
        del room.members[ident.client_id]
        others = list(room.members)
        if room.kind == "matched":  # "next" must not hand either of them the other at once
            until = self.clock() + self.config.rematch_after
            for cid in others:
                ident.avoid[cid] = until
                self.identities[cid].avoid[ident.client_id] = until
        if not others:
            del self.rooms[room.room_id]
        return self._notify(others, room.room_id, "left", about=ident, reason=reason)

    # -- matching ---------------------------------------------------------------------------

    def _match_waiting(self, caller: str | None = None) -> list[str]:
        """Pair the queue first in, first out, skipping pairs who just left each other."""
        now = self.clock()
        waiting = [self.identities[c] for c in self.queue]
        wake: list[str] = []
        while waiting:
            first = waiting.pop(0)
            second = next((w for w in waiting if self._may_pair(first, w, now)), None)
            if second is not None:
                waiting.remove(second)
                wake += self._pair(first, second, caller)
        return wake

    @staticmethod
    def _may_pair(a: Identity, b: Identity, now: float) -> bool:
        return a.avoid.get(b.client_id, 0) <= now and b.avoid.get(a.client_id, 0) <= now

    def _pair(self, first: Identity, second: Identity, caller: str | None) -> list[str]:
        room = self._new_room("matched", None, 2)
        for member in (first, second):
            del self.queue[member.client_id]
            member.avoid.clear()
            room.members[member.client_id] = None
            member.room_id = room.room_id
        wake = []
        for member, partner in ((first, second), (second, first)):
            if member.client_id != caller:  # the caller learns from its own result
                wake += self._notify([member.client_id], room.room_id, "matched", about=partner)
        return wake

    def _queued(self, ident: Identity) -> QueueResult:
        position = list(self.queue).index(ident.client_id) + 1
        return QueueResult(
            client_id=ident.client_id,
            display_name=ident.name,
            status="waiting",
            position=position,
            queue_length=len(self.queue),
            hint="Waiting for a partner. Call wait_for_message: a 'matched' event arrives there.",
        )

    def _joined(self, ident: Identity, room: Room, created: bool) -> JoinResult:
        alone = len(room.members) == 1
        return JoinResult(
            client_id=ident.client_id,
            display_name=ident.name,
            room_id=room.room_id,
            created=created,
            members=[self.identities[c].name for c in room.members],
            capacity=room.capacity,
            hint=(
                "Share this room_id with the person you want to meet, then call "
                "wait_for_message: a 'joined' event arrives when they come in."
                if alone
                else "Say hello with send_message, then loop on wait_for_message."
            ),
        )
