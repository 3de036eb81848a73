"""Waits against the real service and channel layer: races that hit the hand-out window,
doorbells for every kind of event, and waits that always end and leave nothing behind."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from chat.core.results import WaitResult
from chat.services import GONE_HINT, RESTARTING, ChatService
from chat.state import codec
from chat.state.base import ChatState
from chat.state.memory import MemoryChatState
from chat.state.redis import RedisChatState
from mcpchat.devserver import eventually
from tests.integration.conftest import MakeService, pair

NO_TICK = 1000.0  # a re-read tick far beyond every timeout below: only a doorbell can wake


class YieldingState:
    """A state that yields to the event loop before and after every call, as a shared
    backend's network round trips do, so cancellations land between a change and its answer.
    Counts the polls and remembers which task was last handed entries."""

    def __init__(self, inner: ChatState) -> None:
        self.inner = inner
        self.polls = 0

    async def handed_out(self, client_id: str) -> int:
        """How far the state has handed out this client's mailbox, whoever got it."""
        if isinstance(self.inner, MemoryChatState):
            return self.inner.engine.identities[client_id].mailbox.handed_out
        assert isinstance(self.inner, RedisChatState)
        raw = await self.inner.redis.call("GET", self.inner.store.keys.ident(client_id))
        return codec.load_identity(raw).mailbox.handed_out

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        method = getattr(self.inner, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            await asyncio.sleep(0)
            result = await method(*args, **kwargs)
            self.polls += name == "poll"
            await asyncio.sleep(0)
            return result

        return call


def yielding_service(
    make_service: MakeService, **overrides: float
) -> tuple[ChatService, YieldingState]:
    svc = make_service(**overrides)
    state = YieldingState(svc.state)  # type: ignore[arg-type]
    svc.state = state  # type: ignore[assignment]
    return svc, state


def texts(result: WaitResult) -> list[str]:
    return [i.text or "" for i in result.items if i.kind == "message"]


def layer_channels(svc: ChatService) -> list[str]:
    """Wait channels the layer still holds rings for, in this process."""
    return [c for held in svc.bells._buffers() for c in held if c.startswith("mcpchat.wait")]


async def test_cancels_and_timeouts_after_the_hand_out_lose_and_repeat_nothing(
    make_service: MakeService,
) -> None:
    svc, state = yielding_service(make_service, mailbox_size=10_000, progress_interval=0.002)
    a, b = await pair(svc)
    rng = random.Random(11)
    received: list[str] = []
    sent: list[str] = []
    cursor: int | None = 1  # pair() handed out the "joined" event, id 1
    cancelled_after_hand_out = 0
    for i in range(1500):
        before = await state.handed_out(a)
        wait = asyncio.create_task(svc.wait(a, timeout=rng.choice([0, 0.001, 0.004]), after=cursor))
        for _ in range(rng.randrange(4)):
            await asyncio.sleep(0)
        if rng.random() < 0.8:
            sent.append(f"m{i}")
            await svc.send(b, None, sent[-1])
        for _ in range(rng.randrange(6)):
            await asyncio.sleep(0)
        if rng.random() < 0.3:  # a real network round trip's worth, for the Redis backend
            await asyncio.sleep(rng.random() * 0.004)
        handed = False
        if rng.random() < 0.4:
            handed = await state.handed_out(a) > before  # entries it will never return?
            wait.cancel()  # the client went away: whatever it was handed is not confirmed
        try:
            got = await wait
        except asyncio.CancelledError:
            cancelled_after_hand_out += handed
            continue
        received += texts(got)
        cursor = got.last_id if got.last_id is not None else cursor
    final = await svc.wait(a, timeout=0, after=cursor)
    received += texts(final)
    assert received == sent  # every message exactly once, in order
    assert cancelled_after_hand_out > 20  # the window this test is about was really hit
    assert not (await svc.status(a)).waiting
    # A sender that read a waiter's doorbell just before that wait ended rings a channel
    # nobody listens on any more; the sweeper's prune drops such rings.
    svc.bells.prune()
    assert layer_channels(svc) == []


async def test_a_wait_without_progress_does_not_spin(make_service: MakeService) -> None:
    svc, state = yielding_service(make_service, progress_interval=0.05)
    a, _ = await pair(svc)
    polls = state.polls
    await svc.wait(a, timeout=1.0)
    # One poll per tick (about 20) plus the first; a busy loop polls thousands of times.
    assert state.polls - polls < 60


async def test_a_wait_cancelled_while_ringing_the_one_it_replaces_is_not_left_registered(
    make_service: MakeService,
) -> None:
    svc = make_service()
    a, _ = await pair(svc)
    old = asyncio.create_task(svc.wait(a, timeout=30))
    await eventually(_waiting(svc, a), 10, "the first wait to park")
    stuck = asyncio.Event()

    async def ring_forever(channels: object, news: object = None) -> None:
        stuck.set()
        await asyncio.Event().wait()  # a layer whose send never completes

    svc.bells.ring = ring_forever  # type: ignore[method-assign]
    new = asyncio.create_task(svc.wait(a, timeout=30))
    await asyncio.wait_for(stuck.wait(), 10)
    new.cancel()
    with pytest.raises(asyncio.CancelledError):
        await new
    assert (await asyncio.wait_for(old, 30)).status == "superseded"  # on its next tick
    assert not (await svc.status(a)).waiting


async def test_a_wait_whose_client_has_gone_ends_at_once_and_leaves_nothing(
    make_service: MakeService,
) -> None:
    """The client's request ended (a dropped connection): its wait must not run on to its
    timeout. No tick and no ring here, so only noticing `gone` can end it."""
    svc = make_service(progress_interval=NO_TICK)
    a, _ = await pair(svc)
    gone = asyncio.get_running_loop().create_future()
    wait = asyncio.create_task(svc.wait(a, timeout=60, gone=gone))
    await eventually(_waiting(svc, a), 10, "the wait to park")
    gone.set_result(None)
    result = await asyncio.wait_for(wait, 10)
    assert (result.status, result.hint) == ("timeout", GONE_HINT)
    assert not (await svc.status(a)).waiting
    assert not svc.bells.active and not svc.bells.ticks and layer_channels(svc) == []


async def test_shutting_down_answers_every_parked_wait_and_every_new_one_at_once(
    make_service: MakeService,
) -> None:
    svc = make_service(progress_interval=NO_TICK)
    a, b = await pair(svc)
    await svc.wait(b, timeout=0)
    waits = [asyncio.create_task(svc.wait(p, timeout=60)) for p in (a, b)]
    for p in (a, b):
        await eventually(_waiting(svc, p), 10, "the waits to park")
    assert await asyncio.wait_for(svc.answer_waits(grace=30), 20) == 0
    for result in [w.result() for w in waits] + [await svc.wait(a, timeout=60)]:
        assert (result.status, result.hint) == ("timeout", RESTARTING)
    assert not svc.bells.active


async def test_a_ring_that_comes_too_late_leaves_nothing_in_the_layer(
    make_service: MakeService,
) -> None:
    svc = make_service()
    a, _ = await pair(svc)
    end_wait = svc.state.end_wait
    channels: list[str] = []
    new_channel = svc.bells.new_channel

    async def remember(answered: asyncio.Future[None] | None = None) -> str:
        channels.append(await new_channel(answered))
        return channels[-1]

    async def ring_then_end(client_id: str, generation: int) -> None:
        await svc.bells.layer.send(channels[-1], {"type": "chat.ring"})  # after the last read
        await end_wait(client_id, generation)

    svc.bells.new_channel = remember  # type: ignore[method-assign]
    svc.state.end_wait = ring_then_end  # type: ignore[method-assign]
    await svc.wait(a, timeout=0.01)
    assert layer_channels(svc) == []


async def test_two_sends_to_a_parked_wait_arrive_once_and_leave_no_ring(
    make_service: MakeService,
) -> None:
    svc = make_service(progress_interval=NO_TICK)
    a, b = await pair(svc)
    waiting = asyncio.create_task(svc.wait(a, timeout=30, after=1))
    await eventually(_waiting(svc, a), 10, "the wait to park")
    await svc.send(b, None, "one")
    await svc.send(b, None, "two")  # before the waiter resumes, in one process
    got = await asyncio.wait_for(waiting, 30)
    rest = await svc.wait(a, timeout=0, after=got.last_id)
    assert texts(got) + texts(rest) == ["one", "two"]
    assert layer_channels(svc) == []


async def test_a_wait_gone_after_its_answer_gives_it_back_even_without_after(
    make_service: MakeService,
) -> None:
    """The send answers the parked wait in place; its client goes before the answer reaches
    it. The next wait, which does not confirm anything by `after`, still gets the message."""
    svc = make_service(progress_interval=NO_TICK)
    a, b = await pair(svc)
    gone = asyncio.get_running_loop().create_future()
    ring_wait = svc.bells.wait

    async def ring_then_gone(channel: str, timeout: float) -> Any:
        news = await ring_wait(channel, timeout)  # the send's ring: the wait is answered
        gone.set_result(None)  # and its client goes before it can return that answer
        return news

    svc.bells.wait = ring_then_gone  # type: ignore[method-assign]
    waiting = asyncio.create_task(svc.wait(a, timeout=60, gone=gone))
    await eventually(_waiting(svc, a), 10, "the wait to park")
    await svc.send(b, None, "one")
    assert (await asyncio.wait_for(waiting, 30)).status == "timeout"
    assert texts(await svc.wait(a, timeout=0)) == ["one"]


def _waiting(svc: ChatService, client_id: str) -> Callable[[], Awaitable[bool]]:
    async def waiting() -> bool:
        return (await svc.status(client_id)).waiting

    return waiting


async def _parked_wait(svc: ChatService, client_id: str, after: int | None) -> asyncio.Task[Any]:
    task = asyncio.create_task(svc.wait(client_id, timeout=60, after=after))
    await eventually(_waiting(svc, client_id), 10, "the wait to park")
    return task


async def _event(task: asyncio.Task[Any]) -> tuple[str | None, str | None, str | None]:
    got: WaitResult = await asyncio.wait_for(task, 30)
    assert got.status == "delivered", got
    item = got.items[-1]
    return item.event, item.sender, item.reason


async def test_every_event_rings_a_parked_waiter(make_service: MakeService) -> None:
    """With the re-read tick far beyond the waits, only doorbells can wake them."""
    svc = make_service(progress_interval=NO_TICK)
    ann = (await svc.enter_queue(None, "Ann")).client_id
    task = await _parked_wait(svc, ann, None)
    ben = (await svc.enter_queue(None, "Ben")).client_id
    assert await _event(task) == ("matched", "Ben", None)

    task = await _parked_wait(svc, ann, None)
    await svc.enter_queue(ben, None)  # Ben clicks "next"
    assert await _event(task) == ("left", "Ben", "next")

    host = (await svc.join_room("den", "Host")).client_id
    task = await _parked_wait(svc, host, None)
    guest = (await svc.join_room("den", "Guest")).client_id
    assert await _event(task) == ("joined", "Guest", None)

    task = await _parked_wait(svc, host, None)
    await svc.leave(guest, None)
    assert await _event(task) == ("left", "Guest", "left")

    await svc.join_room("den", None, guest)
    await svc.wait(host, timeout=0)
    task = await _parked_wait(svc, host, None)
    den = next(row for row in (await svc.snapshot()).rooms if row.kind == "private")
    assert await svc.close_room(den.label)
    assert await _event(task) == ("room_closed", None, "staff")


async def test_an_idle_partner_reaped_by_the_sweep_rings_the_waiter(
    make_service: MakeService,
) -> None:
    svc = make_service(progress_interval=NO_TICK, idle_timeout=0.5)
    ann = (await svc.join_room("r", "Ann")).client_id
    await svc.join_room("r", "Ghost")
    await svc.wait(ann, timeout=0)
    task = await _parked_wait(svc, ann, None)
    await eventually(svc.sweep, 30, "the ghost to be reaped")
    assert await _event(task) == ("left", "Ghost", "idle")
