"""Every way the original lost messages, each proven against the real service + layer."""

from __future__ import annotations

import asyncio

import pytest

from chat.core.errors import MailboxFull
from chat.services import ChatService
from mcpchat.devserver import eventually
from tests.integration.conftest import MakeService, pair


async def parked(svc: ChatService, client_id: str) -> None:
    """Until the client's wait is registered (it then gets every ring)."""

    async def waiting() -> bool:
        return (await svc.status(client_id)).waiting

    await eventually(waiting, 5, "the wait to park")


def texts(result) -> list[str]:  # type: ignore[no-untyped-def]
    return [i.text for i in result.items if i.kind == "message"]


async def test_message_sent_while_not_waiting_is_kept_for_the_next_wait(svc: ChatService) -> None:
    a, b = await pair(svc)
    await svc.send(b, None, "are you there?")
    got = await svc.wait(a, timeout=0)
    assert got.status == "delivered" and texts(got) == ["are you there?"]


async def test_full_mailbox_is_an_error_for_the_sender_and_nothing_is_dropped(
    make_service: MakeService,
) -> None:
    svc = make_service(mailbox_size=3)
    a, b = await pair(svc)
    for i in range(3):
        await svc.send(b, None, f"m{i}")
    with pytest.raises(MailboxFull, match="Alice has 3 unread"):
        await svc.send(b, None, "m3")
    got = await svc.wait(a, timeout=0)
    assert texts(got) == ["m0", "m1", "m2"]
    await svc.wait(a, timeout=0, after=got.last_id)  # confirming frees the mailbox
    await svc.send(b, None, "m3")


async def test_a_blocked_wait_returns_when_the_message_arrives(svc: ChatService) -> None:
    a, b = await pair(svc)
    waiting = asyncio.create_task(svc.wait(a, timeout=10))
    await parked(svc, a)
    await svc.send(b, None, "hello")
    got = await asyncio.wait_for(waiting, 30)
    assert texts(got) == ["hello"]


async def test_timeout_is_plain_not_an_error(svc: ChatService) -> None:
    a, _ = await pair(svc)
    got = await svc.wait(a, timeout=0.05)
    assert got.status == "timeout" and got.items == [] and "again" in got.hint


async def test_newer_wait_wins_and_the_older_returns_at_once_empty(svc: ChatService) -> None:
    a, b = await pair(svc)
    old = asyncio.create_task(svc.wait(a, timeout=30))
    await parked(svc, a)
    new = asyncio.create_task(svc.wait(a, timeout=30))
    old_result = await asyncio.wait_for(old, 30)
    assert old_result.status == "superseded" and old_result.items == []
    await svc.send(b, None, "only once")
    assert texts(await asyncio.wait_for(new, 30)) == ["only once"]
    assert (await svc.wait(a, timeout=0)).items == []


async def test_entries_handed_to_a_vanished_client_come_again_until_confirmed(
    svc: ChatService,
) -> None:
    a, b = await pair(svc)
    await svc.send(b, None, "one")
    await svc.send(b, None, "two")
    lost = await svc.wait(a, timeout=0)  # the answer never reached the client
    previous_cursor = lost.items[0].id - 1
    again = await svc.wait(a, timeout=0, after=previous_cursor)
    assert texts(again) == ["one", "two"] and again.last_id == lost.last_id
    assert (await svc.wait(a, timeout=0, after=again.last_id)).items == []


async def test_a_wait_without_after_confirms_what_was_handed_out_before(svc: ChatService) -> None:
    a, b = await pair(svc)
    await svc.send(b, None, "one")
    await svc.wait(a, timeout=0)
    await svc.send(b, None, "two")
    assert texts(await svc.wait(a, timeout=0)) == ["two"]


async def test_per_sender_order_under_concurrency(make_service: MakeService) -> None:
    svc = make_service(room_capacity=4, mailbox_size=10_000)
    reader = (await svc.join_room("r", "Reader")).client_id
    senders = [(await svc.join_room("r", f"S{i}")).client_id for i in range(3)]

    async def talk(cid: str, n: int) -> None:
        for k in range(n):
            await svc.send(cid, None, f"{cid}:{k}")
            await asyncio.sleep(0)

    await asyncio.gather(*(talk(s, 200) for s in senders))
    got = await svc.wait(reader, timeout=0)
    for s in senders:
        assert [t for t in texts(got) if t.startswith(s)] == [f"{s}:{k}" for k in range(200)]


async def test_one_wait_returns_a_whole_batch(svc: ChatService) -> None:
    a, b = await pair(svc)
    for i in range(40):
        await svc.send(b, None, f"m{i}")
    got = await svc.wait(a, timeout=5)
    assert len(texts(got)) == 40


async def test_a_lost_doorbell_only_delays_until_the_next_tick(make_service: MakeService) -> None:
    svc = make_service()

    async def drop(channels: object, news: object = None) -> None:
        return None

    svc.bells.ring = drop  # type: ignore[method-assign]
    a, b = await pair(svc)
    waiting = asyncio.create_task(svc.wait(a, timeout=10))
    await parked(svc, a)
    await svc.send(b, None, "rescued by the tick")
    assert texts(await asyncio.wait_for(waiting, 30)) == ["rescued by the tick"]


async def test_progress_is_reported_while_waiting(svc: ChatService) -> None:
    a, _ = await pair(svc)
    ticks: list[tuple[float, float]] = []

    async def progress(elapsed: float, total: float) -> None:
        ticks.append((elapsed, total))

    await svc.wait(a, timeout=3, progress=progress)  # ticks every 0.05 s
    assert len(ticks) >= 3
    assert all(total == 3 for _, total in ticks)
    assert [e for e, _ in ticks] == sorted(e for e, _ in ticks)


async def test_ttl_expiry_frees_room_for_senders(make_service: MakeService) -> None:
    svc = make_service(mailbox_size=2, message_ttl=0.5)
    a, b = await pair(svc)
    await svc.send(b, None, "old 1")
    await svc.send(b, None, "old 2")
    with pytest.raises(MailboxFull):
        await svc.send(b, None, "refused")

    async def accepted() -> bool:
        try:
            await svc.send(b, None, "fresh")
        except MailboxFull:
            return False
        return True

    await eventually(accepted, 30, "the old messages to expire")
    assert texts(await svc.wait(a, timeout=0)) == ["fresh"]
