"""Rate limits by key (client address) shared by every process: the TAT of `limits.py`
under one Redis key, changed by compare-and-set so the rule itself stays in the core.

Many calls share one key (everyone behind one NAT or agent host), so a process never races
itself for it: one compare-and-set per key is in flight at a time, and the calls that arrive
meanwhile are settled together by the next one (each still admitted or refused on its own, in
arrival order). Only processes race each other, so a conflict costs one retry per process,
not one per caller.

A call that finds no compare-and-set out for its key needs no round trip of its own for it:
`ride` computes its compare-and-set from the TAT this process last saw, and the use case
sends it with its first read (`settle_ride` then takes the answer, before the use case runs).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from chat.core.errors import RateLimited
from chat.core.limits import Charge, Rate, admit
from chat.redis_wire import Command, RedisWire
from chat.state import codec

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


@dataclass
class Ride:
    """A call's compare-and-set, sent with its use case's first read (`command`)."""

    name: str
    rate: Rate
    new: str
    command: Command


class Contended(RuntimeError):
    """The key kept changing under every attempt; the caller sees an internal error."""


class RedisRates:
    def __init__(self, redis: RedisWire, prefix: str, clock: Callable[[], float]) -> None:
        self.prefix, self.clock = prefix, clock
        self.cas = redis.script(CAS)
        self.known: dict[str, str] = {}
        self.asking: dict[str, list[Ask]] = {}  # key -> calls for its next compare-and-set
        self.settlers: dict[str, asyncio.Task[None]] = {}  # key -> the task settling them
        self.riding: set[str] = set()  # keys whose compare-and-set rides with a use case

    async def admit(self, key: str, rate: Rate) -> None:
        """`RateLimited` if `rate` has no call left under `key` now."""
        name = self._name(key)
        ask = Ask(rate)
        self.asking.setdefault(name, []).append(ask)
        self._settle_later(name)
        await ask.answer

    def ride(self, charge: Charge) -> Ride | None:
        """The compare-and-set that admits this call, for its use case to send with its first
        read, if no other is out for the key in this process (else None: call `admit`). The
        caller passes its reply to `settle_ride`, or calls `drop_ride` if the read failed.
        `RateLimited` at once if the TAT last seen here refuses it already: a TAT only grows."""
        name = self._name(charge.key)
        if name in self.settlers or name in self.riding:
            return None
        held = self.known.get(name, "")
        now = self.clock()
        tat = admit(float(held) if held else 0.0, now, charge.rate)
        self.riding.add(name)
        new = repr(tat)
        # EVAL, not EVALSHA: a reply of NOSCRIPT would fail the read it rides with.
        command = ("EVAL", CAS, 1, name, held, new, _expiry_ms(tat, now))
        return Ride(name, charge.rate, new, command)

    async def settle_ride(self, ride: Ride, reply: bytes | str | None) -> None:
        """Take the ridden compare-and-set's reply: admitted, or (another process changed the
        key meanwhile) settled again the usual way; `RateLimited` if refused then."""
        name = ride.name
        try:
            if reply is None:
                self._remember(name, ride.new)
                return
            self._remember(name, codec.text(reply) or "")  # what the key holds now
            ask = Ask(ride.rate)
            await self._settle(name, [ask])
            await ask.answer
        finally:
            self.drop_ride(ride)

    def drop_ride(self, ride: Ride) -> None:
        """Done with `ride` (or its read failed, and whether it landed is unknown: the next
        compare-and-set finds out): the calls queued behind it go on."""
        self.riding.discard(ride.name)
        self._settle_later(ride.name)

    def _name(self, key: str) -> str:
        return f"{self.prefix}rate:{key}"

    def _settle_later(self, name: str) -> None:
        """Start settling the calls asking for `name`, unless that is under way already."""
        if self.asking.get(name) and name not in self.settlers and name not in self.riding:
            self.settlers[name] = asyncio.ensure_future(self._settle_all(name))

    def _remember(self, name: str, tat: str) -> None:
        if len(self.known) >= KNOWN:
            self.known.clear()
        self.known[name] = tat

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
                current = await self.cas([name], [held, new, _expiry_ms(tat, now)])
                if current is not None:
                    held = codec.text(current) or ""
                    continue
                self._remember(name, new)
            for ask, verdict in zip(batch, verdicts, strict=True):
                if ask.answer.done():  # its caller gave up meanwhile
                    continue
                if verdict is None:
                    ask.answer.set_result(None)
                else:
                    ask.answer.set_exception(verdict)
            return
        raise Contended(f"rate key changed under {ATTEMPTS} attempts in a row")


def _expiry_ms(tat: float, now: float) -> int:
    """How long a key holding `tat` matters: until the TAT has passed, and a second more."""
    return max(1, int((tat - now) * 1000) + 1000)
