"""`mcpchat chat`: an interactive terminal chat client that speaks only MCP to the server.

Incoming messages print above the input line while you type (prompt_toolkit); without a
terminal it reads plain lines from stdin. It confirms what it received (the `after` cursor),
rides out network blips and server restarts with a visible notice, and leaves the chat on
/quit, Ctrl-D or Ctrl-C.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx2
from fastmcp import Client
from fastmcp.client.transports import StreamableHttpTransport
from fastmcp.exceptions import ToolError

from chat.core.errors import UnknownClient

HELP = """\
Commands:
  /next    leave this partner and meet someone new
  /leave   leave the current chat (stay connected)
  /status  where you are and who is with you
  /quit    leave the chat and exit (also Ctrl-D or Ctrl-C)
  /help    this list
Anything else you type is sent to the people in your room."""
WAIT_SECONDS = 25  # under the 60 s most HTTP stacks allow for one request
FORGOTTEN = UnknownClient().message.split(" (")[0]  # "Unknown or expired client_id"


class Refused(Exception):
    """The server answered with a tool error: a message for the person, not a fault."""


class TerminalChat:
    def __init__(
        self,
        url: str,
        name: str | None,
        room: str | None,
        token: str | None,
        out: Callable[[str], None] = print,
    ) -> None:
        self.url, self.name, self.room, self.token, self.out = url, name, room, token, out
        self.client: Client[Any] | None = None
        self.client_id: str | None = None
        self.cursor: int | None = None
        self.lock = asyncio.Lock()

    # -- connection ---------------------------------------------------------------------------

    async def _open(self) -> None:
        transport = StreamableHttpTransport(self.url, auth=self.token)
        client: Client[Any] = Client(transport, timeout=WAIT_SECONDS + 30)
        await client.__aenter__()
        self.client = client

    async def _close(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            with contextlib.suppress(Exception):
                await client.__aexit__(None, None, None)

    async def _reconnect(self, failed: Client[Any] | None) -> None:
        async with self.lock:
            if self.client is not failed and self.client is not None:
                return  # another task reconnected already
            self.out("* Connection lost: reconnecting…")
            await self._close()
            delay = 0.5
            while True:
                try:
                    await self._open()
                    self.out("* Reconnected.")
                    return
                except Exception:
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 5)

    async def call(self, tool: str, **args: Any) -> dict[str, Any]:
        while True:
            client = self.client
            try:
                if client is None:
                    raise ConnectionError("not connected")
                result = await client.call_tool(tool, args)
                return result.structured_content or {}
            except ToolError as e:
                raise Refused(str(e)) from None
            except Exception:  # transport trouble (CancelledError is not an Exception)
                await self._reconnect(client)

    # -- chatting -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Enter the queue or the room; used again when the server has forgotten us."""
        self.cursor = None
        if self.room is not None:
            r = await self.call("join_room", room_id=self.room, display_name=self.name)
            self.client_id, self.name = r["client_id"], r["display_name"]
            if len(r["members"]) == 1:
                self.out(
                    f"* You are in room {r['room_id']} as {self.name}. Waiting for someone "
                    f"to join… (they run: mcpchat chat --room {r['room_id']})"
                )
            else:
                others = ", ".join(m for m in r["members"] if m != self.name)
                self.out(f"* You are in room {r['room_id']} with {others}. Say hi!")
            return
        r = await self.call("enter_queue", display_name=self.name, client_id=self.client_id)
        self.client_id, self.name = r["client_id"], r["display_name"]
        self.show_queue(r)

    def show_queue(self, r: dict[str, Any]) -> None:
        if r["status"] == "matched":
            self.out(f"* You are now chatting with {r['partner']}. Say hi!")
        else:
            self.out(f"* Waiting for a partner… (you are {self.name}, type /help for commands)")

    def show(self, item: dict[str, Any]) -> None:
        who = item.get("sender") or "someone"
        if item["kind"] == "message":
            self.out(f"{who}: {item['text']}")
        elif item["event"] == "matched":
            self.out(f"* You are now chatting with {who}. Say hi!")
        elif item["event"] == "joined":
            self.out(f"* {who} joined the room.")
        elif item["event"] == "left" and item.get("reason") == "idle":
            self.out(f"* {who} went quiet and was disconnected. /next meets someone new.")
        elif item["event"] == "left":
            self.out(f"* {who} left the chat. /next meets someone new.")
        elif item["event"] == "room_closed":
            self.out("* A moderator closed this room. /next meets someone new.")

    async def receive_forever(self) -> None:
        while True:
            try:
                r = await self.call(
                    "wait_for_message",
                    client_id=self.client_id,
                    after=self.cursor,
                    timeout=WAIT_SECONDS,
                )
            except Refused as e:
                if str(e).startswith(FORGOTTEN):
                    self.out("* The server restarted and forgot this chat: starting over…")
                    self.client_id = None
                    await self.start()
                else:  # e.g. a cursor the server no longer knows: start from what is pending
                    self.out(f"! {e}")
                    self.cursor = None
                    await asyncio.sleep(1)  # back off: never spin on a repeated refusal
                continue
            for item in r.get("items", []):
                self.show(item)
            if r.get("last_id") is not None:
                self.cursor = r["last_id"]

    async def handle(self, line: str) -> bool:
        """Act on one typed line; False means quit."""
        line = line.strip()
        if not line:
            return True
        command = line.lower()
        try:
            if command in ("/quit", "/exit"):
                return False
            if command == "/help":
                self.out(HELP)
            elif command == "/next":
                self.room = None
                self.show_queue(await self.call("enter_queue", client_id=self.client_id))
            elif command == "/leave":
                await self.call("leave_chat", client_id=self.client_id)
                self.out("* You left. /next meets someone new, /quit exits.")
            elif command == "/status":
                s = await self.call("get_status", client_id=self.client_id)
                where = {
                    "queued": f"waiting in the queue (position {s['position']})",
                    "in_room": f"in room with {', '.join(s['members'])}",
                    "idle": "not in a chat",
                }[s["state"]]
                self.out(f"* You are {s['display_name']}, {where}.")
            elif command.startswith("/"):
                self.out(f"! Unknown command {line.split()[0]}. Type /help.")
            else:
                await self.call("send_message", client_id=self.client_id, message=line)
        except Refused as e:
            self.out(f"! {e}")
        return True

    async def run(self, lines: AsyncIterator[str]) -> int:
        self.out(f"* Connecting to {self.url}…")
        try:
            await self._open()
        except Exception as e:
            if await self._http_status() == 401:
                self.out(
                    "! The server refused the access token (401). Set "
                    "MCPCHAT_ACCESS_TOKEN or pass --token with the server's token."
                )
            else:
                self.out(f"! Cannot reach {self.url}: {e}")
            return 1
        receiver: asyncio.Task[None] | None = None
        try:
            await self.start()
            receiver = asyncio.create_task(self.receive_forever())
            async for line in lines:
                if not await self.handle(line):
                    break
        except asyncio.CancelledError:
            pass  # Ctrl-C while no prompt was reading keys: leave just like /quit
        except Refused as e:
            self.out(f"! {e}")
            return 1
        finally:
            if receiver is not None:
                receiver.cancel()
            await self.goodbye()
        return 0

    async def _http_status(self) -> int | None:
        """The endpoint's plain HTTP answer: the MCP client reports a refused token only as a
        generic error, so ask once more without it to tell the person what is wrong."""
        headers = {"authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            async with httpx2.AsyncClient(timeout=5) as http:
                return (await http.post(self.url, headers=headers, json={})).status_code
        except httpx2.HTTPError:
            return None

    async def goodbye(self) -> None:
        if self.client is not None and self.client_id is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(5):
                    await self.client.call_tool("leave_chat", {"client_id": self.client_id})
        await self._close()
        self.out("* Bye.")


async def terminal_lines() -> AsyncIterator[str]:
    """Lines typed at a prompt that stays below incoming output; Ctrl-C/Ctrl-D end it."""
    from prompt_toolkit import PromptSession

    session: PromptSession[str] = PromptSession()
    while True:
        try:
            yield await session.prompt_async("you> ")
        except (EOFError, KeyboardInterrupt):
            return


async def piped_lines() -> AsyncIterator[str]:
    """Plain lines from a non-terminal stdin, until it ends."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        yield line.decode(errors="replace")


def run_chat(url: str, name: str | None, room: str | None, token: str | None) -> int:
    async def main() -> int:
        # Ctrl-C outside the prompt (connecting, piped input) cancels the chat, which then
        # leaves cleanly; at the prompt, prompt_toolkit reads it as a key instead.
        main_task = asyncio.current_task()
        assert main_task is not None
        asyncio.get_running_loop().add_signal_handler(signal.SIGINT, main_task.cancel)
        if sys.stdin.isatty():
            from prompt_toolkit.patch_stdout import patch_stdout

            with patch_stdout(raw=True):
                return await TerminalChat(url, name, room, token).run(terminal_lines())
        return await TerminalChat(url, name, room, token).run(piped_lines())

    try:
        return asyncio.run(main())
    except KeyboardInterrupt:
        return 130
