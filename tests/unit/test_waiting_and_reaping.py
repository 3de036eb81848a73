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


def test_one_ring_per_read_of_the_log(engine: ChatEngine) -> None:
    """A waiter is rung once; more rings before it reads the log would only pile up."""
    a, b = pair(engine)
    gen = engine.begin_wait(a, None, None, "bell").value.generation
    assert engine.send(b, None, "one").wake == ("bell",)
    assert engine.send(b, None, "two").wake == ()
    assert engine.leave(b, None).wake == ()
    step = engine.poll(a, gen)
    assert step.done and len(step.entries or []) == 3  # got it all: this wait is over
    assert engine.join_room("r", "C").wake == ()  # nobody waits any more

    engine.begin_wait(a, None, None, "x")  # takes the "joined"
    gen = engine.begin_wait(a, None, None, "bell-2").value.generation  # confirms it; parked
    d = engine.join_room("r", "D").value.client_id
    engine.leave(d, None)  # joined and left cancel out: the ring finds nothing
    assert engine.poll(a, gen).entries == []  # an empty look re-arms the doorbell
    assert engine.join_room("r", "E").wake == ("bell-2",)
