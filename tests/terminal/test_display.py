"""The terminal client shows whatever a server sends as plain text, and stands alone."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mcpchat.devserver import ROOT
from mcpchat_terminal.client import TerminalChat
from mcpchat_terminal.display import describe

HOSTILE = [
    "\x1b[2J\x1b[Hscreen cleared",
    "\x1b]0;new window title\x07",
    "hi\r* Bob left the chat. /next meets someone new.",
    "\x9b2Jone-byte CSI",
    "\u202eevil reversed",
    "bell\x07 and backspace\x08",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_control_characters_in_messages_are_shown_not_obeyed(text: str) -> None:
    shown: list[str] = []
    chat = TerminalChat("http://x/mcp", None, None, None, out=shown.append)
    chat.show({"kind": "message", "sender": "Bob", "text": text})
    (line,) = shown
    assert line.startswith("Bob: ")
    assert not any(ch in line for ch in "\x1b\x07\x08\r\x9b\u202e")
    assert (
        "\\x1b" in line
        or "\\x0d" in line
        or "\\x9b" in line
        or "\\u202e" in line
        or ("\\x07" in line)
    )


def test_a_message_cannot_fake_a_notice_on_a_new_line() -> None:
    text = describe(
        {"kind": "message", "sender": "Bob", "text": "ok\n* Alice left the chat.\n\tindented"}
    )
    assert text == "Bob: ok\nBob: * Alice left the chat.\nBob: \tindented"


def test_names_from_the_server_are_escaped_too() -> None:
    shown: list[str] = []
    chat = TerminalChat("http://x/mcp", None, None, None, out=shown.append)
    chat.show({"kind": "event", "event": "joined", "sender": "Eve\n* Server: \x1b[31mred"})
    assert shown == ["* Eve\\x0a* Server: \\x1b[31mred joined the room."]
    chat.show_queue({"status": "matched", "partner": "\x1b[2JMallory"})
    assert shown[-1] == "* You are now chatting with \\x1b[2JMallory. Say hi!"


def test_ordinary_text_is_untouched() -> None:
    text = "café 👨‍👩‍👧 日本語\ttab"
    assert describe({"kind": "message", "sender": "Ann", "text": text}) == f"Ann: {text}"


def test_the_client_package_imports_nothing_of_the_server() -> None:
    code = (
        "import sys, mcpchat_terminal, mcpchat_terminal.client, mcpchat_terminal.main;"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('django', 'channels', 'daphne', 'chat', 'mcpchat'));"
        "print(bad); sys.exit(bool(bad))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
