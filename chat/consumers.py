"""The staff monitor's websocket: pushes a page of the snapshot on every change and at least
once a second, takes page turns, and the one moderation action: close a room.

Bounded for a server under attack: a push carries totals and one page of rooms (busiest
first), never all of them; pushes come at most twice a second per tab; and all the tabs of a
process showing the same page share one snapshot (`ChatService.recent_snapshot`)."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict
from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from chat.runtime import service

log = logging.getLogger(__name__)

REFUSED = 4403  # close code for "not staff": the page shows it and stops retrying
MIN_GAP = 0.5  # seconds between pushes under load
MAX_GAP = 1.0  # ages and waiting times move even when nothing happens
MAX_PAGE = 10_000


def is_staff(scope: dict[str, Any]) -> bool:
    user = scope.get("user")
    return bool(user and user.is_active and user.is_staff)


class MonitorConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    pusher: asyncio.Task[None] | None = None
    page = 0

    async def connect(self) -> None:
        if not is_staff(self.scope):
            await self.close(code=REFUSED)
            return
        await self.accept()
        self.changed = asyncio.Event()
        service().listeners.append(self.changed.set)
        self.pusher = asyncio.create_task(self.push_forever())

    async def disconnect(self, code: int) -> None:
        if self.pusher is not None:
            self.pusher.cancel()
            service().listeners.remove(self.changed.set)

    async def push_forever(self) -> None:
        while True:
            self.changed.clear()
            snapshot = await service().recent_snapshot(
                settings.MCPCHAT_MONITOR_SHOW_NAMES, self.page
            )
            await self.send_json({"type": "snapshot", "snapshot": asdict(snapshot)})
            await asyncio.sleep(MIN_GAP)  # throttle: coalesce bursts of changes into one push
            try:
                async with asyncio.timeout(MAX_GAP - MIN_GAP):
                    await self.changed.wait()
            except TimeoutError:
                pass

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        action = content.get("action") if isinstance(content, dict) else None
        if action == "page" and isinstance(content.get("page"), int):
            self.page = min(max(content["page"], 0), MAX_PAGE)
            self.changed.set()
            return
        if action != "close_room":
            await self.send_json({"type": "error", "detail": "unknown action"})
            return
        label = str(content.get("label", ""))[:20]
        closed = await service().close_room(label)
        log.info("staff user %s closed room %s: %s", self.scope["user"].pk, label, closed)
        await self.send_json({"type": "closed", "label": label, "ok": closed})
