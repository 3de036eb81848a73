"""Optimistic transactions over the chat objects in Redis: load a slice, run the core on it,
commit what changed only if nothing it read has changed meanwhile.

No chat rule lives here. A `Slice` is the part of the world a use case touches: identities by
id, rooms by id or staff label, the queue, the room serial. `load` fetches it in a few
pipelined round trips, following links (an identity's room, a room's members, the queue's
people) until the slice is closed. `commit` (redis_commit.py) sends one Lua script that
compares every loaded value with what Redis holds now and, only if all are equal, writes the
changed ones; else the caller reloads and runs the use case again (compare-and-set, as
WATCH/MULTI/EXEC would, in one round trip instead of three).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from chat.core.activity import BUCKET, WINDOW, Activity, Bucket
from chat.core.config import ChatConfig
from chat.core.engine import ChatEngine
from chat.redis_wire import Command, RedisWire
from chat.state import codec
from chat.state.redis_commit import Commits, Keys

HINTS = 100_000  # link guesses kept per process before they are forgotten
RECALLED = 10_000  # values recalled per process (about 1 KB each) before they are forgotten
NEWS_LIMIT = 16_000  # characters of values a doorbell carries at most


class SliceEngine(ChatEngine):
    """The core, holding only a slice of the world; it knows the total population."""

    online_base: int | None = None  # loaded only for the use cases that count (count=True)
    rooms_base = 0
    loaded_people = loaded_rooms = 0

    def online_count(self) -> int:
        if self.online_base is None:
            raise RuntimeError("this use case counts people: load it with count=True")
        return self.online_base + len(self.identities) - self.loaded_people

    def room_count(self) -> int:
        if self.online_base is None:
            raise RuntimeError("this use case counts rooms: load it with count=True")
        return self.rooms_base + len(self.rooms) - self.loaded_rooms


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
    ridden: bytes | str | None = None  # the reply to the command that rode with the first read
    current: dict[str, str | None] = field(default_factory=dict)  # key -> value, if refused
    written: dict[str, str | None] = field(default_factory=dict)  # identities, rooms: landed


class RedisStore:
    def __init__(
        self, redis: RedisWire, config: ChatConfig, prefix: str, clock: Callable[[], float]
    ) -> None:
        self.redis, self.config, self.keys, self.clock = redis, config, Keys(prefix), clock
        self.object_prefixes = (self.keys.ident(""), self.keys.room(""))
        # Long enough to outlive any chat that is still going; a crashed cluster's keys vanish.
        self.ttl = int(2 * config.idle_timeout + config.max_wait + config.message_ttl + 60)
        self.commit = Commits(redis, self.keys, self.ttl).commit
        # Where links pointed last time (client -> room, room -> members), to fetch them in the
        # first round trip. Only a guess: a wrong one costs a round trip, never correctness,
        # because the links are followed anyway and every value read is compared on commit.
        self.room_hint: dict[str, str] = {}
        self.member_hint: dict[str, list[str]] = {}
        # Identities' and rooms' values as this process last saw them land (its own commits,
        # what a refused commit found, what doorbells brought), by key. Waits start from them:
        # a doorbell carries what the ringer wrote, so a woken wait's look, and the next wait
        # after it, usually need no read. Also only a guess, compared on commit like any value.
        self.recalled: dict[str, str] = {}

    def learn(self, values: Mapping[str, str | None]) -> None:
        """Recall these values (None: the key is gone)."""
        if len(self.recalled) + len(values) > RECALLED:
            self.recalled.clear()
        for key, value in values.items():
            if value is None:
                self.recalled.pop(key, None)
            elif key.startswith(self.object_prefixes):
                self.recalled[key] = value

    @staticmethod
    def news(written: Mapping[str, str | None]) -> dict[str, str] | None:
        """What a commit writes, for the doorbells it rings; None past NEWS_LIMIT."""
        news = {key: value for key, value in written.items() if value is not None}
        return news if sum(map(len, news.values())) <= NEWS_LIMIT else None

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
        count: bool = False,
        known: Mapping[str, str | None] | None = None,
        ride: Command | None = None,
    ) -> Slice:
        """The slice these name, closed over links: identities' rooms (unless not `follow`,
        when they are only kept alive), rooms' members (unless not `members`), the queue's
        people. Keys in `known` (what a refused commit found) are taken from there, unread:
        a stale one only makes the commit refuse again. `ride`: one more command to send with
        the first read (a rate limit's compare-and-set); its reply is `Slice.ridden`."""
        k, engine, known = self.keys, self.new_engine(), known or {}
        s = Slice(engine)
        named_ids, named_rooms = {i for i in ids if i}, {r for r in rooms if r}
        if follow:
            named_rooms |= {self.room_hint[i] for i in named_ids if i in self.room_hint}
        if members:
            named_ids |= {m for r in named_rooms for m in self.member_hint.get(r, ())}
        id_list, room_list = sorted(named_ids), sorted(named_rooms)
        first: list[Command] = []
        names: list[str] = []
        if ride is not None:
            first.append(ride)
            names.append("ride")
        if count:  # one round trip for what is named directly and the indexes
            first += [("ZCARD", k.seen), ("HLEN", k.labels)]
            names += ["online", "rooms_open"]
        if queue and k.queue not in known:
            first.append(("GET", k.queue))
            names.append("queue")
        if serial and k.serial not in known:
            first.append(("GET", k.serial))
            names.append("serial")
        if labels:
            first.append(("HMGET", k.labels, *labels))
            names.append("labels")
        if idle_before is not None:
            first.append(("ZRANGEBYSCORE", k.seen, "-inf", idle_before, "LIMIT", 0, 500))
            names.append("idle")
        wanted = [k.ident(i) for i in id_list] + [k.room(r) for r in room_list]
        # Taken now: `known` may be this process's recollection, which changes while we wait.
        have = {key: known[key] for key in wanted if key in known}
        unknown = [key for key in wanted if key not in have]
        if unknown:
            first.append(("MGET", *unknown))
            names.append("objects")
        got = dict(zip(names, await self.redis.pipeline(first), strict=True)) if names else {}
        if count:
            engine.online_base, engine.rooms_base = int(got["online"]), int(got["rooms_open"])
        s.ridden = got.get("ride")
        objects = _merge(wanted, have, unknown, got.get("objects"))
        got["ids"], got["rooms"] = objects[: len(id_list)], objects[len(id_list) :]
        queued: dict[str, float] = {}
        if queue:
            s.has_queue, s.queue = True, codec.text(known.get(k.queue, got.get("queue")))
            queued = dict(json.loads(s.queue)) if s.queue else {}
        if serial:
            s.has_serial, s.serial = True, codec.text(known.get(k.serial, got.get("serial")))
            engine.room_serial = int(s.serial or 0)
        want_ids, want_rooms = self._absorb(
            s, id_list, got.get("ids"), room_list, got.get("rooms"), follow, members
        )
        want_ids |= set(queued) | {codec.text(i) or "" for i in got.get("idle") or ()}
        want_rooms |= {codec.text(r) or "" for r in got.get("labels") or () if r}
        want_ids -= {"", *s.ids}
        want_rooms -= {"", *s.rooms}
        while want_ids or want_rooms:
            want_ids, want_rooms = await self._fetch(
                s, want_ids, want_rooms, follow, members, known
            )
        self._repair(s, queued)
        engine.loaded_people, engine.loaded_rooms = len(engine.identities), len(engine.rooms)
        return s

    async def _fetch(
        self,
        s: Slice,
        ids: set[str],
        rooms: set[str],
        follow: bool,
        members: bool,
        known: Mapping[str, str | None],
    ) -> tuple[set[str], set[str]]:
        """One round trip (none if all are `known`): fetch these; return the links they name
        that are not loaded yet."""
        id_list, room_list = sorted(ids - set(s.ids)), sorted(rooms - set(s.rooms))
        keys = [self.keys.ident(i) for i in id_list] + [self.keys.room(r) for r in room_list]
        have = {key: known[key] for key in keys if key in known}  # before `known` changes
        unknown = [key for key in keys if key not in have]
        fetched = await self.redis.call("MGET", *unknown) if unknown else []
        raw = _merge(keys, have, unknown, fetched)
        return self._absorb(
            s, id_list, raw[: len(id_list)], room_list, raw[len(id_list) :], follow, members
        )

    def _absorb(
        self,
        s: Slice,
        id_list: list[str],
        raw_ids: list[bytes | str | None] | None,
        room_list: list[str],
        raw_rooms: list[bytes | str | None] | None,
        follow: bool,
        members: bool,
    ) -> tuple[set[str], set[str]]:
        """Take fetched values into the slice; return the links they name not loaded yet."""
        next_ids: set[str] = set()
        next_rooms: set[str] = set()
        if len(self.room_hint) + len(self.member_hint) > HINTS:
            self.room_hint.clear()
            self.member_hint.clear()
        for client_id, raw in zip(id_list, raw_ids or (), strict=True):
            s.ids[client_id] = codec.text(raw)
            self.room_hint.pop(client_id, None)
            if raw is not None:
                ident = s.engine.identities[client_id] = codec.load_identity(raw)
                if ident.room_id is not None:
                    self.room_hint[client_id] = ident.room_id
                    (next_rooms if follow else s.touch).add(ident.room_id)
        for room_id, raw in zip(room_list, raw_rooms or (), strict=True):
            s.rooms[room_id] = codec.text(raw)
            self.member_hint.pop(room_id, None)
            if raw is not None:
                room = s.engine.rooms[room_id] = codec.load_room(raw)
                self.member_hint[room_id] = list(room.members)
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
        now = await self.redis.call("MGET", *(key for key, _ in loaded))
        return all(codec.text(n) == v for n, (_, v) in zip(now, loaded, strict=True))

    async def activity(self, now: float) -> Activity:
        """The monitor's rolling figures, from every process's counters."""
        activity = Activity()
        starts = [now - now % BUCKET - i * BUCKET for i in range(int(WINDOW / BUCKET), -1, -1)]
        buckets = await self.redis.pipeline([("HGETALL", self.keys.activity(s)) for s in starts])
        for start, raw in zip(starts, buckets, strict=True):
            if raw:
                data = {codec.text(key): int(value) for key, value in codec.pairs(raw)}
                activity.buckets.append(
                    Bucket(start, data.get("messages", 0), data.get("online", 0))
                )
        return activity


def _merge(
    keys: list[str],
    known: dict[str, str | None],
    fetched_keys: list[str],
    fetched: list[bytes | str | None] | None,
) -> list[bytes | str | None]:
    """The values of `keys`, in order: from `known`, else from what was fetched."""
    if not known:
        return list(fetched or [])
    got = dict(zip(fetched_keys, fetched or [], strict=True))
    return [known[key] if key in known else got[key] for key in keys]
