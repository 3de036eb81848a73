"""Rate limits and caps, on every backend: hit one, get its code and when to retry, recover
after the window; existing chats go on past a cap. On Redis they hold across processes."""

from __future__ import annotations

import asyncio

import pytest

from chat.core.errors import RateLimited, ServerFull
from chat.services import ChatService
from chat.state.memory import MemoryChatState
from mcpchat.devserver import eventually
from tests.integration.conftest import MakeService, pair


def processes(make_service: MakeService, **config: float) -> tuple[ChatService, ChatService]:
    """Two server processes sharing one chat (on Redis); in memory, one process twice."""
    first = make_service(**config)
    if isinstance(first.state, MemoryChatState):
        return first, first
    return first, make_service(**config)


async def recovers(call: object) -> None:
    async def admitted() -> bool:
        try:
            await call()  # type: ignore[operator]
        except RateLimited:
            return False
        return True

    await eventually(admitted, 30, "the limit to let a call through again")


async def test_a_client_id_sending_too_fast_is_told_when_to_retry(
    make_service: MakeService,
) -> None:
    one, two = processes(make_service, send_rate=2.0, send_burst=3)
    ann, ben = await pair(one)
    for i in range(3):  # the burst, alternating processes
        await (one if i % 2 else two).send(ben, None, f"hi {i}")
    with pytest.raises(RateLimited) as refused:
        await one.send(ben, None, "one too many")
    assert refused.value.code == "rate_limited"
    assert 0 < float(refused.value.details["retry_after"]) <= 0.5 + 0.01
    assert "try again in" in refused.value.message
    got = (await two.wait(ann, timeout=0)).items
    assert [i.text for i in got if i.kind == "message"] == [
        "hi 0",
        "hi 1",
        "hi 2",
    ]  # not "one too many"
    await one.send(ann, None, "others are not limited by Ben's sending")
    await recovers(lambda: two.send(ben, None, "later"))


async def test_waits_per_client_id_are_limited(make_service: MakeService) -> None:
    one, two = processes(make_service, wait_rate=2.0, wait_burst=2)
    ann, _ = await pair(one)  # pair() took one wait
    await two.wait(ann, timeout=0)
    with pytest.raises(RateLimited):
        await one.wait(ann, timeout=0)
    await recovers(lambda: two.wait(ann, timeout=0))


async def test_messages_per_address_are_limited_across_client_ids(
    make_service: MakeService,
) -> None:
    one, two = processes(make_service, address_send_rate=1.0, address_send_burst=2)
    ann, ben = await pair(one)
    await one.send(ann, None, "1", address="203.0.113.9")
    await two.send(ben, None, "2", address="203.0.113.9")
    with pytest.raises(RateLimited) as refused:
        await one.send(ann, None, "3", address="203.0.113.9")
    assert "from your address" in refused.value.message
    await two.send(ben, None, "another address is not limited", address="198.51.100.1")
    await recovers(lambda: two.send(ann, None, "later", address="203.0.113.9"))


async def test_a_send_refused_by_its_address_limit_lands_nowhere(
    make_service: MakeService,
) -> None:
    one, two = processes(make_service, address_send_rate=1 / 60, address_send_burst=1)
    ann, ben = await pair(one)
    await one.send(ben, None, "admitted", address="203.0.113.9")
    with pytest.raises(RateLimited):
        await two.send(ben, None, "refused", address="203.0.113.9")
    with pytest.raises(RateLimited):  # the limit answers first, whatever else is wrong
        await two.send("no-such-client", None, "refused too", address="203.0.113.9")
    got = (await one.wait(ann, timeout=0)).items
    assert [i.text for i in got if i.kind == "message"] == ["admitted"]


async def test_a_crowd_behind_one_address_gets_exactly_its_burst(
    make_service: MakeService,
) -> None:
    one, two = processes(
        make_service, address_send_rate=1 / 60, address_send_burst=10, send_burst=100
    )
    ann, ben = await pair(one)

    async def send(i: int) -> bool:
        try:
            await (one if i % 2 else two).send(ben, None, f"m{i}", address="203.0.113.9")
        except RateLimited:
            return False
        return True

    admitted = await asyncio.gather(*(send(i) for i in range(30)))  # all at once
    assert sum(admitted) == 10
    got = (await one.wait(ann, timeout=0)).items
    assert sorted(i.text or "" for i in got if i.kind == "message") == sorted(
        f"m{i}" for i, ok in enumerate(admitted) if ok
    )


async def test_new_client_ids_per_address_are_limited(make_service: MakeService) -> None:
    one, two = processes(make_service, address_identity_rate=600.0, address_identity_burst=2)
    await one.enter_queue(None, "A", address="203.0.113.9")
    await two.join_room(None, "B", address="203.0.113.9")
    with pytest.raises(RateLimited):
        await one.enter_queue(None, "C", address="203.0.113.9")
    await two.enter_queue(None, "D", address="198.51.100.1")
    await recovers(lambda: one.join_room(None, "E", address="203.0.113.9"))


async def test_past_the_identity_cap_newcomers_wait_while_chats_go_on(
    make_service: MakeService,
) -> None:
    one, two = processes(make_service, max_identities=2)
    ann, ben = await pair(one)
    with pytest.raises(ServerFull) as full:
        await two.enter_queue(None, "Cid")
    assert full.value.code == "server_full" and "try again" in full.value.message
    with pytest.raises(ServerFull):
        await one.join_room("elsewhere", "Dot")
    await two.send(ann, None, "we still talk")
    assert (await one.wait(ben, timeout=0)).items[-1].text == "we still talk"
    await one.leave(ann, None)
    await two.sweep()  # nothing idle yet: the cap counts people online
    with pytest.raises(ServerFull):
        await two.enter_queue(None, "Cid")


async def test_a_full_room_or_queue_cap_refuses_only_newcomers(make_service: MakeService) -> None:
    one, two = processes(make_service, max_rooms=1, max_queue=1)
    ann = (await one.join_room("first", "Ann")).client_id
    with pytest.raises(ServerFull):
        await two.join_room("second", "Ben")
    ben = (await two.join_room("first", "Ben")).client_id  # an existing room still takes people
    await one.send(ann, None, "still talking")
    await one.leave(ann, None)
    await two.leave(ben, None)  # the room is gone: room for one again
    await one.enter_queue(ann, None)
    assert (await two.enter_queue(ben, None)).status == "matched"
    assert (await one.enter_queue(ann, None)).status == "waiting"  # "next": they avoid each other
    with pytest.raises(ServerFull) as full:  # Ben would only wait in the full queue
        await two.enter_queue(ben, None)
    assert "queue" in full.value.message
    assert (await one.enter_queue(None, "Cid")).status == "matched"  # a newcomer pairs at once


async def test_a_crowd_behind_one_address_gets_exactly_the_burst(
    make_service: MakeService,
) -> None:
    # Many people behind one address (a NAT, an agent host) sending at the same moment
    # through two processes: the limit counts each of them once, no more and no fewer.
    one, two = processes(make_service, address_send_rate=1 / 60, address_send_burst=100)
    senders = []
    for i in range(150):
        senders.append((await one.join_room(f"room-{i}", "Ann")).client_id)
        await two.join_room(f"room-{i}", "Ben")

    async def send(i: int, sender: str) -> bool:
        try:
            await (one, two)[i % 2].send(sender, None, f"hi {i}", address="203.0.113.9")
        except RateLimited:
            return False
        return True

    sent = await asyncio.gather(*(send(i, ann) for i, ann in enumerate(senders)))
    assert sum(sent) == 100
