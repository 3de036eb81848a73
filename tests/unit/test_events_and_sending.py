"""Bounded events, idempotent sends and fixed names."""

from __future__ import annotations

import pytest

from chat.core.engine import ChatEngine
from chat.core.errors import IdempotencyKeyReused, NameChangeRefused
from tests.unit.conftest import FakeClock
from tests.unit.helpers import inbox


def test_join_leave_churn_does_not_grow_a_mailbox(engine: ChatEngine, clock: FakeClock) -> None:
    """One person or many cycling through a room while the owner is not reading."""
    owner = engine.join_room("r", "Owner").value.client_id
    box = engine.identities[owner].mailbox
    same = engine.join_room(None, "Churner").value.client_id
    for i in range(1000):
        engine.join_room("r", None, same)
        engine.leave(same, None)
        fresh = engine.join_room("r", f"G{i}").value.client_id
        engine.leave(fresh, None)
        clock.advance(0.01)
    assert box.pending() == 0


def test_a_left_about_someone_the_reader_saw_is_kept(engine: ChatEngine) -> None:
    owner = engine.join_room("r", "Owner").value.client_id
    ben = engine.join_room("r", "Ben").value.client_id
    assert [e.event for e in engine.identities[owner].mailbox.hand_out(engine.clock())] == [
        "joined"
    ]
    for _ in range(50):
        engine.leave(ben, None)
        engine.join_room("r", None, ben)
    engine.leave(ben, None)
    got = [(e.event, e.sender) for e in inbox(engine, owner)]
    assert got == [("joined", "Ben"), ("left", "Ben")]  # the seen joined, then the last left


def test_what_a_person_said_keeps_their_join_and_leave(engine: ChatEngine) -> None:
    owner = engine.join_room("r", "Owner").value.client_id
    ben = engine.join_room("r", "Ben").value.client_id
    engine.send(ben, None, "hello and bye")
    engine.leave(ben, None)
    got = [(e.kind, e.event or e.text) for e in inbox(engine, owner)]
    assert got == [("event", "joined"), ("message", "hello and bye"), ("event", "left")]


def test_room_closed_is_never_collapsed(engine: ChatEngine) -> None:
    owner = engine.join_room("r", "Owner").value.client_id
    engine.join_room("r", "Ben")
    engine.close_room(engine.rooms["r"].label)
    got = [e.event for e in inbox(engine, owner)]
    assert got == ["joined", "room_closed"]


def test_a_retried_send_with_the_same_key_sends_once(engine: ChatEngine) -> None:
    a = engine.join_room("r", "A").value.client_id
    b = engine.join_room("r", "B").value.client_id
    first = engine.send(b, None, "only once", key="k-1")
    again = engine.send(b, None, "only once", key="k-1")
    assert again.value == first.value and again.wake == ()
    other = engine.send(b, None, "only once", key="k-2")  # a new key is a new message
    assert other.value.message_id == first.value.message_id + 1
    texts = [e.text for e in inbox(engine, a) if e.kind == "message"]
    assert texts == ["only once", "only once"]


def test_a_key_reused_for_different_text_is_refused(engine: ChatEngine) -> None:
    engine.join_room("r", "A")
    b = engine.join_room("r", "B").value.client_id
    engine.send(b, None, "first", key="k")
    with pytest.raises(IdempotencyKeyReused, match="different message"):
        engine.send(b, None, "second", key="k")


def test_a_retry_after_leaving_still_returns_the_first_result(engine: ChatEngine) -> None:
    engine.join_room("r", "A")
    b = engine.join_room("r", "B").value.client_id
    first = engine.send(b, None, "bye", key="k")
    engine.leave(b, None)
    assert engine.send(b, None, "bye", key="k").value == first.value


def test_keys_are_forgotten_after_the_message_ttl(engine: ChatEngine, clock: FakeClock) -> None:
    engine.join_room("r", "A")
    b = engine.join_room("r", "B").value.client_id
    first = engine.send(b, None, "hi", key="k")
    clock.advance(engine.config.message_ttl + 1)
    assert engine.send(b, None, "hi", key="k").value.message_id == first.value.message_id + 1
    assert len(engine.identities[b].sent_keys) == 1


def test_a_display_name_cannot_change_silently(engine: ChatEngine) -> None:
    ann = engine.join_room("r", "Ann").value.client_id
    with pytest.raises(NameChangeRefused, match="already 'Ann'"):
        engine.join_room("r", "Mallory", ann)
    with pytest.raises(NameChangeRefused):
        engine.enter_queue(ann, "Mallory")
    assert engine.join_room("r", "Ann", ann).value.display_name == "Ann"  # same name is fine
    assert engine.identities[ann].room_id == "r"
