from __future__ import annotations

import pytest

from chat.core.engine import ChatEngine
from chat.core.errors import BadCursor, UnknownClient
from tests.unit.conftest import FakeClock


def pair(engine: ChatEngine) -> tuple[str, str]:
    a = engine.join_room("r", "A").value.client_id
    b = engine.join_room("r", "B").value.client_id
    return a, b


def test_newer_wait_supersedes_older_and_rings_it(engine: ChatEngine) -> None:
    a, b = pair(engine)
    old = engine.begin_wait(a, None, None, "bell-1")
    new = engine.begin_wait(a, None, None, "bell-2")
    assert new.wake == ("bell-1",)
    engine.send(b, None, "hi")
    assert engine.poll(a, old.value) is None
    got = engine.poll(a, new.value)
    assert got is not None and [e.text for e in got if e.kind == "message"] == ["hi"]


def test_send_rings_the_current_waiter_only(engine: ChatEngine) -> None:
    a, b = pair(engine)
    assert engine.send(b, None, "not waiting").wake == ()
    gen = engine.begin_wait(a, None, None, "bell").value
    assert engine.send(b, None, "waiting").wake == ("bell",)
    engine.end_wait(a, gen)
    assert engine.send(b, None, "gone").wake == ()


def test_unconfirmed_entries_come_again_until_after_confirms_them(engine: ChatEngine) -> None:
    a, b = pair(engine)
    engine.send(b, None, "one")
    gen = engine.begin_wait(a, None, None, "x").value
    first = engine.poll(a, gen)
    assert first is not None
    last = first[-1].id
    engine.end_wait(a, gen)
    gen = engine.begin_wait(a, None, 0, "y").value  # the client lost the answer: after=0
    again = engine.poll(a, gen)
    assert again is not None and [e.id for e in again] == [e.id for e in first]
    engine.end_wait(a, gen)
    gen = engine.begin_wait(a, None, last, "z").value
    assert engine.poll(a, gen) == []
    with pytest.raises(BadCursor):
        engine.begin_wait(a, None, last + 5, "w")


def test_idle_identities_are_reaped_and_partners_told(engine: ChatEngine, clock: FakeClock) -> None:
    a, b = pair(engine)
    q = engine.enter_queue(None, "Q").value.client_id
    clock.advance(30)
    engine.status(a)  # A stays active
    clock.advance(31)
    assert engine.sweep().value == 2  # B and Q
    assert q not in engine.queue
    assert engine.enter_queue(None, "New").value.status == "waiting"  # no ghost partner
    entries = engine.identities[a].mailbox.hand_out(clock())
    assert [(e.event, e.reason) for e in entries if e.event == "left"] == [("left", "idle")]
    with pytest.raises(UnknownClient):
        engine.status(b)


def test_a_wait_in_progress_counts_as_activity(engine: ChatEngine, clock: FakeClock) -> None:
    a, _ = pair(engine)
    gen = engine.begin_wait(a, None, None, "bell").value
    clock.advance(1000)
    assert engine.sweep().value == 1  # only B
    engine.end_wait(a, gen)
    clock.advance(59)
    assert engine.sweep().value == 0
    clock.advance(2)
    assert engine.sweep().value == 1
