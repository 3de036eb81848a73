"""A message's latency is the sender's request half plus the waiter's answer: the waiter's
answer goes out before the sender's own, when both are in this process."""

from __future__ import annotations

import asyncio

from chat.core.results import WaitResult
from mcpchat.devserver import eventually
from tests.integration.conftest import MakeService, pair


async def test_a_woken_wait_answers_before_its_sender(make_service: MakeService) -> None:
    svc = make_service()
    svc.bells.answer_first = 60  # generous: the order is under test, not the bound
    a, b = await pair(svc)
    answered = asyncio.get_running_loop().create_future()  # as McpMount: the request ended

    async def wait() -> WaitResult:
        try:
            return await svc.wait(a, timeout=60, after=1, gone=answered)
        finally:
            answered.set_result(None)

    waiting = asyncio.create_task(wait())

    async def parked() -> bool:
        return (await svc.status(a)).waiting

    await eventually(parked, 10, "the wait to park")
    await svc.send(b, None, "first out")
    assert waiting.done()  # its answer was out before send_message returned
    assert [i.text for i in waiting.result().items] == ["first out"]


async def test_a_ringer_does_not_wait_for_waits_in_no_request(make_service: MakeService) -> None:
    svc = make_service()
    svc.bells.answer_first = 60
    a, b = await pair(svc)
    waiting = asyncio.create_task(svc.wait(a, timeout=60, after=1))  # no HTTP request

    async def parked() -> bool:
        return (await svc.status(a)).waiting

    await eventually(parked, 10, "the wait to park")
    await asyncio.wait_for(svc.send(b, None, "hi"), 30)
    assert [i.text for i in (await asyncio.wait_for(waiting, 30)).items] == ["hi"]
