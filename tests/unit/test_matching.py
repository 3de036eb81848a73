from __future__ import annotations

from chat.core.engine import ChatEngine
from tests.unit.conftest import FakeClock
from tests.unit.helpers import events, inbox, queued


def test_first_two_are_paired_and_the_waiting_one_hears_by_event(engine: ChatEngine) -> None:
    a = queued(engine, "Alice")
    b = engine.enter_queue(None, "Bob").value
    assert b.status == "matched" and b.partner == "Alice"
    assert engine.identities[a].room_id == b.room_id
    assert events(engine, a) == [("matched", "Bob")]
    assert inbox(engine, b.client_id) == []  # the caller learns from its own result
    assert engine.queue == {}


def test_waiting_result_reports_position_and_length(engine: ChatEngine) -> None:
    first = engine.enter_queue(None, "A").value
    assert (first.status, first.position, first.queue_length) == ("waiting", 1, 1)


def test_entering_again_while_queued_is_idempotent(engine: ChatEngine) -> None:
    a = queued(engine, "A")
    again = engine.enter_queue(a, None).value
    assert again.status == "waiting" and again.queue_length == 1


def next_pair(engine: ChatEngine) -> tuple[str, str]:
    """A and B chatted; both pressed next and now wait, not paired with each other."""
    a = queued(engine, "A")
    b = engine.enter_queue(None, "B").value.client_id
    assert engine.enter_queue(a, None).value.status == "waiting"
    assert ("left", "A") in events(engine, b)
    r = engine.enter_queue(b, None).value
    assert (r.status, r.position, r.queue_length) == ("waiting", 2, 2)
    inbox(engine, a)
    return a, b


def test_next_never_rematches_at_once_and_the_queue_stays_fifo(engine: ChatEngine) -> None:
    a, b = next_pair(engine)
    c = engine.enter_queue(None, "C").value
    assert c.partner == "A"  # A waited longest
    d = engine.enter_queue(None, "D").value
    assert d.partner == "B"
    assert events(engine, a) == [("matched", "C")]
    assert events(engine, b) == [("matched", "D")]


def test_ex_partners_are_paired_by_the_sweep_after_the_pause(
    engine: ChatEngine, clock: FakeClock
) -> None:
    a, b = next_pair(engine)
    clock.advance(engine.config.rematch_after - 1)
    assert engine.sweep().value == 0 and len(engine.queue) == 2
    clock.advance(2)
    engine.sweep()
    assert engine.queue == {}
    assert engine.identities[a].room_id == engine.identities[b].room_id is not None
    assert events(engine, a) == [("matched", "B")] and events(engine, b) == [("matched", "A")]


def test_leaving_the_queue(engine: ChatEngine) -> None:
    a = queued(engine, "A")
    assert engine.leave(a, None).value.left == "queue"
    assert engine.enter_queue(None, "B").value.status == "waiting"
    assert inbox(engine, a) == []
