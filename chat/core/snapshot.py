"""What staff see: counts and short labels. Never message text, never a client_id, never a
private room's id, and display names only when the operator turns them on."""

from __future__ import annotations

from dataclasses import dataclass, field

from chat.core.engine import ChatEngine
from chat.core.mailbox import iso


@dataclass
class RoomRow:
    label: str  # e.g. "P-12": serial number, not the room id
    kind: str  # matched | private
    members: int
    age_s: float
    idle_s: float | None  # seconds since the last message, None before the first
    messages: int
    names: list[str] | None = None  # only with MCPCHAT_MONITOR_SHOW_NAMES


@dataclass
class ChartPoint:
    ago_s: float
    messages: int
    online: int


@dataclass
class Snapshot:
    at: str
    online: int
    queue_length: int
    oldest_wait_s: float | None
    active_rooms: int
    people_in_rooms: int
    messages_per_minute: int
    messages_total: int
    rooms: list[RoomRow] = field(default_factory=list)  # one page, busiest first
    chart: list[ChartPoint] = field(default_factory=list)
    page: int = 0
    pages: int = 1


# A page of rooms, not all of them: thousands of rooms must not make every push (or one tab
# of the monitor) heavy.
ROOMS_PER_PAGE = 50


def take_snapshot(engine: ChatEngine, show_names: bool = False, page: int = 0) -> Snapshot:
    now = engine.clock()
    queued_at = list(engine.queue.values())
    # Busiest first: the latest message (or opening) first, then the oldest room.
    rooms = sorted(
        engine.rooms.values(), key=lambda r: (-(r.last_message_at or r.created_at), r.created_at)
    )
    pages = max(1, -(-len(rooms) // ROOMS_PER_PAGE))
    page = min(max(page, 0), pages - 1)
    shown = rooms[page * ROOMS_PER_PAGE : (page + 1) * ROOMS_PER_PAGE]
    online = engine.online_count()
    return Snapshot(
        at=iso(now),
        online=online,
        queue_length=len(queued_at),
        oldest_wait_s=round(now - min(queued_at), 1) if queued_at else None,
        active_rooms=len(rooms),
        people_in_rooms=sum(len(r.members) for r in rooms),
        messages_per_minute=engine.activity.per_minute(now),
        messages_total=engine.messages_sent,
        rooms=[
            RoomRow(
                label=r.label,
                kind=r.kind,
                members=len(r.members),
                age_s=round(now - r.created_at, 1),
                idle_s=round(now - r.last_message_at, 1) if r.last_message_at else None,
                messages=r.message_count,
                names=[engine.identities[c].name for c in r.members] if show_names else None,
            )
            for r in shown
        ],
        chart=[ChartPoint(*p) for p in engine.activity.chart(now, online)],
        page=page,
        pages=pages,
    )
