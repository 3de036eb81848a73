"""The chat rules in one place: identities, the matching queue, rooms and their events.

`ChatEngine` is synchronous and self-contained. Each public method is one atomic use case;
it validates everything before changing anything, so a refused call leaves no trace.
Mutations return an `Outcome` naming the doorbell channels to ring, and the caller rings
them after the change is complete.
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
from chat.core.errors import (
    InvalidInput,
    MailboxFull,
    NobodyToTalkTo,
    NotInRoom,
    RoomFull,
    RoomNotJoinable,
    UnknownClient,
)
from chat.core.mailbox import Entry, Mailbox
from chat.core.results import (
    JoinResult,
    LeaveResult,
    Outcome,
    QueueResult,
    SendResult,
    StatusResult,
    iso,
)

RoomKind = Literal["matched", "private"]


@dataclass
class Identity:
    client_id: str
    name: str
    mailbox: Mailbox
    last_seen: float
    room_id: str | None = None
    queued_at: float | None = None
    avoid: dict[str, float] = field(default_factory=dict)  # ex-partner id -> not before
    wait_generation: int = 0  # the newest wait wins; older ones see a stale number
    waiter_channel: str | None = None  # doorbell of the newest wait in progress
    active_waits: int = 0  # a wait in progress counts as activity for reaping


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


class ChatEngine:
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

    def identity(self, client_id: str) -> Identity:
        """The caller's identity, marked as seen now."""
        ident = self.identities.get(client_id)
        if ident is None:
            raise UnknownClient()
        ident.last_seen = self.clock()
        return ident

    def _register(self, name: str) -> Identity:
        client_id = new_token("c_")
        mailbox = Mailbox(self.config.mailbox_size, self.config.message_ttl)
        ident = Identity(client_id, name, mailbox, self.clock())
        self.identities[client_id] = ident
        self.activity.online(ident.last_seen, len(self.identities))
        return ident

    def _caller(self, client_id: str | None, display_name: str | None) -> Identity:
        """An existing identity (renamed if a name is given) or a new one."""
        name = validation.display_name(display_name) if display_name is not None else None
        if client_id is None:
            return self._register(name or validation.display_name(None))
        ident = self.identity(client_id)
        if name is not None:
            ident.name = name
        return ident

    # -- events -----------------------------------------------------------------------------

    def _notify(self, client_ids: Iterable[str], room_id: str, **data: object) -> list[str]:
        """Append an event to each mailbox; returns the doorbells to ring."""
        now = self.clock()
        wake = []
        for cid in client_ids:
            ident = self.identities[cid]
            ident.mailbox.append(now, kind="event", room_id=room_id, **data)
            if ident.waiter_channel:
                wake.append(ident.waiter_channel)
        return wake

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
        if ident.queued_at is not None:
            return "You are queued: wait_for_message tells you when you are matched."
        return "Call enter_queue to meet a stranger or join_room to enter a private room."

    def _leave_current(self, ident: Identity, reason: str) -> list[str]:
        """Take the identity out of the queue and its room; tell those who stay."""
        self.queue.pop(ident.client_id, None)
        ident.queued_at = None
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
        return self._notify(others, room.room_id, event="left", sender=ident.name, reason=reason)

    # -- matching ---------------------------------------------------------------------------

    def enter_queue(self, client_id: str | None, display_name: str | None) -> Outcome[QueueResult]:
        ident = self._caller(client_id, display_name)
        if ident.queued_at is not None:
            return Outcome(self._queued(ident))
        wake = self._leave_current(ident, reason="next")
        ident.queued_at = self.clock()
        self.queue[ident.client_id] = ident.queued_at
        wake += self._match_waiting(caller=ident.client_id)
        if ident.room_id is None:
            return Outcome(self._queued(ident), tuple(wake))
        room = self.rooms[ident.room_id]
        partner = next(self.identities[c].name for c in room.members if c != ident.client_id)
        result = QueueResult(
            client_id=ident.client_id,
            display_name=ident.name,
            status="matched",
            room_id=room.room_id,
            partner=partner,
            hint=f"You are talking to {partner}. Say hello with send_message, then loop on "
            "wait_for_message (passing after=last_id) to read replies.",
        )
        return Outcome(result, tuple(wake))

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
            member.queued_at = None
            member.avoid.clear()
            room.members[member.client_id] = None
            member.room_id = room.room_id
        wake = []
        for member, partner in ((first, second), (second, first)):
            if member.client_id != caller:  # the caller learns from its own result
                wake += self._notify(
                    [member.client_id], room.room_id, event="matched", sender=partner.name
                )
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

    def join_room(
        self, room_id: str | None, display_name: str | None, client_id: str | None = None
    ) -> Outcome[JoinResult]:
        if room_id is not None:
            validation.room_id(room_id)
        room = self.rooms.get(room_id) if room_id is not None else None
        if client_id is not None and room is not None and client_id in room.members:
            ident = self._caller(client_id, display_name)  # already there: nothing to do
            return Outcome(self._joined(ident, room, created=False))
        if room is not None and room.kind == "matched":
            raise RoomNotJoinable(
                f"Room '{room_id}' was made by the matching queue and cannot be joined by id. "
                "Call enter_queue to meet a stranger, or join_room with another room_id."
            )
        if room is not None and len(room.members) >= room.capacity:
            raise RoomFull(
                f"Room '{room_id}' is full ({room.capacity} people). Pick another room_id, or "
                "call join_room without room_id to create a new private room."
            )
        ident = self._caller(client_id, display_name)  # validated; now change state
        wake = self._leave_current(ident, reason="left")
        created = room is None
        if room is None:
            room = self._new_room("private", room_id, self.config.room_capacity)
        others = list(room.members)
        room.members[ident.client_id] = None
        ident.room_id = room.room_id
        wake += self._notify(others, room.room_id, event="joined", sender=ident.name)
        return Outcome(self._joined(ident, room, created), tuple(wake))

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

    def send(self, client_id: str, room_id: str | None, text: str) -> Outcome[SendResult]:
        text = validation.message_text(text, self.config.max_message_chars)
        ident = self.identity(client_id)
        room = self._room_of(ident, room_id)
        recipients = [self.identities[c] for c in room.members if c != client_id]
        if not recipients:
            raise NobodyToTalkTo(
                "Nobody else is in this room right now, so the message was not sent. "
                + (
                    "Call enter_queue with your client_id to meet someone new."
                    if room.kind == "matched"
                    else "Wait for someone to join (wait_for_message), or share the room_id."
                )
            )
        now = self.clock()
        for r in recipients:  # all or nothing: never deliver to some members only
            if not r.mailbox.has_room(now):
                raise MailboxFull(
                    f"{r.name} has {self.config.mailbox_size} unread messages, so nothing was "
                    "sent. Give them time to catch up (wait_for_message shows their reply), "
                    "then send again."
                )
        room.message_count += 1
        room.last_message_at = now
        self.messages_sent += 1
        self.activity.message(now)
        wake = []
        for r in recipients:
            r.mailbox.append(
                now,
                kind="message",
                room_id=room.room_id,
                sender=ident.name,
                text=text,
                message_id=room.message_count,
            )
            if r.waiter_channel:
                wake.append(r.waiter_channel)
        result = SendResult(room.message_count, iso(now), room.room_id, len(recipients))
        return Outcome(result, tuple(wake))

    # -- waiting: begin (confirm + register), poll (hand out), end ----------------------------

    def begin_wait(
        self, client_id: str, room_id: str | None, after: int | None, channel: str
    ) -> Outcome[int]:
        """Confirm what the client has, make this wait the newest; returns its generation and
        rings the wait it replaces, which then returns empty."""
        ident = self.identity(client_id)
        if room_id is not None:
            self._room_of(ident, room_id)
        if after is not None and after < 0:
            raise InvalidInput("after must be 0 or a positive message id.")
        ident.mailbox.confirm(after)
        replaced = ident.waiter_channel
        ident.wait_generation += 1
        ident.waiter_channel = channel
        ident.active_waits += 1
        return Outcome(ident.wait_generation, (replaced,) if replaced else ())

    def poll(self, client_id: str, generation: int) -> list[Entry] | None:
        """Hand out everything pending, or None when a newer wait has taken over."""
        ident = self.identity(client_id)
        if ident.wait_generation != generation:
            return None
        return ident.mailbox.hand_out(self.clock())

    def end_wait(self, client_id: str, generation: int) -> None:
        ident = self.identities.get(client_id)
        if ident is None:
            return
        ident.active_waits -= 1
        ident.last_seen = self.clock()
        if ident.wait_generation == generation:
            ident.waiter_channel = None

    # -- leaving, status, reaping -----------------------------------------------------------

    def leave(self, client_id: str, room_id: str | None) -> Outcome[LeaveResult]:
        ident = self.identity(client_id)
        if room_id is not None:
            self._room_of(ident, room_id)
        if ident.queued_at is not None:
            self._leave_current(ident, reason="left")
            return Outcome(LeaveResult("queue", hint="You left the queue."))
        if ident.room_id is None:
            return Outcome(LeaveResult("nothing", hint="You were not in a room or the queue."))
        left_room = ident.room_id
        wake = self._leave_current(ident, reason="left")
        hint = "You left the room. Your client_id stays valid for enter_queue or join_room."
        return Outcome(LeaveResult("room", left_room, hint), tuple(wake))

    def status(self, client_id: str) -> StatusResult:
        ident = self.identity(client_id)
        result = StatusResult(
            ident.client_id,
            ident.name,
            "idle",
            pending=ident.mailbox.pending(),
            waiting=ident.active_waits > 0,
            hint=self._where(ident),
        )
        if ident.queued_at is not None:
            queued = self._queued(ident)
            result.state, result.position = "queued", queued.position
            result.queue_length = queued.queue_length
        elif ident.room_id is not None:
            room = self.rooms[ident.room_id]
            result.state, result.room_id, result.room_kind = "in_room", room.room_id, room.kind
            result.members = [self.identities[c].name for c in room.members]
        return result

    def sweep(self) -> Outcome[int]:
        """Periodic upkeep: remove identities idle for longer than the idle timeout (their
        partners hear so), then pair queued people whose rematch pause has ended.
        Returns how many identities were removed."""
        limit = self.clock() - self.config.idle_timeout
        idle = [i for i in self.identities.values() if not i.active_waits and i.last_seen < limit]
        wake: list[str] = []
        for ident in idle:
            wake += self._leave_current(ident, reason="idle")
            del self.identities[ident.client_id]
        self.activity.online(self.clock(), len(self.identities))
        wake += self._match_waiting()
        return Outcome(len(idle), tuple(wake))

    def close_room(self, label: str) -> Outcome[bool]:
        """Staff moderation: everyone in the room gets `room_closed` and is taken out of it.
        Returns False when no room has that label (closed already, or emptied meanwhile)."""
        room = next((r for r in self.rooms.values() if r.label == label), None)
        if room is None:
            return Outcome(False)
        members = list(room.members)
        for cid in members:
            self.identities[cid].room_id = None
        del self.rooms[room.room_id]
        wake = self._notify(members, room.room_id, event="room_closed", reason="staff")
        return Outcome(True, tuple(wake))
