"""Waiting for messages: begin (confirm, register, first look), poll, end; and what a
confirmation tells the senders (read receipts).

A wait is a lease that every look renews, so a wait whose process died stops counting by
itself. The newest wait of a client wins: older ones see a stale generation and return empty.
A wait in progress is answered by the change that fills its mailbox (`_answer_waits`), so
waking it costs no second change.
"""

from __future__ import annotations

from chat.core.errors import InvalidInput
from chat.core.limits import admit
from chat.core.mailbox import Entry
from chat.core.results import Outcome, WaitStep
from chat.core.world import ChatWorld, Identity

WAIT_LEASE_TICKS = 3  # progress intervals a wait may go without polling before it lapses
WAIT_LEASE_SLACK = 5.0  # seconds on top, for a loaded event loop


class WaitRules(ChatWorld):
    def begin_wait(
        self,
        client_id: str,
        room_id: str | None,
        after: int | None,
        channel: str,
        receipts: bool = False,
    ) -> Outcome[WaitStep]:
        """Confirm what the client has (its senders who asked for receipts hear so), make this
        wait the newest and take a first look at the log; rings the wait it replaces, which
        then returns empty. `receipts`: whether this client wants `read` events itself."""
        ident = self.identity(client_id)
        if room_id is not None:
            self._room_of(ident, room_id)
        if after is not None and after < 0:
            raise InvalidInput("after must be 0 or a positive message id.")
        ident.wait_tat = admit(ident.wait_tat, ident.last_seen, self.config.limit("wait"))
        wake = self._receipts(ident, ident.mailbox.confirm(after))
        ident.receipts = receipts
        if ident.waiter_channel:
            wake.append(ident.waiter_channel)
        ident.wait_generation += 1
        ident.waiter_channel, ident.wait_answered = channel, False
        step = self._look(ident, ident.wait_generation)
        return Outcome(step, tuple(wake))

    def _receipts(self, reader: Identity, confirmed: list[Entry]) -> list[str]:
        """A `read` event to each sender in the reader's room who asked for receipts, naming
        the last of their messages the reader has now confirmed; returns their doorbells."""
        room_id = reader.room_id
        last_read: dict[str, int] = {}  # sender -> the newest of their messages now read
        for e in confirmed:
            if e.kind == "message" and e.room_id == room_id and e.subject and e.message_id:
                last_read[e.subject] = max(last_read.get(e.subject, 0), e.message_id)
        wake: list[str] = []
        for sender_id, message_id in last_read.items():
            sender = self.identities.get(sender_id)
            if room_id and sender and sender.receipts and sender.room_id == room_id:
                wake += self._notify(
                    [sender_id], room_id, "read", about=reader, message_id=message_id
                )
        return wake

    def poll(self, client_id: str, generation: int) -> WaitStep:
        """Another look at the log for a wait in progress. A wait already answered (by the
        change that filled its mailbox, see `_answer_waits`) takes its answer and changes
        nothing: the change that answered it wrote everything."""
        ident = self.identities.get(client_id)
        if ident and ident.wait_generation == generation and ident.wait_answered:
            # Only a handed-out entry's expiry (after message_ttl) leaves the answer empty.
            return WaitStep(generation, ident.mailbox.handed() or None)
        return self._look(self.identity(client_id), generation)

    def _look(self, ident: Identity, generation: int) -> WaitStep:
        """Hand out everything pending to the newest wait. A wait that gets something ends
        here; one that gets nothing has its lease renewed."""
        if ident.wait_generation != generation:
            return WaitStep(generation, None)
        entries = ident.mailbox.hand_out(ident.last_seen)
        if entries:
            self._end(ident, ident.last_seen)
        else:
            ident.wait_lease = ident.last_seen + self._lease()
        return WaitStep(generation, entries)

    def end_wait(self, client_id: str, generation: int) -> None:
        """A wait that returns nothing to its client (it timed out or was cancelled) is
        over. If it had been answered in place, that answer goes back: its client never got
        it, so even a wait that does not confirm (`after` omitted) hands it out again."""
        ident = self.identities.get(client_id)
        if ident is None:
            return
        ident.last_seen = self.clock()
        if ident.wait_generation != generation:
            return
        if ident.wait_answered:
            ident.mailbox.give_back()
            ident.wait_answered = False
        elif ident.waiter_channel is not None:
            self._end(ident, ident.last_seen)

    def _lease(self) -> float:
        """How long a wait counts as in progress without polling: waits poll at least every
        progress interval, so missing several in a row means its process is gone."""
        return WAIT_LEASE_TICKS * self.config.progress_interval + WAIT_LEASE_SLACK
