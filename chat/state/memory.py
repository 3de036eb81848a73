"""In-process chat state: the pure engine, made awaitable.

Each method runs the engine synchronously without yielding to the event loop, which makes
every operation atomic with respect to all other requests in this process.
"""

from __future__ import annotations

from collections.abc import Mapping

from chat.core.config import ChatConfig
from chat.core.engine import ChatEngine
from chat.core.limits import Charge, RateTable
from chat.core.results import (
    JoinResult,
    LeaveResult,
    Outcome,
    QueueResult,
    SendResult,
    StatusResult,
    WaitStep,
)
from chat.core.snapshot import Snapshot, take_snapshot
from chat.layer import Packer


class MemoryChatState:
    def __init__(self, config: ChatConfig, engine: ChatEngine | None = None) -> None:
        self.engine = engine or ChatEngine(config)
        self.rates = RateTable()

    def carry_rings(self, pack: Packer) -> None:
        """Nothing to carry: in one process every ring is local."""

    def _charge(self, charge: Charge | None) -> None:
        if charge is not None:
            self.rates.admit(charge.key, self.engine.clock(), charge.rate)

    async def enter_queue(
        self, client_id: str | None, display_name: str | None, charge: Charge | None = None
    ) -> Outcome[QueueResult]:
        self._charge(charge)
        return self.engine.enter_queue(client_id, display_name)

    async def join_room(
        self,
        room_id: str | None,
        display_name: str | None,
        client_id: str | None,
        charge: Charge | None = None,
    ) -> Outcome[JoinResult]:
        self._charge(charge)
        return self.engine.join_room(room_id, display_name, client_id)

    async def send(
        self,
        client_id: str,
        room_id: str | None,
        text: str,
        key: str | None,
        charge: Charge | None = None,
    ) -> Outcome[SendResult]:
        self._charge(charge)
        return self.engine.send(client_id, room_id, text, key)

    async def begin_wait(
        self, client_id: str, room_id: str | None, after: int | None, channel: str, receipts: bool
    ) -> Outcome[WaitStep]:
        return self.engine.begin_wait(client_id, room_id, after, channel, receipts)

    async def poll(
        self, client_id: str, generation: int, news: Mapping[str, str] | None = None
    ) -> WaitStep:
        return self.engine.poll(client_id, generation)

    async def end_wait(self, client_id: str, generation: int) -> None:
        self.engine.end_wait(client_id, generation)

    async def leave(self, client_id: str, room_id: str | None) -> Outcome[LeaveResult]:
        return self.engine.leave(client_id, room_id)

    async def status(self, client_id: str) -> StatusResult:
        return self.engine.status(client_id)

    async def typing(self, client_id: str) -> None:
        self.engine.typing(client_id)

    async def sweep(self) -> Outcome[int]:
        return self.engine.sweep()

    async def close_room(self, label: str) -> Outcome[bool]:
        return self.engine.close_room(label)

    async def snapshot(self, show_names: bool, page: int = 0) -> Snapshot:
        return take_snapshot(self.engine, show_names, page)
