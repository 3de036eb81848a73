"""Chat state in Redis, shared by any number of processes.

Each use case loads the slice of the world it touches (`redis_store.RedisStore.load`), runs
the unchanged core on it, and commits only if nothing it read changed meanwhile; on a conflict
it runs again on fresh data. So the rules stay in `chat/core` and two processes can never pair
the same person twice, overfill a room or hand one message to two waits.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, TypeVar

from chat.core.config import ChatConfig
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
from chat.core.snapshot import Snapshot, take_snapshot
from chat.layer import PackedRing, Packer, Where
from chat.redis_wire import RedisWire
from chat.state import codec
from chat.state.redis_rates import RedisRates, Ride
from chat.state.redis_store import RedisStore, Slice, SliceEngine

T = TypeVar("T")
ATTEMPTS = 200  # conflicts are short: someone else's commit landed between our read and write


class Contention(RuntimeError):
    """A use case kept meeting concurrent changes; the caller sees an internal error."""


class Ringing:
    """The doorbells a use case's outcome rings, once its commit is about to be sent: the
    news they carry is what the commit writes, and the rings the layer can have the commit
    add (`carry_rings`) go with it; `outcome` keeps the others for the service to ring."""

    def __init__(self, outcome: Outcome[Any], state: RedisChatState) -> None:
        self.outcome, self.state = outcome, state

    def rings(self, written: Mapping[str, str | None]) -> list[PackedRing]:
        news = self.state.store.news(written)
        packed: list[PackedRing] = []
        rest = self.outcome.wake
        if self.state.pack is not None:
            packed, rest = self.state.pack(rest, news, self.state.where)
        self.outcome = replace(self.outcome, wake=rest, news=news)
        return packed


class RedisChatState:
    def __init__(
        self,
        config: ChatConfig,
        redis: RedisWire,
        prefix: str = "mcpchat:{chat}:",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config, self.redis, self.clock = config, redis, clock
        self.store = RedisStore(redis, config, prefix, clock)
        self.rates = RedisRates(redis, prefix, clock)
        self.pack: Packer | None = None
        self.where: Where = redis.where

    def carry_rings(self, pack: Packer) -> None:
        """Let commits add the rings they cause to the channel layer's keys themselves, when
        `pack` says the layer keeps them in this Redis (`Doorbells.pack`): a ring then lands
        with its commit or not at all, and costs the ringer no round trip of its own."""
        self.pack = pack

    async def _run(
        self,
        use_case: Callable[[SliceEngine], T],
        recall: bool = False,
        check: bool = True,
        charge: Charge | None = None,
        **load: object,
    ) -> T:
        """Load, run the core, commit; again on conflict. A `ChatError` leaves no trace.
        With `recall`, the first attempt starts from the values this process recalls (see
        `RedisStore.recalled`) and reads only the rest. Without `check`, an attempt that
        changed nothing is the answer, uncompared (`Commits.commit`). A `charge` is settled
        before the use case runs, usually by a compare-and-set sent with the first read."""
        store = self.store
        known: Mapping[str, str | None] = store.recalled if recall else {}
        ride = self.rates.ride(charge) if charge is not None else None
        if charge is not None and ride is None:  # this process is settling that key already
            await self.rates.admit(charge.key, charge.rate)
        for attempt in range(ATTEMPTS):
            if ride is not None:
                s = await self._load_riding(ride, known, load)
                ride = None
            else:
                s = await store.load(**load, known=known)  # type: ignore[arg-type]
            try:
                result = use_case(s.engine)
            except Exception:
                # A slice is read in a few round trips; if a commit landed between them the
                # core may have met a half-updated world. Only a current slice's error counts.
                if await store.is_current(s):
                    raise
                known = {}  # read it all again: what the last refusal found may be the cause
                continue
            # What a refused commit finds is a good start only for going again at once, which
            # only the first retry does: after a pause others have likely written, and a retry
            # on stale values would lose to every fresh one (starving under contention). A
            # first attempt on recalled values does not count: it read nothing.
            retry = attempt - 1 if recall else attempt
            ringing = Ringing(result, self) if isinstance(result, Outcome) and result.wake else None
            rings = ringing.rings if ringing else None
            if await store.commit(s, current=retry <= 0, rings=rings, check=check):
                store.learn(s.written)
                return ringing.outcome if ringing else result  # type: ignore[return-value]
            store.learn(s.current)
            known = s.current  # empty unless asked for
            await asyncio.sleep(random.random() * 0.001 * min(max(retry, 0), 20))  # spread them
        raise Contention(f"gave up after {ATTEMPTS} conflicting attempts")

    async def _load_riding(
        self, ride: Ride, known: Mapping[str, str | None], load: dict[str, object]
    ) -> Slice:
        """The first load, with the charge's compare-and-set riding along; the limit answers
        before the use case runs."""
        try:
            s: Slice = await self.store.load(**load, known=known, ride=ride.command)  # type: ignore[arg-type]
        except BaseException:
            self.rates.drop_ride(ride)
            raise
        await self.rates.settle_ride(ride, s.ridden)
        return s

    async def enter_queue(
        self, client_id: str | None, display_name: str | None, charge: Charge | None = None
    ) -> Outcome[QueueResult]:
        return await self._run(
            lambda e: e.enter_queue(client_id, display_name),
            charge=charge,
            ids=[client_id],
            queue=True,
            serial=True,
            count=client_id is None,  # a newcomer changes the population
        )

    async def join_room(
        self,
        room_id: str | None,
        display_name: str | None,
        client_id: str | None,
        charge: Charge | None = None,
    ) -> Outcome[JoinResult]:
        return await self._run(
            lambda e: e.join_room(room_id, display_name, client_id),
            charge=charge,
            ids=[client_id],
            rooms=[room_id],
            queue=True,
            serial=True,
            count=True,  # a newcomer changes the population, a new room the number of rooms
        )

    async def send(
        self,
        client_id: str,
        room_id: str | None,
        text: str,
        key: str | None,
        charge: Charge | None = None,
    ) -> Outcome[SendResult]:
        return await self._run(
            lambda e: e.send(client_id, room_id, text, key), charge=charge, ids=[client_id]
        )

    async def begin_wait(
        self, client_id: str, room_id: str | None, after: int | None, channel: str, receipts: bool
    ) -> Outcome[WaitStep]:
        # With the room and its members: what this wait confirms may owe their senders a
        # read receipt (and checking room_id needs the room).
        return await self._run(
            lambda e: e.begin_wait(client_id, room_id, after, channel, receipts),
            recall=True,
            ids=[client_id],
        )

    async def poll(
        self, client_id: str, generation: int, news: Mapping[str, str] | None = None
    ) -> WaitStep:
        if news:
            self.store.learn(news)
        # Unchecked: a look that changes nothing is a wait already answered, and that answer
        # was committed by the change that gave it (`WaitRules.poll`), whatever happened since.
        return await self._run(
            lambda e: e.poll(client_id, generation),
            recall=True,
            check=False,
            ids=[client_id],
            follow=False,
        )

    async def end_wait(self, client_id: str, generation: int) -> None:
        await self._run(
            lambda e: e.end_wait(client_id, generation),
            recall=True,
            ids=[client_id],
            follow=False,
        )

    async def leave(self, client_id: str, room_id: str | None) -> Outcome[LeaveResult]:
        return await self._run(lambda e: e.leave(client_id, room_id), ids=[client_id], queue=True)

    async def status(self, client_id: str) -> StatusResult:
        return await self._run(lambda e: e.status(client_id), ids=[client_id], queue=True)

    async def typing(self, client_id: str) -> None:
        await self._run(lambda e: e.typing(client_id), ids=[client_id])

    async def sweep(self) -> Outcome[int]:
        """One process at a time sweeps (a short lease); the commit's compare-and-set makes a
        second sweeper harmless anyway."""
        lease_ms = max(100, int(self.config.reap_interval * 900))
        if not await self.redis.call(
            "SET", self.store.keys.sweep, os.getpid(), "NX", "PX", lease_ms
        ):
            return Outcome(0)
        return await self.sweep_now()

    async def sweep_now(self) -> Outcome[int]:
        """Sweep without the lease."""
        limit = self.clock() - self.config.idle_timeout
        return await self._run(
            lambda e: e.sweep(), idle_before=limit, queue=True, serial=True, count=True
        )

    async def close_room(self, label: str) -> Outcome[bool]:
        return await self._run(lambda e: e.close_room(label), labels=[label])

    async def snapshot(self, show_names: bool, page: int = 0) -> Snapshot:
        k = self.store.keys
        labels, sent = await self.redis.pipeline([("HGETALL", k.labels), ("GET", k.sent)])
        room_ids = [codec.text(room_id) or "" for _, room_id in codec.pairs(labels)]
        s = await self.store.load(rooms=room_ids, queue=True, members=False, count=True)
        world = s.engine
        world.messages_sent = int(sent or 0)
        world.activity = await self.store.activity(world.clock())
        if show_names:  # the names of one page's members, not of every room's
            by_label = {room.label: room_id for room_id, room in world.rooms.items()}
            shown = [by_label[row.label] for row in take_snapshot(world, False, page).rooms]
            named = await self.store.load(rooms=shown, members=True)
            world.identities.update(named.engine.identities)
        return take_snapshot(world, show_names, page)
