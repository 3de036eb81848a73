"""The terminal chat client: speaks only MCP to the server.

It confirms what it received (the `after` cursor), sends every line with an idempotency key
so a retry after a lost answer never delivers it twice, branches on error codes, rides out
network blips and server restarts with a visible notice, and leaves the chat on /quit, Ctrl-D
or Ctrl-C.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx2
from fastmcp import Client
from fastmcp.client.transports import StreamableHttpTransport

from mcpchat_terminal.display import describe, safe

HELP = """\
Commands:
  /next    leave this partner and meet someone new
  /leave   leave the current chat (stay connected)
  /status  where you are and who is with you
  /quit    leave the chat and exit (also Ctrl-D or Ctrl-C)
  /help    this list
Anything else you type is sent to the people in your room."""
WAIT_SECONDS = 25  # under the 60 s most HTTP stacks allow for one request
UNKNOWN_CLIENT = "unknown_client"  # the server has forgotten this client_id (restart, reaping)


class Refused(Exception):
    """The server answered with a tool error: a message for the person, not a fault."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class TerminalChat:
    def __init__(
        self,
        url: str,
        name: str | None,
        room: str | None,
        token: str | None,
        out: Callable[[str], None] = print,
    ) -> None:
        self.url, self.name, self.room, self.token = url, name, room, token
        self.out: Callable[[str], None] = lambda text: out(safe(text))  # nothing acts on the tty
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
        """Call a tool, retrying through transport trouble. Only calls that are safe to repeat
        come here: sends carry an idempotency key."""
        while True:
            client = self.client
            try:
                if client is None:
                    raise ConnectionError("not connected")
                result = await client.call_tool(tool, args, raise_on_error=False)
            except Exception:  # transport trouble (CancelledError is not an Exception)
                await self._reconnect(client)
                continue
            content = result.structured_content or {}
            if result.is_error:
                error = content.get("error") or {}
                text = " ".join(getattr(c, "text", "") for c in result.content)
                raise Refused(str(error.get("code", "error")), error.get("message") or text)
            return content

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
        text = describe(item)
        if text is not None:
            self.out(text)

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
                if e.code == UNKNOWN_CLIENT:
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
                key = uuid.uuid4().hex  # one per line: every retry of it carries the same key
                await self.call(
                    "send_message", client_id=self.client_id, message=line, idempotency_key=key
                )
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
