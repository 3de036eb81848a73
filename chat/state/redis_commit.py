"""Committing a slice: one Lua script compares every loaded key with what Redis holds and,
only if all are equal, writes what the use case changed. Compare-and-set over a list of keys,
with no chat rule in it.

Values never travel through the script's arguments: on the Redis 7.0 measured here, every
byte passed into a script (`ARGV`, `KEYS`) or from it to a command costs about 60 ns, so a
commit that passed the values it loaded and the ones it writes (a few KB) spent 300-400 µs
of Redis' one thread; a reply read inside the script costs next to nothing
(docs/SCALING.md). So the script compares SHA-1 digests of the values loaded, and the new
values are staged under keys of their own by plain `SET`s in the same round trip, which the
script renames into place if the commit lands, or deletes if it is refused.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from chat.core.activity import WINDOW
from chat.core.engine import ChatEngine
from chat.layer import PackedRing
from chat.redis_wire import Command, RedisWire
from chat.state import codec

if TYPE_CHECKING:
    from chat.state.redis_store import Slice

T = TypeVar("T")
Rings = Callable[[Mapping[str, str | None]], Sequence[PackedRing]]

# Markers that no stored value (JSON or a number) can equal.
MISSING, DELETE, SAME = "~missing", "~delete", "~same"

# KEYS: the compared keys, then the other keys named by "ops", "w" and "r".
# ARGV[1]: {"n": compared, "ops": [[command, key index, args]],
#           "w": per compared key, 0 to keep its value, -1 to delete it, or the index of the key
#                its new value was staged under (with its expiry),
#           "cur": whether a refusal returns the compared keys' values,
#           "r": rings to add once written, [[key index, index of the key it was staged
#                under (a sorted set of one, with its expiry), stale, capacity, expiry]]}
# ARGV[2..n+1]: SHA-1 digests of the values loaded ('~missing' for none).
# Returns 1 once written; if any compared value differs, writes nothing (the staged values
# go) and returns 0 or (with "cur") what the compared keys hold now, so the caller's next
# attempt need not read them. Expiries that only keep keys alive are renewed around the
# script by plain commands: here each call inside Lua costs several µs.
COMMIT = """
local h = cjson.decode(ARGV[1])
local n, w = h.n, h.w
local now, differs = {}, false
for i = 1, n do
  local v = redis.call('GET', KEYS[i])
  if v == false then
    now[i] = '~missing'
    if ARGV[1 + i] ~= '~missing' then differs = true end
  else
    now[i] = v
    if redis.sha1hex(v) ~= ARGV[1 + i] then differs = true end
  end
end
if differs then
  for i = 1, n do
    if w[i] > 0 then redis.call('DEL', KEYS[w[i]]) end
  end
  for _, r in ipairs(h.r) do redis.call('DEL', KEYS[r[2]]) end
  if h.cur then return now end
  return 0
end
for i = 1, n do
  if w[i] == -1 then redis.call('DEL', KEYS[i])
  elseif w[i] > 0 then redis.call('RENAME', KEYS[w[i]], KEYS[i]) end
end
for _, op in ipairs(h.ops) do
  local args = {op[1], KEYS[op[2]]}
  for j = 3, #op do args[#args + 1] = op[j] end
  redis.call(unpack(args))
end
for _, r in ipairs(h.r) do
  local key, staged = KEYS[r[1]], KEYS[r[2]]
  redis.call('ZREMRANGEBYSCORE', key, 0, r[3])
  local count = redis.call('ZCARD', key)
  if count == 0 then  -- the usual case (its process pops it empty): a blocked pop wakes too
    redis.call('RENAME', staged, key)
  else
    if count < r[4] then
      redis.call('ZUNIONSTORE', key, 2, key, staged, 'AGGREGATE', 'MIN')
      redis.call('EXPIRE', key, r[5])
    end
    redis.call('DEL', staged)
  end
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

    def staged(self, name: str) -> str:
        return f"{self.prefix}staged:{name}"

    def __getattr__(self, name: str) -> str:  # queue, serial, seen, labels, sent, sweep
        return f"{self.prefix}{name}"


