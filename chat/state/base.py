"""The chat state interface: every use case as one atomic, awaitable operation.

Services talk only to this interface. The in-process backend (`memory.py`) runs the pure
`ChatEngine` directly; a shared backend for several processes (Redis) implements the same
methods atomically on its side, so services, tools and tests stay unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from chat.core.limits import Charge
from chat.core.results import (
    JoinResult,
    LeaveResult,
    Outcome,
    QueueResult,
    SendResult,
    StatusResult,
    WaitStep,
)
from chat.core.snapshot import Snapshot
from chat.layer import Packer


class ChatState(Protocol):
    """`charge`: count the call against a limit shared by every process (a client address's
    `Charge`) first; `RateLimited` if none is left, before anything else is checked."""

    async def enter_queue(
        self, client_id: str | None, display_name: str | None, charge: Charge | None = None
    ) -> Outcome[QueueResult]: ...

    async def join_room(
        self,
        room_id: str | None,
        display_name: str | None,
        client_id: str | None,
        charge: Charge | None = None,
    ) -> Outcome[JoinResult]: ...

    async def send(
        self,
        client_id: str,
        room_id: str | None,
        text: str,
        key: str | None,
        charge: Charge | None = None,
    ) -> Outcome[SendResult]: ...

    async def begin_wait(
        self, client_id: str, room_id: str | None, after: int | None, channel: str, receipts: bool
    ) -> Outcome[WaitStep]: ...

    async def poll(
        self, client_id: str, generation: int, news: Mapping[str, str] | None = None
    ) -> WaitStep:
        """Another look for a wait in progress. `news`: what the ring that woke it carried
        (`Outcome.news`), values a shared backend may start from; the in-process one has
        no use for it."""

    async def end_wait(self, client_id: str, generation: int) -> None: ...

    async def leave(self, client_id: str, room_id: str | None) -> Outcome[LeaveResult]: ...

    async def status(self, client_id: str) -> StatusResult: ...

    async def typing(self, client_id: str) -> None: ...

    async def sweep(self) -> Outcome[int]: ...

    async def close_room(self, label: str) -> Outcome[bool]: ...

    async def snapshot(self, show_names: bool, page: int = 0) -> Snapshot: ...

    def carry_rings(self, pack: Packer) -> None:
        """Told once, by the service: how to pack rings (`Doorbells.pack`) that a shared
        backend's commits may add to the channel layer themselves."""
