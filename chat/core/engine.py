"""The chat use cases, each one atomic: validate everything, then change the world.

A refused call leaves no trace. Mutations return an `Outcome` naming the doorbell channels to
ring, and the caller rings them after the change is complete.
"""

from __future__ import annotations

from chat.core import validation
from chat.core.errors import (
    IdempotencyKeyReused,
    MailboxFull,
    NobodyToTalkTo,
    RoomFull,
    RoomNotJoinable,
    ServerFull,
)
from chat.core.limits import admit
from chat.core.mailbox import iso
from chat.core.results import (
    JoinResult,
    LeaveResult,
    Member,
    Outcome,
    QueueResult,
    SendResult,
    StatusResult,
)
from chat.core.waits import WaitRules
from chat.core.world import TYPING_FOR, Identity, SentKey

KEPT_SEND_KEYS = 100  # idempotency keys remembered per sender (and for the message TTL)


class ChatEngine(WaitRules):
    """Every public method is one use case a tool or the monitor calls."""

    # -- matching ---------------------------------------------------------------------------

    def enter_queue(self, client_id: str | None, display_name: str | None) -> Outcome[QueueResult]:
        if len(self.queue) >= self.config.max_queue and not self._would_pair(client_id):
            raise ServerFull("the queue for strangers is full")
        ident = self._caller(client_id, display_name)
        if ident.client_id in self.queue:
            return Outcome(self._queued(ident))
        wake = self._leave_current(ident, reason="next")
        self.queue[ident.client_id] = self.clock()
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

    def _would_pair(self, client_id: str | None) -> bool:
        """Whether the caller is queued already or would be paired at once (a full queue only
        refuses those who would wait in it)."""
        if client_id in self.queue:
            return True
        me = self.identities.get(client_id) if client_id else None
        now = self.clock()
        return any(me is None or self._may_pair(me, self.identities[c], now) for c in self.queue)

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
        if room is None and self.room_count() >= self.config.max_rooms:
            raise ServerFull("too many rooms")
        ident = self._caller(client_id, display_name)  # validated; now change state
        wake = self._leave_current(ident, reason="left")
        created = room is None
        if room is None:
            room = self._new_room("private", room_id, self.config.room_capacity)
        others = list(room.members)
        room.members[ident.client_id] = None
        ident.room_id = room.room_id
        wake += self._notify(others, room.room_id, "joined", about=ident)
        return Outcome(self._joined(ident, room, created), tuple(wake))

    def send(
        self, client_id: str, room_id: str | None, text: str, key: str | None = None
    ) -> Outcome[SendResult]:
        """Deliver to everyone else in the room, all or nothing. With an idempotency `key`, a
        retry of a send that already happened returns the first result and sends nothing."""
        text = validation.message_text(text, self.config.max_message_chars)
        if key is not None:
            validation.idempotency_key(key)
        ident = self.identity(client_id)
        now = self.clock()
        if key is not None and (earlier := self._earlier_send(ident, key, text, now)):
            return Outcome(earlier)
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
        for r in recipients:  # all or nothing: never deliver to some members only
            if not r.mailbox.has_room(now):
                raise MailboxFull(
                    f"{r.name} has {self.config.mailbox_size} unread messages, so nothing was "
                    "sent. Give them time to catch up (wait_for_message shows their reply), "
                    "then send again."
                )
        ident.send_tat = admit(ident.send_tat, now, self.config.limit("send"))
        ident.typing_until = 0.0  # what they were typing is sent
        room.message_count += 1
        room.last_message_at = now
        self.messages_sent += 1
        self.activity.message(now)
        for r in recipients:
            r.mailbox.append(
                now,
                kind="message",
                room_id=room.room_id,
                sender=ident.name,
                subject=ident.client_id,
                text=text,
                message_id=room.message_count,
            )
        listening = sum(r.presence(now) != "away" for r in recipients)  # typing listens too
        result = SendResult(room.message_count, iso(now), room.room_id, len(recipients), listening)
        if key is not None:
            ident.sent_keys[key] = SentKey(now, text, result)
            while len(ident.sent_keys) > KEPT_SEND_KEYS:
                del ident.sent_keys[next(iter(ident.sent_keys))]
        return Outcome(result, tuple(self._answer_waits(recipients)))

    def _earlier_send(self, ident: Identity, key: str, text: str, now: float) -> SendResult | None:
        """The result of an earlier send with this key, if it is still remembered."""
        limit = now - self.config.message_ttl
        for old in [k for k, sent in ident.sent_keys.items() if sent.at < limit]:
            del ident.sent_keys[old]
        sent = ident.sent_keys.get(key)
        if sent is None:
            return None
        if sent.text != text:
            raise IdempotencyKeyReused(
                f"idempotency_key '{key}' was already used for a different message. Use a new "
                "key for every new message, and the same key only to retry the same message."
            )
        return sent.result

    # -- leaving, status, reaping -----------------------------------------------------------

    def leave(self, client_id: str, room_id: str | None) -> Outcome[LeaveResult]:
        ident = self.identity(client_id)
        if room_id is not None:
            self._room_of(ident, room_id)
        if ident.client_id in self.queue:
            self._leave_current(ident, reason="left")
            return Outcome(LeaveResult("queue", hint="You left the queue."))
        if ident.room_id is None:
            return Outcome(LeaveResult("nothing", hint="You were not in a room or the queue."))
        left_room = ident.room_id
        wake = self._leave_current(ident, reason="left")
        hint = "You left the room. Your client_id stays valid for enter_queue or join_room."
        return Outcome(LeaveResult("room", left_room, hint), tuple(wake))

    def typing(self, client_id: str) -> None:
        """The person is typing (their window says so): others see it for a moment."""
        ident = self.identity(client_id)
        self._room_of(ident, None)
        ident.typing_until = ident.last_seen + TYPING_FOR

    def status(self, client_id: str) -> StatusResult:
        ident = self.identity(client_id)
        result = StatusResult(
            ident.client_id,
            ident.name,
            "idle",
            pending=ident.mailbox.pending(),
            waiting=ident.waiting(ident.last_seen),
            hint=self._where(ident),
        )
        if ident.client_id in self.queue:
            queued = self._queued(ident)
            result.state, result.position = "queued", queued.position
            result.queue_length = queued.queue_length
        elif ident.room_id is not None:
            room = self.rooms[ident.room_id]
            result.state, result.room_id, result.room_kind = "in_room", room.room_id, room.kind
            result.members = [self.identities[c].name for c in room.members]
            now = ident.last_seen
            result.presence = [
                Member(other.name, other.presence(now))
                for other in (self.identities[c] for c in room.members)
                if other is not ident
            ]
        return result

    def sweep(self) -> Outcome[int]:
        """Periodic upkeep: remove identities idle for longer than the idle timeout (their
        partners hear so), then pair queued people whose rematch pause has ended.
        Returns how many identities were removed."""
        now = self.clock()
        limit = now - self.config.idle_timeout
        idle = [i for i in self.identities.values() if not i.waiting(now) and i.last_seen < limit]
        wake: list[str] = []
        for ident in idle:
            wake += self._leave_current(ident, reason="idle")
            del self.identities[ident.client_id]
        self.activity.online(self.clock(), self.online_count())
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
        wake = self._notify(members, room.room_id, "room_closed", reason="staff")
        return Outcome(True, tuple(wake))
