"""Rate limits by key (client address) shared by every process: the TAT of `limits.py`
under one Redis key, changed by compare-and-set so the rule itself stays in the core.

Many calls share one key (everyone behind one NAT or agent host), so a process never races
itself for it: one compare-and-set per key is in flight at a time, and the calls that arrive
meanwhile are settled together by the next one (each still admitted or refused on its own, in
arrival order). Only processes race each other, so a conflict costs one retry per process,
not one per caller.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from chat.core.errors import RateLimited
from chat.core.limits import Rate, admit
from chat.redis_wire import RedisWire

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


@dataclass
class Ask:
    rate: Rate
    answer: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class Contended(RuntimeError):
    """The key kept changing under every attempt; the caller sees an internal error."""


class RedisRates:
    def __init__(self, redis: RedisWire, prefix: str, clock: Callable[[], float]) -> None:
        self.prefix, self.clock = prefix, clock
        self.cas = redis.script(CAS)
        self.known: dict[str, str] = {}
        self.asking: dict[str, list[Ask]] = {}  # key -> calls for its next compare-and-set
        self.settlers: dict[str, asyncio.Task[None]] = {}  # key -> the task settling them

    async def admit(self, key: str, rate: Rate) -> None:
        """`RateLimited` if `rate` has no call left under `key` now."""
        name = f"{self.prefix}rate:{key}"
        ask = Ask(rate)
        self.asking.setdefault(name, []).append(ask)
        if name not in self.settlers:
            self.settlers[name] = asyncio.ensure_future(self._settle_all(name))
        await ask.answer

    async def _settle_all(self, name: str) -> None:
        batch: list[Ask] = []
        try:
            while batch := self.asking.pop(name, []):
                try:
                    await self._settle(name, [a for a in batch if not a.answer.done()])
                except Exception as error:  # Redis unreachable: each caller hears so
                    for ask in batch:
                        if not ask.answer.done():
                            ask.answer.set_exception(error)
        finally:
            self.settlers.pop(name, None)
            for ask in batch + self.asking.pop(name, []):  # cancelled (shutdown): so are they
                ask.answer.cancel()

    async def _settle(self, name: str, batch: list[Ask]) -> None:
        """Admit or refuse each call of the batch, in order, by one compare-and-set."""
        held = self.known.get(name, "")
        for _ in range(ATTEMPTS):
            now = self.clock()
            tat = start = float(held) if held else 0.0
            verdicts: list[RateLimited | None] = []
            for ask in batch:
                try:
                    tat = admit(tat, now, ask.rate)
                    verdicts.append(None)
                except RateLimited as refused:
                    verdicts.append(refused)
            # Nothing admitted: no write. A refusal needs no fresh read either, since a TAT
            # only grows until its key expires, which is after it has passed.
            if tat != start:
                new = repr(tat)
                ttl_ms = max(1, int((tat - now) * 1000) + 1000)
                current = await self.cas([name], [held, new, ttl_ms])
                if current is not None:
                    held = current.decode() if isinstance(current, bytes) else str(current)
                    continue
                if len(self.known) >= KNOWN:
                    self.known.clear()
                self.known[name] = new
            for ask, verdict in zip(batch, verdicts, strict=True):
                if ask.answer.done():  # its caller gave up meanwhile
                    continue
                if verdict is None:
                    ask.answer.set_result(None)
                else:
                    ask.answer.set_exception(verdict)
            return
        raise Contended(f"rate key changed under {ATTEMPTS} attempts in a row")
