from __future__ import annotations

import pytest

from chat.core.engine import ChatEngine
from chat.core.errors import BadCursor, UnknownClient
from chat.core.results import WaitStep
from tests.unit.conftest import FakeClock


def pair(engine: ChatEngine) -> tuple[str, str]:
    """A and B in room r, A having read the "joined" event: nothing pending for either."""
    a = engine.join_room("r", "A").value.client_id
    b = engine.join_room("r", "B").value.client_id
    engine.identities[a].mailbox.hand_out(engine.clock())
    engine.identities[a].mailbox.confirm(None)
    return a, b


def test_newer_wait_supersedes_older_and_rings_it(engine: ChatEngine) -> None:
    a, b = pair(engine)
    old = engine.begin_wait(a, None, None, "bell-1").value
    assert old.entries == []  # nothing yet: it stays
    new = engine.begin_wait(a, None, None, "bell-2")
    assert new.wake == ("bell-1",)
    engine.send(b, None, "hi")
    assert engine.poll(a, old.generation) == WaitStep(old.generation, None)
    got = engine.poll(a, new.value.generation)
    assert got.done and [e.text for e in got.entries or [] if e.kind == "message"] == ["hi"]
    assert not engine.status(a).waiting  # the wait that got something is over


def test_send_rings_the_current_waiter_only(engine: ChatEngine) -> None:
    a, b = pair(engine)
    assert engine.send(b, None, "not waiting").wake == ()
    engine.begin_wait(a, None, None, "first")  # takes it at once: that wait is over
    gen = engine.begin_wait(a, None, None, "bell").value.generation  # confirms; parked
    assert engine.send(b, None, "waiting").wake == ("bell",)
    engine.end_wait(a, gen)
    assert engine.send(b, None, "gone").wake == ()


def test_unconfirmed_entries_come_again_until_after_confirms_them(engine: ChatEngine) -> None:
    a, b = pair(engine)
    engine.send(b, None, "one")
    first = engine.begin_wait(a, None, None, "x").value.entries
    assert first
    last = first[-1].id
    again = engine.begin_wait(a, None, 0, "y").value.entries  # the answer was lost: after=0
    assert again is not None and [e.id for e in again] == [e.id for e in first]
    assert engine.begin_wait(a, None, last, "z").value.entries == []
    with pytest.raises(BadCursor):
        engine.begin_wait(a, None, last + 5, "w")


def test_idle_identities_are_reaped_and_partners_told(engine: ChatEngine, clock: FakeClock) -> None:
    a, b = pair(engine)
    engine.identities[a].mailbox.hand_out(clock())  # A has seen B join
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
    gen = engine.begin_wait(a, None, None, "bell").value.generation
    for _ in range(100):  # a live wait polls at least every progress interval
        clock.advance(engine.config.progress_interval)
        engine.poll(a, gen)
    assert engine.sweep().value == 1  # only B
    engine.end_wait(a, gen)
    clock.advance(59)
    assert engine.sweep().value == 0
    clock.advance(2)
    assert engine.sweep().value == 1


def test_a_wait_whose_process_died_stops_counting_when_its_lease_lapses(
    engine: ChatEngine, clock: FakeClock
) -> None:
    a, b = pair(engine)
    engine.begin_wait(a, None, None, "bell")  # ...and its process is killed: no poll, no end
    engine.status(b)
    assert engine.status(a).waiting
    clock.advance(engine.config.idle_timeout / 2)
    engine.status(b)
    assert not engine.identities[a].waiting(clock())  # the lease is far shorter than that
    assert engine.send(b, None, "anyone?").wake == ("bell",)  # rung once, in case it lives
    clock.advance(engine.config.idle_timeout / 2 + 1)
    engine.status(b)
    assert engine.sweep().value == 1  # A is reaped like any idle chatter
    with pytest.raises(UnknownClient):
        engine.status(a)


def test_a_wait_is_answered_by_the_change_that_fills_its_mailbox(
    engine: ChatEngine, clock: FakeClock
) -> None:
    """The send hands the message to the parked wait and ends it, in one change: its ring
    only tells it so, and its look changes nothing. What comes after waits for the next."""
    a, b = pair(engine)
    gen = engine.begin_wait(a, None, None, "bell").value.generation
    assert engine.status(a).waiting
    assert engine.send(b, None, "one").wake == ("bell",)
    assert not engine.status(a).waiting  # answered: nobody waits any more
    assert engine.send(b, None, "two").wake == ()
    assert engine.leave(b, None).wake == ()
    seen = engine.identities[a].last_seen
    clock.advance(1)
    step = engine.poll(a, gen)
    assert [e.text for e in step.entries or []] == ["one"]  # what it was answered with
    assert engine.identities[a].last_seen == seen  # taking the answer wrote nothing
    assert engine.poll(a, gen) == step  # again (a lost answer, a second look): the same
    rest = engine.begin_wait(a, None, step.entries[-1].id, "x").value.entries or []
    assert [(e.text, e.event) for e in rest] == [("two", None), (None, "left")]

    gen = engine.begin_wait(a, None, None, "bell-2").value.generation  # confirms; parked
    d = engine.join_room("r", "D").value.client_id  # answers it with "joined"
    assert engine.leave(d, None).wake == ()  # handed out already: "left" stays, unrung
    joined = engine.poll(a, gen).entries or []
    assert [e.event for e in joined] == ["joined"]
    gen = engine.begin_wait(a, None, None, "bell-3").value.generation  # takes the "left"
    gen = engine.begin_wait(a, None, None, "bell-4").value.generation  # parked
    e = engine.join_room("r", "E").value.client_id
    assert engine.join_room("r", "F").wake == ()  # the wait was answered by E's "joined"
    assert engine.leave(e, None).wake == ()
    assert [x.event for x in engine.poll(a, gen).entries or []] == ["joined"]


def test_a_wait_that_ends_without_its_answer_gives_it_back(engine: ChatEngine) -> None:
    """Answered in place, but cancelled before it returned: the answer is handed out again
    even to a wait that does not confirm (after omitted), never confirmed unseen."""
    a, b = pair(engine)
    gen = engine.begin_wait(a, None, None, "bell").value.generation
    engine.send(b, None, "one")
    engine.end_wait(a, gen)  # its client went away before the answer reached it
    again = engine.begin_wait(a, None, None, "bell-2").value.entries or []
    assert [e.text for e in again] == ["one"]
