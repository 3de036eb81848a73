from __future__ import annotations

import pytest

from chat.core import validation
from chat.core.config import ChatConfig
from chat.core.errors import InvalidInput


def test_display_name_is_trimmed_and_defaulted() -> None:
    assert validation.display_name("  Ada  ") == "Ada"
    assert validation.display_name(None).startswith("Guest-")


@pytest.mark.parametrize("bad", ["", "   ", "x" * 33, "a\nb", "tab\there", "\x07bell"])
def test_bad_display_names_are_refused(bad: str) -> None:
    with pytest.raises(InvalidInput, match="display_name"):
        validation.display_name(bad)


def test_message_limits() -> None:
    assert validation.message_text("hi", 10) == "hi"
    assert validation.message_text("x" * 10, 10) == "x" * 10
    for bad, why in [("", "empty"), ("  \n", "empty"), ("x" * 11, "limit"), ("a\x00b", "NUL")]:
        with pytest.raises(InvalidInput, match=why):
            validation.message_text(bad, 10)


@pytest.mark.parametrize("good", ["a", "Room_1-x", "z" * 64])
def test_room_ids_accepted(good: str) -> None:
    assert validation.room_id(good) == good


@pytest.mark.parametrize("bad", ["", "z" * 65, "has space", "semi;colon", "ü", "../x"])
def test_room_ids_refused(bad: str) -> None:
    with pytest.raises(InvalidInput, match="room_id"):
        validation.room_id(bad)


def test_timeouts() -> None:
    assert validation.wait_timeout(None, 30, 300) == 30
    assert validation.wait_timeout(0, 30, 300) == 0
    with pytest.raises(InvalidInput):
        validation.wait_timeout(301, 30, 300)
    with pytest.raises(InvalidInput):
        validation.wait_timeout(-1, 30, 300)


def test_config_from_env() -> None:
    config = ChatConfig.from_env({"MCPCHAT_ROOM_CAPACITY": "5", "MCPCHAT_MESSAGE_TTL": "9.5"})
    assert config.room_capacity == 5 and config.message_ttl == 9.5
    assert ChatConfig.from_env({}) == ChatConfig()
    for env in (
        {"MCPCHAT_MAILBOX_SIZE": "many"},
        {"MCPCHAT_IDLE_TIMEOUT": "-1"},
        {"MCPCHAT_ROOM_CAPACITY": "1"},
    ):
        with pytest.raises(ValueError, match="MCPCHAT_"):
            ChatConfig.from_env(env)
