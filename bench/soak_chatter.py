"""One simulated chatter of the soak test: it meets strangers and joins rooms, talks, says
"next", leaves, lets waits time out or cancels them, retries sends, sends bad input, and now
and then dies mid-call and comes back with its client_id, as a restarted app would.

It records what the checks need: every send the server accepted (its text, which is unique,
and how many recipients it had) and every message it received, and counts every error by its
code."""

from __future__ import annotations

import asyncio
import contextlib
import random
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx2
from fastmcp import Client
from fastmcp.client.transports import StreamableHttpTransport

ROOMS = [f"soak-{i}" for i in range(20)]  # a small pool: full rooms happen
EXPECTED = {  # refusals a well-behaved server gives to such callers
    "rate_limited",
    "mailbox_full",
    "room_full",
    "nobody_to_talk_to",
    "not_in_room",
    "invalid_input",
    "room_not_joinable",
    "server_full",
    "request_too_large",
}


@dataclass
class Record:
    # Keyed by text, unique per message: a private room id is reused once the room empties,
    # and its message numbers start again.
    sent: dict[str, int] = field(default_factory=dict)  # text -> recipients
    received: list[str] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    exceptions: list[str] = field(default_factory=list)  # what the calls that raised said
    kills: int = 0
    cancelled_waits: int = 0
    retried_sends: int = 0


