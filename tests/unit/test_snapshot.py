from __future__ import annotations

import json
from dataclasses import asdict

from chat.core.activity import BUCKET, WINDOW
from chat.core.engine import ChatEngine
from chat.core.snapshot import take_snapshot
from tests.unit.conftest import FakeClock
from tests.unit.helpers import events, queued


def busy(engine: ChatEngine, clock: FakeClock) -> dict[str, str]:
    """Two matched strangers chatting, a private room of two, one person queued."""
    a = queued(engine, "Alice")
    b = engine.enter_queue(None, "Bob").value.client_id
    p = engine.join_room("secret-room-id", "Pat").value.client_id
    q = engine.join_room("secret-room-id", "Quinn").value.client_id
    clock.advance(5)
    engine.send(a, None, "top secret text")
    engine.send(p, None, "private words")
    clock.advance(3)
    w = queued(engine, "Waiting")
    clock.advance(2)
    return {"a": a, "b": b, "p": p, "q": q, "w": w}


def test_counts_match_the_state_exactly(engine: ChatEngine, clock: FakeClock) -> None:
    busy(engine, clock)
    s = take_snapshot(engine)
    assert (s.online, s.queue_length, s.active_rooms, s.people_in_rooms) == (5, 1, 2, 4)
    assert s.oldest_wait_s == 2.0
    assert s.messages_per_minute == 2 and s.messages_total == 2
    rows = {r.kind: r for r in s.rooms}
    assert rows["matched"].members == 2 and rows["matched"].messages == 1
    assert rows["private"].age_s == 10.0 and rows["private"].idle_s == 5.0


def test_no_text_ids_or_names_unless_asked(engine: ChatEngine, clock: FakeClock) -> None:
    ids = busy(engine, clock)
    dumped = json.dumps(asdict(take_snapshot(engine)))
    for secret in [*ids.values(), *engine.rooms, "top secret", "private words", "Alice", "Pat"]:
        assert secret not in dumped
    named = json.dumps(asdict(take_snapshot(engine, show_names=True)))
    assert "Alice" in named and "Pat" in named
    assert "top secret" not in named and ids["a"] not in named


def test_messages_per_minute_rolls_off(engine: ChatEngine, clock: FakeClock) -> None:
    busy(engine, clock)
    clock.advance(61 + BUCKET)
    assert take_snapshot(engine).messages_per_minute == 0
    assert take_snapshot(engine).messages_total == 2


def test_chart_covers_the_window_evenly(engine: ChatEngine, clock: FakeClock) -> None:
    busy(engine, clock)
    chart = take_snapshot(engine).chart
    assert len(chart) == int(WINDOW / BUCKET) + 1
    assert [p.ago_s for p in chart] == sorted((p.ago_s for p in chart), reverse=True)
    assert sum(p.messages for p in chart) == 2 and chart[-1].online == 5


def test_closing_a_room_tells_members_and_frees_them(engine: ChatEngine, clock: FakeClock) -> None:
    ids = busy(engine, clock)
    label = next(r.label for r in take_snapshot(engine).rooms if r.kind == "private")
    events(engine, ids["p"])
    assert engine.close_room(label).value is True
    assert events(engine, ids["p"]) == [("room_closed", None)]
    assert engine.status(ids["q"]).state == "idle"
    assert engine.close_room(label).value is False
    assert take_snapshot(engine).active_rooms == 1
