"""Read receipts (a `read` event to senders who asked) and presence (listening or away)."""

from __future__ import annotations

import pytest

from chat.core.engine import ChatEngine
from chat.core.errors import NotInRoom
from chat.core.world import PRESENCE_GRACE, TYPING_FOR
from tests.unit.conftest import FakeClock


def pair(engine: ChatEngine) -> tuple[str, str]:
    ann = engine.join_room("r", "Ann").value.client_id
    bob = engine.join_room("r", "Bob").value.client_id
    return ann, bob


def reads(engine: ChatEngine, client_id: str) -> list[tuple[str | None, int | None]]:
    """The `read` events a wait hands `client_id` now (and confirms them)."""
    step = engine.begin_wait(client_id, None, None, "bell-x", True).value
    if not step.entries:  # a wait that got something is over; one that did not, ends now
        engine.end_wait(client_id, step.generation)
    return [(e.sender, e.message_id) for e in step.entries or [] if e.event == "read"]


def test_confirming_tells_the_sender_the_last_message_read(engine: ChatEngine) -> None:
    ann, bob = pair(engine)
    reads(engine, ann)  # Ann's wait asks for receipts (and takes Bob's "joined")
    first = engine.send(ann, None, "one").value.message_id
    second = engine.send(ann, None, "two").value.message_id
    got = engine.begin_wait(bob, None, None, "bell-b", False).value.entries or []
    assert [e.text for e in got if e.kind == "message"] == ["one", "two"]
    assert reads(engine, ann) == []  # handed out is not read: nothing is confirmed yet
    wake = engine.begin_wait(bob, None, got[-1].id, "bell-b2", False).wake  # confirms both
    assert reads(engine, ann) == [("Bob", second)] and first < second
    assert wake == ()  # Ann had no wait parked; with one, her doorbell would ring


def test_a_parked_sender_is_rung_and_receipts_collapse(engine: ChatEngine) -> None:
    ann, bob = pair(engine)
    reads(engine, ann)
    for text in ("a", "b", "c"):
        engine.send(ann, None, text)
    parked = engine.begin_wait(ann, None, None, "ann-bell", True).value  # nothing yet: parked
    assert parked.entries == []
    entries = engine.begin_wait(bob, None, None, "b1", False).value.entries or []
    # Bob confirms one message at a time: the first rings Ann's parked wait, and it stays
    # rung until she reads.
    wakes = [engine.begin_wait(bob, None, e.id, "b2", False).wake for e in entries]
    assert wakes == [("ann-bell",), (), ()]
    # Three confirmations, one pending receipt: the newest replaced the older ones.
    assert reads(engine, ann) == [("Bob", 3)]


def test_no_receipts_for_who_did_not_ask_or_left(engine: ChatEngine) -> None:
    ann, bob = pair(engine)
    engine.send(ann, None, "hi")  # Ann never asked for receipts
    entries = engine.begin_wait(bob, None, None, "b", False).value.entries or []
    waiting = engine.begin_wait(bob, None, entries[-1].id, "b2", False).value
    assert reads(engine, ann) == []
    engine.send(ann, None, "still there?")  # now she has asked (previous line's wait)
    entries = engine.poll(bob, waiting.generation).entries or []
    engine.leave(ann, None)
    engine.begin_wait(bob, None, entries[-1].id, "b4", False)  # read after Ann left
    assert reads(engine, ann) == []


def test_presence_is_listening_during_a_wait_and_shortly_after(
    engine: ChatEngine, clock: FakeClock
) -> None:
    ann, bob = pair(engine)

    def ann_seen_by_bob() -> str:
        return engine.status(bob).presence[0].presence

    assert [m.name for m in engine.status(bob).presence] == ["Ann"]  # the others only
    assert ann_seen_by_bob() == "away"
    reads(engine, ann)  # takes the joined at once: her wait just ended
    assert ann_seen_by_bob() == "listening"
    clock.advance(PRESENCE_GRACE + 1)
    assert ann_seen_by_bob() == "away"
    engine.begin_wait(ann, None, None, "ann-bell", False)  # parked
    clock.advance(PRESENCE_GRACE + 1)
    assert ann_seen_by_bob() == "listening"
    assert engine.send(bob, None, "hello").value.listening == 1
    clock.advance(100)  # her lease lapsed: the process that held the wait is gone
    assert ann_seen_by_bob() == "away"
    assert engine.send(bob, None, "anyone?").value.listening == 0


def test_typing_shows_for_a_moment_and_ends_with_the_message(
    engine: ChatEngine, clock: FakeClock
) -> None:
    ann, bob = pair(engine)
    engine.typing(ann)
    assert engine.status(bob).presence[0].presence == "typing"
    assert engine.send(bob, None, "are you writing?").value.listening == 1  # typing listens
    clock.advance(TYPING_FOR + 0.1)
    assert engine.status(bob).presence[0].presence == "away"
    engine.typing(ann)
    engine.send(ann, None, "done typing")
    assert engine.status(bob).presence[0].presence == "away"
    engine.leave(ann, None)
    with pytest.raises(NotInRoom):
        engine.typing(ann)  # nobody to show it to
