"""Rate limits by key (client address) shared by every process: the TAT of `limits.py`
under one Redis key, changed by compare-and-set so the rule itself stays in the core."""

from __future__ import annotations

from collections.abc import Callable

from redis.asyncio import Redis

from chat.core.limits import Rate, admit

# Set the key only if it still holds what the caller computed from; else say what it holds.
CAS = """
local now = redis.call('GET', KEYS[1]) or ''
if now == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return false
end
return now
"""
ATTEMPTS = 50
KNOWN = 10_000  # last seen TAT per key, kept per process: usually saves the GET


class RedisRates:
    def __init__(self, redis: Redis, prefix: str, clock: Callable[[], float]) -> None:
        self.prefix, self.clock = prefix, clock
        self.cas = redis.register_script(CAS)
        self.known: dict[str, str] = {}

    async def admit(self, key: str, rate: Rate) -> None:
        name = f"{self.prefix}rate:{key}"
        held = self.known.get(name, "")
        for _ in range(ATTEMPTS):
            now = self.clock()
            tat = admit(float(held) if held else 0.0, now, rate)  # RateLimited: refused
            new = repr(tat)
            ttl_ms = max(1, int((tat - now) * 1000) + 1000)
            current = await self.cas(keys=[name], args=[held, new, ttl_ms])
            if current is None:
                if len(self.known) >= KNOWN:
                    self.known.clear()
                self.known[name] = new
                return
            held = current.decode() if isinstance(current, bytes) else str(current)
        # Contended beyond reason: let the call through rather than fail a legitimate caller.
