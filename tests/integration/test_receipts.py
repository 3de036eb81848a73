"""Read receipts and presence through the service, on every backend: a parked sender is
woken by the receipt, and presence follows the waits."""

from __future__ import annotations

import asyncio

from chat.services import ChatService
from mcpchat.devserver import eventually
from tests.integration.conftest import pair


async def test_a_parked_sender_wakes_with_a_read_receipt(svc: ChatService) -> None:
    a, b = await pair(svc)
    await svc.wait(b, timeout=0, receipts=True)  # Bob asks for receipts (nothing pending)
    sent = await svc.send(b, None, "did you get this?")
    got = await svc.wait(a, timeout=0)  # Alice is handed the message, not yet confirmed
    bob_waits = asyncio.ensure_future(svc.wait(b, timeout=30, receipts=True))

    async def bob_listening() -> bool:
        return [m.presence for m in (await svc.status(a)).presence] == ["listening"]

    await eventually(bob_listening, 10, "Bob's wait to park")
    await svc.wait(a, timeout=0, after=got.last_id)  # Alice confirms: she has read it
    receipt = await asyncio.wait_for(bob_waits, 20)
    assert [(i.event, i.sender, i.message_id) for i in receipt.items] == [
        ("read", "Alice", sent.message_id)
    ]


async def test_a_sender_learns_whether_anyone_is_listening(svc: ChatService) -> None:
    a, b = await pair(svc)
    status = await svc.status(b)
    assert [(m.name, m.presence) for m in status.presence] == [("Alice", "listening")]
    waiting = asyncio.ensure_future(svc.wait(a, timeout=30))

    async def alice_parked() -> bool:
        return (await svc.status(a)).waiting

    await eventually(alice_parked, 10, "Alice's wait to park")
    assert (await svc.send(b, None, "hi")).listening == 1
    assert [i.text for i in (await asyncio.wait_for(waiting, 20)).items] == ["hi"]


async def test_typing_is_seen_by_the_others(svc: ChatService) -> None:
    a, b = await pair(svc)
    await svc.typing(a)
    assert [m.presence for m in (await svc.status(b)).presence] == ["typing"]
