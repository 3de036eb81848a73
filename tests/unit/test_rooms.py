from __future__ import annotations

import pytest

from chat.core.engine import ChatEngine
from chat.core.errors import (
    InvalidInput,
    MailboxFull,
    NobodyToTalkTo,
    NotInRoom,
    RoomFull,
    RoomNotJoinable,
    UnknownClient,
)
from tests.unit.helpers import events, inbox, queued


def test_join_creates_then_joins_and_others_hear(engine: ChatEngine) -> None:
    a = engine.join_room("lobby", "Ann").value
    assert a.created and a.members == ["Ann"]
    b = engine.join_room("lobby", "Ben").value
    assert not b.created and b.members == ["Ann", "Ben"]
    assert events(engine, a.client_id) == [("joined", "Ben")]


def test_join_without_id_creates_unguessable_room(engine: ChatEngine) -> None:
    r1 = engine.join_room(None, "X").value
    r2 = engine.join_room(None, "Y").value
    assert r1.room_id != r2.room_id and len(r1.room_id) >= 22


def test_capacity_is_enforced_and_refusal_changes_nothing(engine: ChatEngine) -> None:
    for name in ("A", "B", "C"):  # capacity 3 in this config
        engine.join_room("r", name)
    count = len(engine.identities)
    with pytest.raises(RoomFull, match="full"):
        engine.join_room("r", "D")
    assert len(engine.identities) == count
    assert len(engine.rooms["r"].members) == 3


def test_moving_an_identity_checks_the_target_before_leaving(engine: ChatEngine) -> None:
    for name in ("A", "B", "C"):
        engine.join_room("full", name)
    me = engine.join_room("mine", "Me").value.client_id
    with pytest.raises(RoomFull):
        engine.join_room("full", None, me)
    assert engine.identities[me].room_id == "mine"


def test_queue_made_rooms_cannot_be_joined(engine: ChatEngine) -> None:
    queued(engine, "A")
    room_id = engine.enter_queue(None, "B").value.room_id
    assert room_id is not None
    with pytest.raises(RoomNotJoinable, match="enter_queue"):
        engine.join_room(room_id, "Eve")


def test_send_reaches_every_other_member_in_order(engine: ChatEngine) -> None:
    a = engine.join_room("r", "A").value.client_id
    b = engine.join_room("r", "B").value.client_id
    c = engine.join_room("r", "C").value.client_id
    for i in range(3):
        assert engine.send(a, None, f"m{i}").value.recipients == 2
    for who in (b, c):
        texts = [e.text for e in inbox(engine, who) if e.kind == "message"]
        assert texts == ["m0", "m1", "m2"]
    assert [e.text for e in inbox(engine, a) if e.kind == "message"] == []


def test_full_mailbox_refuses_the_whole_send(engine: ChatEngine) -> None:
    a = engine.join_room("r", "A").value.client_id
    engine.join_room("r", "B")
    c = engine.join_room("r", "C").value.client_id
    inbox(engine, c)
    for i in range(5):
        engine.send(a, None, f"m{i}")
        inbox(engine, c)  # C keeps up, B does not
    with pytest.raises(MailboxFull, match="B has 5 unread"):
        engine.send(a, None, "too many")
    assert all(e.text != "too many" for e in inbox(engine, c))


def test_room_id_must_be_yours(engine: ChatEngine) -> None:
    a = engine.join_room("r", "A").value.client_id
    engine.join_room("other", "B")
    with pytest.raises(NotInRoom, match="not in room 'other'"):
        engine.send(a, "other", "hi")
    with pytest.raises(NotInRoom, match="not in room 'other'"):
        engine.leave(a, "other")
    assert engine.identities[a].room_id == "r"


def test_sending_alone_or_outside_a_room(engine: ChatEngine) -> None:
    a = engine.join_room("r", "A").value.client_id
    with pytest.raises(NobodyToTalkTo):
        engine.send(a, None, "anyone?")
    q = queued(engine, "Q")
    with pytest.raises(NotInRoom, match="queued"):
        engine.send(q, None, "hi")
    with pytest.raises(UnknownClient, match="enter_queue"):
        engine.send("c_nope", None, "hi")
    with pytest.raises(InvalidInput):
        engine.send(a, None, "")


def test_leave_tells_the_others_and_empty_rooms_vanish(engine: ChatEngine) -> None:
    a = engine.join_room("r", "A").value.client_id
    b = engine.join_room("r", "B").value.client_id
    inbox(engine, a)
    assert engine.leave(b, "r").value.left == "room"
    assert events(engine, a) == [("left", "B")]
    engine.leave(a, None)
    assert "r" not in engine.rooms
    assert engine.leave(a, None).value.left == "nothing"


def test_status_reports_where_you_are(engine: ChatEngine) -> None:
    a = queued(engine, "A")
    s = engine.status(a)
    assert (s.state, s.position, s.queue_length) == ("queued", 1, 1)
    b = engine.enter_queue(None, "B").value.client_id
    s = engine.status(a)
    assert s.state == "in_room" and s.members == ["A", "B"] and s.room_kind == "matched"
    assert s.pending == 1  # the matched event
    engine.send(b, None, "hi")
    assert engine.status(a).pending == 2
