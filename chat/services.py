"""Use cases over a `ChatState` and the doorbells: what each MCP tool asks for.

Every mutation follows one rule: change the state atomically, then ring the doorbells the
change names. Waiting follows the delivery rule in ARCHITECTURE.md.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import TypeVar

from chat.core import validation
from chat.core.config import ChatConfig
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
        self.config = config
        self.listeners: list[Callable[[], None]] = []  # told after every change (monitor)

    async def _apply(self, outcome: Outcome[T]) -> T:
        await self.bells.ring(outcome.wake)
        for listener in self.listeners:
            listener()
        return outcome.value

    async def enter_queue(self, client_id: str | None, display_name: str | None) -> QueueResult:
        return await self._apply(await self.state.enter_queue(client_id, display_name))

    async def join_room(
        self, room_id: str | None, display_name: str | None, client_id: str | None = None
    ) -> JoinResult:
        return await self._apply(await self.state.join_room(room_id, display_name, client_id))

    async def send(
        self, client_id: str, room_id: str | None, text: str, key: str | None = None
    ) -> SendResult:
        return await self._apply(await self.state.send(client_id, room_id, text, key))

    async def leave(self, client_id: str, room_id: str | None) -> LeaveResult:
        return await self._apply(await self.state.leave(client_id, room_id))

    async def status(self, client_id: str) -> StatusResult:
        return await self.state.status(client_id)

    async def close_room(self, label: str) -> bool:
        return await self._apply(await self.state.close_room(label))

    async def snapshot(self, show_names: bool = False) -> Snapshot:
        return await self.state.snapshot(show_names)

    async def sweep(self) -> int:
        return await self._apply(await self.state.sweep())

    async def wait(
        self,
        client_id: str,
        room_id: str | None = None,
        timeout: float | None = None,
        after: int | None = None,
        progress: Progress | None = None,
    ) -> WaitResult:
        """Return pending entries at once, or wait for a doorbell or the timeout."""
        cfg = self.config
        timeout = validation.wait_timeout(timeout, cfg.default_wait, cfg.max_wait)
        channel = await self.bells.new_channel()
        begin = asyncio.ensure_future(self.state.begin_wait(client_id, room_id, after, channel))
        try:
            # Shielded: a cancellation that lands after the state registered the wait but before
            # its answer came back must still end it.
            begun = await asyncio.shield(begin)
        except BaseException:
            with contextlib.suppress(Exception):  # begin_wait's own error: nothing to end
                await self._end_wait(client_id, (await begin).value.generation, channel)
            self.bells.discard(channel)
            raise
        result: WaitResult | None = None
        try:
            await self._apply(begun)  # rings the wait this one replaces
            result = await self._wait_loop(client_id, begun.value, channel, timeout, progress)
            return result
        finally:
            if result is None or result.status == "timeout":  # a wait that got nothing
                await self._end_wait(client_id, begun.value.generation, channel)
            else:  # the state ended it when it handed out (or a newer wait replaced it)
                self.bells.discard(channel)

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
            # lost ring.
            await self.bells.wait(channel, min(deadline, next_tick) - now)
            step = await self.state.poll(client_id, step.generation)


DELIVERED = (
    "Pass after=last_id on your next wait_for_message to confirm these; anything not "
    "confirmed is delivered again."
)
TIMED_OUT = "Nothing new in {:g} s. Call wait_for_message again to keep listening."
SUPERSEDED = "A newer wait_for_message for this client_id took over; this one returned empty."