class Chatter:
    def __init__(self, n: int, urls: list[str], record: Record, oversize: int) -> None:
        self.n, self.urls, self.record, self.oversize = n, urls, record, oversize
        self.legacy = n % 3 == 0  # a third speak the session protocol (2025-06-18)
        self.client_id: str | None = None
        self.cursor = 0  # confirms nothing yet (no `after` would confirm all handed out)
        self.seq = 0
        self.clients: list[Client[Any]] = []

    def _client(self, url: str) -> Client[Any]:
        kwargs = {"mode": "legacy"} if self.legacy else {}
        return Client(StreamableHttpTransport(url), timeout=120, **kwargs)

    async def _open(self) -> None:
        self.clients = [self._client(url) for url in self.urls]
        for c in self.clients:
            await c.__aenter__()

    async def _close(self) -> None:
        for c in self.clients:
            with contextlib.suppress(Exception):  # a killed client's connection may be gone
                await asyncio.wait_for(c.__aexit__(None, None, None), 30)

    async def call(self, tool: str, **args: Any) -> Any:
        """A tool call on a random process; an error result counts by its code, and None."""
        client = random.choice(self.clients)
        try:
            result = await client.call_tool(tool, args, raise_on_error=False)
        except Exception as e:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                # This chatter gave up on the call (or was killed): the client library may end
                # it with an error of its own ("Connection closed"), which is no refusal.
                raise asyncio.CancelledError from e
            self.record.errors[f"exception:{type(e).__name__}"] += 1
            protocol = "session" if self.legacy else "sessionless"
            self.record.exceptions.append(
                f"{tool} ({protocol}): {type(e).__name__}: {str(e)[:200]}"
            )
            return None
        if result.is_error:
            error = (result.structured_content or {}).get("error", {})
            self.record.errors[error.get("code", "uncoded")] += 1
            return None
        return result.structured_content

    async def run(self, stop: asyncio.Event) -> None:
        await self._open()
        try:
            while not stop.is_set():
                reader = asyncio.create_task(self._read_forever(stop))
                actor = asyncio.create_task(self._act_until_killed(stop))
                await asyncio.wait({actor}, return_when=asyncio.FIRST_COMPLETED)
                killed = actor.result()
                reader.cancel()
                await asyncio.gather(reader, return_exceptions=True)
                if killed:  # drop the connections mid-call, as a crash would, and come back
                    self.record.kills += 1
                    await self._close()
                    await self._open()
        finally:
            await self.finish()
            await self._close()

    async def _act_until_killed(self, stop: asyncio.Event) -> bool:
        while not stop.is_set():
            await asyncio.sleep(random.uniform(0.2, 1.5))  # think time
            roll = random.random()
            if self.client_id is None or roll < 0.08:
                await self._meet()
            elif roll < 0.55:
                await self._send()
            elif roll < 0.60:
                await self._send(retry=True)
            elif roll < 0.63:
                for _ in range(25):  # a burst past the rate limit
                    await self._send()
            elif roll < 0.68:
                await self.call("leave_chat", client_id=self.client_id)
            elif roll < 0.73:
                await self._bad_input()
            elif roll < 0.75:
                await self._oversize()
            elif roll < 0.77:
                return True  # killed
        return False

    async def _meet(self) -> None:
        if random.random() < 0.6:
            got = await self.call("enter_queue", client_id=self.client_id)
        else:
            got = await self.call(
                "join_room", room_id=random.choice(ROOMS), client_id=self.client_id
            )
        if got is not None:
            self.client_id = got["client_id"]

    async def _send(self, retry: bool = False) -> None:
        self.seq += 1
        text, key = f"{self.n}:{self.seq}:{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
        got = await self.call(
            "send_message", client_id=self.client_id, message=text, idempotency_key=key
        )
        if got is None:
            return
        self.record.sent[text] = got["recipients"]
        if retry:  # the answer "was lost": the same key must not send twice
            self.record.retried_sends += 1
            again = await self.call(
                "send_message", client_id=self.client_id, message=text, idempotency_key=key
            )
            if again is None or again["message_id"] != got["message_id"]:
                self.record.errors["retry_sent_twice"] += 1

    async def _bad_input(self) -> None:
        bad: dict[str, Any] = random.choice(
            [
                {"message": "bell\x07 and escape\x1b[2J", "client_id": self.client_id},
                {"message": "x" * 5000, "client_id": self.client_id},
                {"message": "\u200b\u200b", "client_id": self.client_id},
                {"message": "hi", "client_id": self.client_id, "room_id": "not/valid"},
                {"message": 42, "client_id": self.client_id},
            ]
        )
        await self.call("send_message", **bad)

    async def _oversize(self) -> None:
        """A request body over the server's limit: refused before it is read."""
        body = b'{"jsonrpc":"2.0","id":1,"method":"ping","pad":"' + b"x" * self.oversize + b'"}'
        async with httpx2.AsyncClient(timeout=30) as http:
            try:
                r = await http.post(
                    random.choice(self.urls),
                    content=body,
                    headers={"content-type": "application/json", "accept": "application/json"},
                )
                self.record.errors[
                    "request_too_large" if r.status_code == 413 else f"http_{r.status_code}"
                ] += 1
            except httpx2.TransportError:
                self.record.errors["request_too_large"] += 1  # refused and closed on us

    async def _read_forever(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            if self.client_id is None:
                await asyncio.sleep(0.2)
                continue
            timeout = random.choice([0.5, 2, 5, 10])
            wait = asyncio.create_task(self._wait(timeout))
            try:
                if random.random() < 0.05:  # give up on this wait early: the call is cancelled
                    await asyncio.sleep(random.uniform(0, 1))
                    if not wait.done():
                        self.record.cancelled_waits += 1
                    wait.cancel()
                    await asyncio.gather(wait, return_exceptions=True)
                    continue
                await wait
            finally:
                # Killed during the sleep above: the wait is not being awaited, so nothing
                # cancelled it. It must end before the connections close, or it would report
                # the close as if the server had failed it.
                if not wait.done():
                    wait.cancel()
                    await asyncio.gather(wait, return_exceptions=True)

    async def _wait(self, timeout: float) -> bool:
        """One wait; True if it returned something. What it returns counts as received only
        once this client has it, and the next wait confirms it (after=)."""
        got = await self.call(
            "wait_for_message", client_id=self.client_id, after=self.cursor, timeout=timeout
        )
        if got is None or not got["items"]:
            return False
        for item in got["items"]:
            if item["kind"] == "message":
                self.record.received.append(item["text"])
        self.cursor = got["last_id"]
        return True

    async def finish(self) -> None:
        """Leave and read everything still pending, so every accepted message is counted: until
        a wait answers that nothing is left (a refused wait, e.g. rate-limited, is retried)."""
        if self.client_id is None:
            return
        await self.call("leave_chat", client_id=self.client_id)
        for _ in range(200):
            got = await self.call(
                "wait_for_message", client_id=self.client_id, after=self.cursor, timeout=1
            )
            if got is None:
                await asyncio.sleep(0.5)
                continue
            for item in got["items"]:
                if item["kind"] == "message":
                    self.record.received.append(item["text"])
            if not got["items"]:
                return
            self.cursor = got["last_id"]
        self.record.errors["could_not_drain"] += 1
