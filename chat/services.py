"""Use cases over a `ChatState` and the doorbells: what each MCP tool asks for.

Every mutation follows one rule: change the state atomically, then ring the doorbells the
change names. Waiting follows the delivery rule in ARCHITECTURE.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Awaitable, Callable
from typing import TypeVar

from chat.core import validation
from chat.core.config import ChatConfig
from chat.core.limits import Charge
from chat.core.results import (
    JoinResult,
    LeaveResult,
    Outcome,
    QueueResult,
    SendResult,
    StatusResult,
    WaitResult,
    WaitStep,
)
from chat.core.snapshot import Snapshot
from chat.layer import Doorbells
from chat.state.base import ChatState

T = TypeVar("T")
Progress = Callable[[float, float], Awaitable[None]]  # (elapsed, total) -> None


class ChatService:
    def __init__(self, state: ChatState, bells: Doorbells, config: ChatConfig) -> None:
        self.state = state
        self.bells = bells
        state.carry_rings(bells.pack)
        self.config = config
        self.listeners: list[Callable[[], None]] = []  # told after every change (monitor)
        self.closing = False  # shutting down: waits return at once
        self._snapshots: dict[tuple[bool, int], tuple[float, asyncio.Future[Snapshot]]] = {}

    async def _apply(self, outcome: Outcome[T]) -> T:
        await self.bells.ring(outcome.wake, outcome.news)
        for listener in self.listeners:
            listener()
        return outcome.value

    def _charge(self, kind: str, address: str | None) -> Charge | None:
        """What a call costs against its limit per client address, across processes."""
        if address is None:
            return None
        return Charge(f"{kind}:{address}", self.config.limit(kind))

    async def enter_queue(
        self, client_id: str | None, display_name: str | None, address: str | None = None
    ) -> QueueResult:
        charge = self._charge("address_identity", address) if client_id is None else None
        return await self._apply(await self.state.enter_queue(client_id, display_name, charge))

    async def join_room(
        self,
        room_id: str | None,
        display_name: str | None,
        client_id: str | None = None,
        address: str | None = None,
    ) -> JoinResult:
        charge = self._charge("address_identity", address) if client_id is None else None
        outcome = await self.state.join_room(room_id, display_name, client_id, charge)
        return await self._apply(outcome)

    async def send(
        self,
        client_id: str,
        room_id: str | None,
        text: str,
        key: str | None = None,
        address: str | None = None,
    ) -> SendResult:
        charge = self._charge("address_send", address)
        return await self._apply(await self.state.send(client_id, room_id, text, key, charge))

    async def leave(self, client_id: str, room_id: str | None) -> LeaveResult:
        return await self._apply(await self.state.leave(client_id, room_id))

    async def status(self, client_id: str) -> StatusResult:
        return await self.state.status(client_id)

    async def typing(self, client_id: str) -> None:
        await self.state.typing(client_id)

    async def close_room(self, label: str) -> bool:
        return await self._apply(await self.state.close_room(label))

    async def snapshot(self, show_names: bool = False, page: int = 0) -> Snapshot:
        return await self.state.snapshot(show_names, page)

    async def recent_snapshot(self, show_names: bool = False, page: int = 0) -> Snapshot:
        """A snapshot at most SNAPSHOT_AGE seconds old, shared by every caller in this process
        (monitor tabs, the public status resource): however many ask, the state is read at
        most a few times a second."""
        now = asyncio.get_running_loop().time()
        self._snapshots = {k: t for k, t in self._snapshots.items() if now - t[0] < SNAPSHOT_AGE}
        key = (show_names, page)
        if key not in self._snapshots:
            self._snapshots[key] = (now, asyncio.ensure_future(self.snapshot(show_names, page)))
        return await asyncio.shield(self._snapshots[key][1])

    async def sweep(self) -> int:
        return await self._apply(await self.state.sweep())

    async def wait(
        self,
        client_id: str,
        room_id: str | None = None,
        timeout: float | None = None,
        after: int | None = None,
        progress: Progress | None = None,
        gone: asyncio.Future[None] | None = None,
        receipts: bool = False,
    ) -> WaitResult:
        """Return pending entries at once, or wait for a doorbell or the timeout. The wait
        also ends, empty, once `gone` resolves (its client can no longer get an answer) or
        the process begins to shut down (`answer_waits`)."""
        cfg = self.config
        timeout = validation.wait_timeout(timeout, cfg.default_wait, cfg.max_wait)
        if self.closing:
            return WaitResult("timeout", hint=RESTARTING)
        channel = await self.bells.new_channel(gone)
        begin = asyncio.ensure_future(
            self.state.begin_wait(client_id, room_id, after, channel, receipts)
        )
        try:
            # Shielded: a cancellation that lands after the state registered the wait but before
            # its answer came back must still end it.
            begun = await asyncio.shield(begin)
        except BaseException:
            with contextlib.suppress(Exception):  # begin_wait's own error: nothing to end
                await self._end_wait(client_id, (await begin).value.generation, channel)
            self.bells.discard(channel)
            raise
        del begin  # the finished task and its coroutine: not worth keeping while parked
        result: WaitResult | None = None
        try:
            await self._apply(begun)  # rings the wait this one replaces
            if gone is not None:  # cut short once the client has gone
                gone.add_done_callback(functools.partial(self.bells.cut, channel))
            result = await self._wait_loop(client_id, begun.value, channel, timeout, progress, gone)
            return result
        finally:
            if result is None or result.status == "timeout":  # a wait that got nothing
                await self._end_wait(client_id, begun.value.generation, channel)
            else:  # the state ended it when it handed out (or a newer wait replaced it)
                self.bells.discard(channel)

    async def answer_waits(self, grace: float) -> int:
        """Shutting down: every wait in progress returns at once (empty, with a hint to call
        again) and new ones return without waiting. Returns how many were still waiting after
        `grace` seconds (0 when all were answered)."""
        self.closing = True
        for channel in list(self.bells.active):
            self.bells.cut(channel)
        deadline = asyncio.get_running_loop().time() + grace
        while self.bells.active and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.01)
        return len(self.bells.active)

    async def _end_wait(self, client_id: str, generation: int, channel: str) -> None:
        try:  # shielded: a second cancellation must not leave the wait registered
            await asyncio.shield(self.state.end_wait(client_id, generation))
        finally:
            self.bells.discard(channel)

    async def _wait_loop(
        self,
        client_id: str,
        step: WaitStep,
        channel: str,
        timeout: float,
        progress: Progress | None,
        gone: asyncio.Future[None] | None,
    ) -> WaitResult:
        interval = self.config.progress_interval
        clock = asyncio.get_running_loop().time
        start = clock()
        deadline, next_tick = start + timeout, start + interval
        while True:
            if step.entries is None:
                return WaitResult("superseded", hint=SUPERSEDED)
            if step.entries:
                items = [e.item() for e in step.entries]
                return WaitResult("delivered", items, items[-1].id, DELIVERED)
            now = clock()
            if now >= deadline:
                return WaitResult("timeout", hint=TIMED_OUT.format(timeout))
            if now >= next_tick:
                next_tick = now + interval
                if progress is not None:
                    await progress(now - start, timeout)
            # Waking at least every interval renews the wait's lease and bounds the cost of a
            # lost ring. A doorbell wait is cut short (`Doorbells.cut`) when the client has
            # gone or the process shuts down; either ends the wait, before it or after.
            news = None
            if not self._cut_short(gone):
                news = await self.bells.wait(channel, min(deadline, next_tick) - now)
            if self._cut_short(gone):
                return WaitResult("timeout", hint=RESTARTING if self.closing else GONE_HINT)
            step = await self.state.poll(client_id, step.generation, news)

    def _cut_short(self, gone: asyncio.Future[None] | None) -> bool:
        return self.closing or (gone is not None and gone.done())


DELIVERED = (
    "Pass after=last_id on your next wait_for_message to confirm these; anything not "
    "confirmed is delivered again."
)
TIMED_OUT = "Nothing new in {:g} s. Call wait_for_message again to keep listening."
SNAPSHOT_AGE = 0.5  # seconds a shared snapshot serves
RESTARTING = (
    "The server is restarting. Call wait_for_message again (with after=last_id) in a moment; "
    "nothing is lost."
)
GONE_HINT = "Your connection ended while waiting."
SUPERSEDED = "A newer wait_for_message for this client_id took over; this one returned empty."
