"""Optimistic transactions over the chat objects in Redis: load a slice, run the core on it,
commit what changed only if nothing it read has changed meanwhile.

No chat rule lives here. A `Slice` is the part of the world a use case touches: identities by
id, rooms by id or staff label, the queue, the room serial. `load` fetches it in a few
pipelined round trips, following links (an identity's room, a room's members, the queue's
people) until the slice is closed. `commit` sends one Lua script that compares every loaded
value with what Redis holds now and, only if all are equal, writes the changed ones; else the
caller reloads and runs the use case again (compare-and-set, as WATCH/MULTI/EXEC would, in one
round trip instead of three).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis

from chat.core.activity import BUCKET, WINDOW, Activity, Bucket
from chat.core.config import ChatConfig
from chat.core.engine import ChatEngine
from chat.state import codec

# Markers that no stored value (JSON or a number) can equal.
MISSING, DELETE, SAME = "~missing", "~delete", "~same"

# KEYS: the compared keys, then keys whose expiry is refreshed, then keys of derived updates.
# ARGV[1]: {"n": compared, "t": refreshed, "ttl": seconds, "ops": [[command, key index, args]]}
# ARGV[2..n+1]: the values loaded; ARGV[n+2..2n+1]: the values to write.
COMMIT = """
local h = cjson.decode(ARGV[1])
local n = h.n
for i = 1, n do
  local now = redis.call('GET', KEYS[i])
  if now == false then
    if ARGV[1 + i] ~= '~missing' then return 0 end
  elseif now ~= ARGV[1 + i] then return 0 end
end
for i = 1, n do
  local new = ARGV[1 + n + i]
  if new == '~delete' then redis.call('DEL', KEYS[i])
  elseif new == '~same' then redis.call('EXPIRE', KEYS[i], h.ttl)
  else redis.call('SET', KEYS[i], new, 'EX', h.ttl) end
end
for i = n + 1, n + h.t do redis.call('EXPIRE', KEYS[i], h.ttl) end
for _, op in ipairs(h.ops) do
  local args = {op[1], KEYS[op[2]]}
  for j = 3, #op do args[#args + 1] = op[j] end
  redis.call(unpack(args))
end
return 1
"""


class Keys:
    """The key layout. One hash tag, so a Redis Cluster keeps every key in one slot."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def ident(self, client_id: str) -> str:
        return f"{self.prefix}id:{client_id}"

    def room(self, room_id: str) -> str:
        return f"{self.prefix}room:{room_id}"

    def activity(self, bucket: float) -> str:
        return f"{self.prefix}act:{int(bucket)}"

    def __getattr__(self, name: str) -> str:  # queue, serial, seen, labels, sent, sweep
        return f"{self.prefix}{name}"


class SliceEngine(ChatEngine):
    """The core, holding only a slice of the world; it knows the total population."""

    online_base = 0
    loaded_people = 0

    def online_count(self) -> int:
        return self.online_base + len(self.identities) - self.loaded_people


@dataclass
class Slice:
    engine: SliceEngine
    ids: dict[str, str | None] = field(default_factory=dict)  # client id -> value as loaded
    rooms: dict[str, str | None] = field(default_factory=dict)
    queue: str | None = None  # as loaded (None: no such key), when `has_queue`
    serial: str | None = None
    has_queue: bool = False
    has_serial: bool = False
    touch: set[str] = field(default_factory=set)  # rooms of loaded identities, not loaded


