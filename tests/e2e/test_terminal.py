"""The terminal client driven as a person would: real pseudo-terminals, real daphne."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

import httpx2
import pexpect
import pexpect.popen_spawn
import pytest

from mcpchat.devserver import ROOT, Server
from mcpchat_terminal.client import TerminalChat
from tests.e2e.clients import connect

Spawn = Callable[..., pexpect.spawn]


def spawn_chat(
    url: str, *extra: str, env: dict[str, str] | None = None, logfile: TextIO | None = None
) -> pexpect.spawn:
    """`mcpchat chat URL ...` on a pseudo-terminal, as a person would run it."""
    return pexpect.spawn(
        sys.executable,
        ["-m", "mcpchat.cli", "chat", url, *extra],
        cwd=str(ROOT),
        env={**os.environ, "PROMPT_TOOLKIT_NO_CPR": "1", "TERM": "xterm", **(env or {})},
        encoding="utf-8",
        timeout=30,
        dimensions=(40, 160),
        logfile=logfile,
    )


@pytest.fixture
def terminal(server: Server, tmp_path: Path) -> Iterator[Spawn]:
    opened: list[pexpect.spawn] = []

    def spawn(name: str, *extra: str) -> pexpect.spawn:
        log = (tmp_path / f"{name}.log").open("w")
        opened.append(spawn_chat(server.mcp_url, "--name", name, *extra, logfile=log))
        return opened[-1]

    yield spawn
    for child in opened:
        child.terminate(force=True)


def type_line(child: pexpect.spawn, text: str) -> None:
    child.send(text + "\r")


def matched_pair(terminal: Spawn) -> tuple[pexpect.spawn, pexpect.spawn]:
    """Alice waits in the queue, Bob arrives, and both see the match."""
    alice = terminal("Alice")
    alice.expect("Waiting for a partner")
    bob = terminal("Bob")
    bob.expect("chatting with Alice")
    alice.expect("chatting with Bob")
    return alice, bob


def test_two_people_matched_talk_both_ways_while_typing(terminal: Spawn) -> None:
    alice, bob = matched_pair(terminal)

    alice.send("Hello B")  # half a line typed, not sent yet
    type_line(bob, "Hi Alice, how are you?")
    alice.expect("Bob: Hi Alice, how are you\\?")  # arrives while Alice is typing
    type_line(alice, "ob!")  # she finishes her line
    bob.expect("Alice: Hello Bob!")

    type_line(alice, "/status")
    alice.expect("in room with Alice, Bob")
    type_line(bob, "/help")
    bob.expect("/next")


def test_next_finds_a_third_person_and_the_old_partner_hears(terminal: Spawn) -> None:
    alice, bob = matched_pair(terminal)
    carol = terminal("Carol")
    carol.expect("Waiting for a partner")
    type_line(alice, "/next")
    alice.expect("chatting with Carol")
    carol.expect("chatting with Alice")
    bob.expect("Alice left the chat")
    type_line(carol, "hi from Carol")
    alice.expect("Carol: hi from Carol")


def test_a_server_restart_is_survived_with_a_notice(server: Server, terminal: Spawn) -> None:
    alice, bob = matched_pair(terminal)
    server.restart()  # same port; every chat in memory is gone
    for child in (alice, bob):
        child.expect("Connection lost")
        child.expect("Reconnected")
        child.expect("starting over")
    # Both are back in the queue and meet again.
    bob.expect("chatting with Alice|Waiting for a partner")
    alice.expect("chatting with Bob")
    type_line(alice, "still here?")
    bob.expect("Alice: still here\\?")


def test_ctrl_c_leaves_the_chat_and_exits_cleanly(terminal: Spawn) -> None:
    alice, bob = matched_pair(terminal)
    alice.expect("you>")
    alice.sendcontrol("c")
    alice.expect("Bye.")
    alice.expect(pexpect.EOF)
    alice.close()
    assert alice.exitstatus == 0
    bob.expect("Alice left the chat")


def test_ctrl_c_before_the_prompt_still_leaves(terminal: Spawn, server: Server) -> None:
    bob = terminal("Bob")
    bob.expect("Waiting for a partner")
    env = {**os.environ, "PROMPT_TOOLKIT_NO_CPR": "1"}
    piped = pexpect.popen_spawn.PopenSpawn(  # no terminal: plain lines, SIGINT for Ctrl-C
        [sys.executable, "-m", "mcpchat.cli", "chat", server.mcp_url, "--name", "Pipe"],
        cwd=str(ROOT),
        env=env,
        encoding="utf-8",
        timeout=30,
    )
    piped.expect("chatting with Bob")
    bob.expect("chatting with Pipe")
    piped.kill(signal.SIGINT)
    piped.expect("Bye.")
    piped.expect(pexpect.EOF)
    assert piped.wait() == 0
    bob.expect("Pipe left the chat")


def test_a_private_room_by_name(terminal: Spawn) -> None:
    host = terminal("Host", "--room", "book-club")
    host.expect("Waiting for someone to join")
    guest = terminal("Guest", "--room", "book-club")
    guest.expect("with Host")
    host.expect("Guest joined the room")
    type_line(guest, "page 42?")
    host.expect("Guest: page 42\\?")


def test_the_client_sends_the_access_token(tmp_path: Path) -> None:
    server = Server(tmp_path, env={"MCPCHAT_ACCESS_TOKEN": "t0ken"}).start()
    try:
        child = spawn_chat(server.mcp_url, env={"MCPCHAT_ACCESS_TOKEN": "t0ken"})
        child.expect("Waiting for a partner")
        child.expect("you>")
        child.sendcontrol("d")
        child.expect(pexpect.EOF)
        refused = spawn_chat(server.mcp_url, env={"MCPCHAT_ACCESS_TOKEN": "wrong"})
        refused.expect("refused the access token")
        refused.expect(pexpect.EOF)
        refused.close()
        assert refused.exitstatus == 1
    finally:
        server.stop()


async def test_a_send_whose_answer_was_lost_is_retried_without_a_duplicate(
    server: Server,
) -> None:
    async with connect("fastmcp", server.mcp_url) as partner:
        ann = (await partner.call("join_room", room_id="r", display_name="Ann"))["client_id"]
        shown: list[str] = []
        chat = TerminalChat(server.mcp_url, "Ben", "r", None, out=shown.append)
        await chat._open()
        await chat.start()
        assert chat.client is not None
        real_call = chat.client.call_tool

        async def answer_lost(tool: str, args: dict[str, Any], **kwargs: Any) -> Any:
            result = await real_call(tool, args, **kwargs)  # the server has stored it...
            if tool == "send_message":
                raise httpx2.ReadError("connection reset")  # ...but the answer never arrives
            return result

        chat.client.call_tool = answer_lost  # type: ignore[method-assign]
        await chat.handle("hello, once")
        assert "* Connection lost: reconnecting…" in shown and "* Reconnected." in shown
        got = await partner.call("wait_for_message", client_id=ann, timeout=10)
        rest = await partner.call(
            "wait_for_message", client_id=ann, after=got["last_id"], timeout=1
        )
        said = [i["text"] for i in got["items"] + rest["items"] if i["kind"] == "message"]
        assert said == ["hello, once"]
        await chat.goodbye()
