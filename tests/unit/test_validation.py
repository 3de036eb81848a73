from __future__ import annotations

import pytest

from chat.core import validation
from chat.core.config import ChatConfig
from chat.core.errors import InvalidInput


def test_display_name_is_trimmed_and_defaulted() -> None:
    assert validation.display_name("  Ada  ") == "Ada"
    assert validation.display_name(None).startswith("Guest-")


@pytest.mark.parametrize(
    "bad",
    ["", "   ", "x" * 33, "a\nb", "tab\there", "\x07bell", "\u3164", "\u200b\u200b", "a\ud800"],
)
def test_bad_display_names_are_refused(bad: str) -> None:
    with pytest.raises(InvalidInput, match="display_name"):
        validation.display_name(bad)


def test_message_limits() -> None:
    assert validation.message_text("hi", 10) == "hi"
    assert validation.message_text("x" * 10, 10) == "x" * 10
    for bad, why in [("", "empty"), ("  \n", "empty"), ("x" * 11, "limit"), ("a\x00b", "U\\+0000")]:
        with pytest.raises(InvalidInput, match=why):
            validation.message_text(bad, 10)


@pytest.mark.parametrize(
    "bad",
    [
        "\x1b[2J\x1b[Hcleared",  # clears the screen
        "\x1b]0;pwned\x07",  # retitles the window
        "hi\r* Bob left the chat",  # overwrites the line with a fake notice
        "\x9b2J",  # the one-byte CSI
        "back\x08space",
        "\x7f",
    ],
)
def test_control_characters_other_than_newline_and_tab_are_refused(bad: str) -> None:
    with pytest.raises(InvalidInput, match="control character"):
        validation.message_text(bad, 100)


@pytest.mark.parametrize(
    "blank",
    ["\u200b", "\u200b\u200d\ufeff", " \u3164 ", "\u2800", "\u202e\u2066", "\u0301", "\t\n"],
)
def test_text_with_nothing_visible_is_refused(blank: str) -> None:
    with pytest.raises(InvalidInput, match="empty"):
        validation.message_text(blank, 100)


def test_ordinary_text_passes_untouched() -> None:
    for good in ["line one\nline two", "col\tcol", "emoji 👋🏽", "café", "日本語", "a\u200bb"]:
        assert validation.message_text(good, 100) == good


def test_lone_surrogates_are_refused() -> None:
    with pytest.raises(InvalidInput, match="surrogate"):
        validation.message_text("x\udc00", 100)


@pytest.mark.parametrize("bad", ["", "has space", "k" * 65, "ü", "tab\t"])
def test_idempotency_keys_are_short_printable_ascii(bad: str) -> None:
    assert validation.idempotency_key("3f2c-uuid_1") == "3f2c-uuid_1"
    with pytest.raises(InvalidInput, match="idempotency_key"):
        validation.idempotency_key(bad)


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