class RedisStore:
    def __init__(
        self, redis: Redis, config: ChatConfig, prefix: str, clock: Callable[[], float]
    ) -> None:
        self.redis, self.config, self.keys, self.clock = redis, config, Keys(prefix), clock
        self.commit_script = redis.register_script(COMMIT)
        # Long enough to outlive any chat that is still going; a crashed cluster's keys vanish.
        self.ttl = int(2 * config.idle_timeout + config.max_wait + config.message_ttl + 60)

    def new_engine(self) -> SliceEngine:
        return SliceEngine(self.config, self.clock)

    async def load(
        self,
        ids: Iterable[str | None] = (),
        rooms: Iterable[str | None] = (),
        labels: Iterable[str] = (),
        queue: bool = False,
        serial: bool = False,
        idle_before: float | None = None,
        follow: bool = True,
        members: bool = True,
    ) -> Slice:
        """The slice these name, closed over links: identities' rooms (unless not `follow`,
        when they are only kept alive), rooms' members (unless not `members`), the queue's
        people."""
        k, engine = self.keys, self.new_engine()
        s = Slice(engine)
        first = self.redis.pipeline(transaction=False)
        first.zcard(k.seen)
        first.get(k.queue) if queue else first.echo("")
        first.get(k.serial) if serial else first.echo("")
        first.hmget(k.labels, list(labels)) if labels else first.echo("")
        if idle_before is not None:
            first.zrangebyscore(k.seen, "-inf", idle_before, start=0, num=500)
        else:
            first.echo("")
        online, raw_queue, raw_serial, label_rooms, idle = await first.execute()
        engine.online_base = int(online)
        queued: dict[str, float] = {}
        if queue:
            s.has_queue, s.queue = True, _text(raw_queue)
            queued = dict(json.loads(s.queue)) if s.queue else {}
        if serial:
            s.has_serial, s.serial = True, _text(raw_serial)
            engine.room_serial = int(s.serial or 0)
        want_ids = {i for i in ids if i} | set(queued) | {_text(i) or "" for i in idle or ()}
        want_rooms = {r for r in rooms if r} | {_text(r) or "" for r in label_rooms or () if r}
        want_ids.discard("")
        want_rooms.discard("")
        while want_ids or want_rooms:
            want_ids, want_rooms = await self._fetch(s, want_ids, want_rooms, follow, members)
        self._repair(s, queued)
        engine.loaded_people = len(engine.identities)
        return s

    async def _fetch(
        self, s: Slice, ids: set[str], rooms: set[str], follow: bool, members: bool
    ) -> tuple[set[str], set[str]]:
        """One round trip: fetch these; return the links they name that are not loaded yet."""
        id_list, room_list = sorted(ids - set(s.ids)), sorted(rooms - set(s.rooms))
        pipe = self.redis.pipeline(transaction=False)
        pipe.mget([self.keys.ident(i) for i in id_list]) if id_list else pipe.echo("")
        pipe.mget([self.keys.room(r) for r in room_list]) if room_list else pipe.echo("")
        raw_ids, raw_rooms = await pipe.execute()
        next_ids: set[str] = set()
        next_rooms: set[str] = set()
        for client_id, raw in zip(id_list, raw_ids if id_list else (), strict=True):
            s.ids[client_id] = _text(raw)
            if raw is not None:
                ident = s.engine.identities[client_id] = codec.load_identity(raw)
                if ident.room_id is not None:
                    (next_rooms if follow else s.touch).add(ident.room_id)
        for room_id, raw in zip(room_list, raw_rooms if room_list else (), strict=True):
            s.rooms[room_id] = _text(raw)
            if raw is not None:
                room = s.engine.rooms[room_id] = codec.load_room(raw)
                if members:
                    next_ids.update(room.members)
        s.touch -= set(s.rooms)
        return next_ids - set(s.ids), next_rooms - set(s.rooms)

    @staticmethod
    def _repair(s: Slice, queued: dict[str, float]) -> None:
        """Links to objects whose keys expired (a crashed cluster) are dropped, so the core
        always sees a consistent world."""
        world = s.engine
        world.queue = {cid: at for cid, at in queued.items() if cid in world.identities}
        for ident in world.identities.values():
            if ident.room_id is not None and s.rooms.get(ident.room_id, "") is None:
                ident.room_id = None
        for room_id, room in list(world.rooms.items()):
            for cid in [c for c in room.members if s.ids.get(c, "") is None]:
                del room.members[cid]
            if not room.members:
                del world.rooms[room_id]

    async def is_current(self, s: Slice) -> bool:
        """Whether everything the slice holds is still what Redis holds."""
        k = self.keys
        loaded = [(k.ident(c), v) for c, v in s.ids.items()]
        loaded += [(k.room(r), v) for r, v in s.rooms.items()]
        loaded += [(k.queue, s.queue)] if s.has_queue else []
        loaded += [(k.serial, s.serial)] if s.has_serial else []
        if not loaded:
            return True
        now = await self.redis.mget([key for key, _ in loaded])
        return all(_text(n) == v for n, (_, v) in zip(now, loaded, strict=True))

    async def commit(self, s: Slice) -> bool:
        """Write what the use case changed, if nothing loaded changed meanwhile."""
        k, world, ops = self.keys, s.engine, []
        compared: list[tuple[str, str | None, str]] = []
        for cid, old in (
            s.ids.items() | {c: None for c in world.identities if c not in s.ids}.items()
        ):
            ident = world.identities.get(cid)
            new = codec.dump_identity(ident) if ident else DELETE
            compared.append((k.ident(cid), old, SAME if new == old else new))
            if ident is None:
                ops.append(["ZREM", k.seen, cid])
            elif new != old:
                ops.append(["ZADD", k.seen, repr(ident.last_seen), cid])
        for rid, old in (
            s.rooms.items() | {r: None for r in world.rooms if r not in s.rooms}.items()
        ):
            room = world.rooms.get(rid)
            new = codec.dump_room(room) if room else DELETE
            compared.append((k.room(rid), old, SAME if new == old else new))
            if room is None and old is not None:
                ops.append(["HDEL", k.labels, codec.load_room(old).label])
            elif room is not None and old is None:
                ops.append(["HSET", k.labels, room.label, rid])
        if s.has_queue:
            new_queue = json.dumps(list(world.queue.items()))
            compared.append((k.queue, s.queue, SAME if new_queue == s.queue else new_queue))
        if s.has_serial:
            new_serial = str(world.room_serial)
            compared.append((k.serial, s.serial, SAME if new_serial == s.serial else new_serial))
        ops += self._counters(world)
        return await self._run(compared, sorted(k.room(r) for r in s.touch), ops)

    def _counters(self, world: SliceEngine) -> list[list[Any]]:
        k, ops = self.keys, []
        if world.messages_sent:
            ops.append(["INCRBY", k.sent, str(world.messages_sent)])
        for bucket in world.activity.buckets:
            key = k.activity(bucket.start)
            if bucket.messages:
                ops.append(["HINCRBY", key, "messages", str(bucket.messages)])
            if bucket.online:
                ops.append(["HSET", key, "online", str(bucket.online)])
            ops.append(["EXPIRE", key, str(int(WINDOW * 2))])
        return ops + [["EXPIRE", name, str(self.ttl)] for name in (k.seen, k.labels, k.sent)]

    async def _run(
        self, compared: list[tuple[str, str | None, str]], touch: list[str], ops: list[list[Any]]
    ) -> bool:
        keys = [key for key, _, _ in compared] + touch
        index: dict[str, int] = {}
        for op in ops:
            if op[1] not in index:
                index[op[1]] = len(keys) + 1
                keys.append(op[1])
            op[1] = index[op[1]]
        header = json.dumps({"n": len(compared), "t": len(touch), "ttl": self.ttl, "ops": ops})
        args = [header]
        args += [MISSING if old is None else old for _, old, _ in compared]
        args += [new for _, _, new in compared]
        return bool(await self.commit_script(keys=keys, args=args))

    async def activity(self, now: float) -> Activity:
        """The monitor's rolling figures, from every process's counters."""
        activity = Activity()
        starts = [now - now % BUCKET - i * BUCKET for i in range(int(WINDOW / BUCKET), -1, -1)]
        pipe = self.redis.pipeline(transaction=False)
        for start in starts:
            pipe.hgetall(self.keys.activity(start))
        for start, raw in zip(starts, await pipe.execute(), strict=True):
            if raw:
                data = {_text(key): int(value) for key, value in raw.items()}
                activity.buckets.append(
                    Bucket(start, data.get("messages", 0), data.get("online", 0))
                )
        return activity


def _text(raw: bytes | str | None) -> str | None:
    return raw.decode() if isinstance(raw, bytes) else raw