class Commits:
    def __init__(self, redis: RedisWire, keys: Keys, ttl: int) -> None:
        self.keys, self.ttl = keys, ttl
        self.commit_script = redis.script(COMMIT)

    async def commit(
        self, s: Slice, current: bool = False, rings: Rings | None = None, check: bool = True
    ) -> bool:
        """Write what the use case changed, if nothing loaded changed meanwhile. If something
        did and `current` is asked for, keep what the compared keys hold now in `s.current`.
        `rings`, given what the commit is to write, names doorbells to add with it (the same
        steps as the channel layer's send: chat/redis_layer.py), so they land only if it does.
        Without `check`, a use case that changed nothing is not sent at all: its caller says
        its answer stands on whatever committed values it read, current or not."""
        k, world, ops = self.keys, s.engine, []
        compared: list[tuple[str, str | None, str]] = []
        for cid, old, ident, new in _changes(s.ids, world.identities, codec.dump_identity):
            compared.append((k.ident(cid), old, new))
            if ident is None:
                ops.append(["ZREM", k.seen, cid])
            elif new != SAME:
                ops.append(["ZADD", k.seen, repr(ident.last_seen), cid])
        for rid, old, room, new in _changes(s.rooms, world.rooms, codec.dump_room):
            compared.append((k.room(rid), old, new))
            if room is None and old is not None:
                ops.append(["HDEL", k.labels, codec.load_room(old).label])
            elif room is not None and old is None:
                ops.append(["HSET", k.labels, room.label, rid])
        objects = len(compared)  # the identities and rooms, which `written` reports
        if s.has_queue:
            new_queue = json.dumps(list(world.queue.items()))
            compared.append((k.queue, s.queue, SAME if new_queue == s.queue else new_queue))
        if s.has_serial:
            new_serial = str(world.room_serial)
            compared.append((k.serial, s.serial, SAME if new_serial == s.serial else new_serial))
        counters, keep = self._counters(world)
        ops += counters
        if not check and not ops and all(new == SAME for _, _, new in compared):
            s.written = {}
            return True
        # Kept alive while used, whether or not the commit lands: not worth a call in Lua.
        kept = {op[1] for op in ops} & {k.seen, k.labels, k.sent}
        keep += [("EXPIRE", name, self.ttl) for name in sorted(kept)]
        keep += [("EXPIRE", key, self.ttl) for key, _, new in compared if new == SAME]
        keep += [("EXPIRE", k.room(r), self.ttl) for r in sorted(s.touch)]
        written = {
            key: (old if new == SAME else None if new == DELETE else new)
            for key, old, new in compared[:objects]
        }
        packed = rings(written) if rings is not None else []
        landed = await self._run(compared, ops, keep, current, packed)
        if landed == 1:
            s.written = written
        if isinstance(landed, list):
            values = (codec.text(value) for value in landed)
            s.current = {
                key: None if value == MISSING else value
                for (key, _, _), value in zip(compared, values, strict=True)
            }
            return False
        return bool(landed)

    def _counters(self, world: ChatEngine) -> tuple[list[list[Any]], list[Command]]:
        """The counters' updates (with the commit) and their keys' expiries (beside it)."""
        k = self.keys
        ops: list[list[Any]] = []
        keep: list[Command] = []
        if world.messages_sent:
            ops.append(["INCRBY", k.sent, str(world.messages_sent)])
        for bucket in world.activity.buckets:
            key = k.activity(bucket.start)
            if bucket.messages:
                ops.append(["HINCRBY", key, "messages", str(bucket.messages)])
            if bucket.online:
                ops.append(["HSET", key, "online", str(bucket.online)])
            keep.append(("EXPIRE", key, int(WINDOW * 2)))
        return ops, keep

    async def _run(
        self,
        compared: list[tuple[str, str | None, str]],
        ops: list[list[Any]],
        keep: list[Command],
        current: bool,
        rings: Sequence[PackedRing],
    ) -> int | list[bytes | str]:
        keys = [key for key, _, _ in compared]
        index: dict[str, int] = {}

        def position(key: str) -> int:
            if key not in index:
                index[key] = len(keys) + 1
                keys.append(key)
            return index[key]

        for op in ops:
            op[1] = position(op[1])
        token, staging, w, r = os.urandom(8).hex(), [], [], []
        for j, g in enumerate(rings):
            staged = self.keys.staged(f"{token}:r{j}")
            staging += [("ZADD", staged, g.score, g.body), ("EXPIRE", staged, g.expiry)]
            r.append([position(g.key), position(staged), g.stale, g.capacity, g.expiry])
        for i, (_, _, new) in enumerate(compared):
            if new in (SAME, DELETE):
                w.append(0 if new == SAME else -1)
                continue
            staged = self.keys.staged(f"{token}:{i}")
            staging.append(("SET", staged, new, "EX", self.ttl))
            w.append(position(staged))
        header = {"n": len(compared), "ops": ops, "w": w, "r": r, "cur": current}
        args: list[str | bytes] = [json.dumps(header)]
        args += [_digest(old) for _, old, _ in compared]
        reply = await self.commit_script.pipelined(keys, args, before=staging, after=keep)
        return reply  # type: ignore[no-any-return]


def _digest(value: str | None) -> str:
    """What the script compares a loaded value by: its SHA-1 (as `redis.sha1hex` gives it)."""
    return MISSING if value is None else hashlib.sha1(value.encode()).hexdigest()


def _changes(
    loaded: dict[str, str | None], now: dict[str, T], dump: Callable[[T], str]
) -> Iterator[tuple[str, str | None, T | None, str]]:
    """Every object loaded or now present: (id, value as loaded, object now or None, value to
    write: its dump, SAME when unchanged, DELETE when gone)."""
    for key in {**dict.fromkeys(now), **loaded}:
        obj = now.get(key)
        new = dump(obj) if obj is not None else DELETE
        yield key, loaded.get(key), obj, SAME if new == loaded.get(key) else new
