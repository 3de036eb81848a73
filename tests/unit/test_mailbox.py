from __future__ import annotations

import pytest

from chat.core.errors import BadCursor, MailboxFull
from chat.core.mailbox import Mailbox


def fill(box: Mailbox, n: int, now: float = 0.0) -> None:
    for i in range(n):
        box.append(now, kind="message", room_id="r", text=f"m{i}")


def test_ids_increase_and_reading_does_not_remove() -> None:
    box = Mailbox(size=10, ttl=100)
    fill(box, 3)
    assert [e.id for e in box.hand_out(0)] == [1, 2, 3]
    assert [e.id for e in box.hand_out(0)] == [1, 2, 3]  # unconfirmed: handed out again


def test_confirm_trims_up_to_cursor_and_next_read_starts_after_it() -> None:
    box = Mailbox(size=10, ttl=100)
    fill(box, 3)
    box.hand_out(0)
    box.confirm(2)
    assert [e.id for e in box.hand_out(0)] == [3]


def test_confirm_without_cursor_acknowledges_everything_handed_out_only() -> None:
    box = Mailbox(size=10, ttl=100)
    fill(box, 2)
    box.hand_out(0)
    fill(box, 1)  # arrives after the hand-out: not confirmed by a bare confirm
    box.confirm(None)
    assert [e.text for e in box.hand_out(0)] == ["m0"]
    assert box.pending() == 1


def test_cursor_beyond_what_was_handed_out_is_refused_without_change() -> None:
    box = Mailbox(size=10, ttl=100)
    fill(box, 3)
    box.hand_out(0)
    fill(box, 1)
    with pytest.raises(BadCursor, match="beyond"):
        box.confirm(4)
    assert box.pending() == 4


def test_old_cursor_is_harmless() -> None:
    box = Mailbox(size=10, ttl=100)
    fill(box, 3)
    box.hand_out(0)
    box.confirm(3)
    box.confirm(1)
    assert box.pending() == 0


def test_full_mailbox_refuses_messages_but_accepts_events() -> None:
    box = Mailbox(size=2, ttl=100)
    fill(box, 2)
    with pytest.raises(MailboxFull):
        fill(box, 1)
    box.append(0, kind="event", room_id="r", event="left")
    assert box.pending() == 3
    box.hand_out(0)
    box.confirm(1)
    assert box.has_room(0)


def test_entries_older_than_ttl_expire() -> None:
    box = Mailbox(size=10, ttl=100)
    fill(box, 2, now=0)
    fill(box, 1, now=50)
    assert [e.text for e in box.hand_out(120)] == ["m0"]  # the one from t=50 survives
    assert box.pending() == 1
