"""The monitor under thousands of rooms: a snapshot (and so every push) carries totals and one
page of rooms, busiest first, whatever the number of rooms; on every backend."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

import pytest
from django.contrib.auth.models import User

from chat import runtime
from chat.core.snapshot import ROOMS_PER_PAGE
from tests.integration.conftest import MakeService
from tests.integration.test_monitor import fresh_state, monitor, staff  # noqa: F401


async def test_a_snapshot_is_one_page_of_rooms_busiest_first(make_service: MakeService) -> None:
    svc = make_service()
    for i in range(2 * ROOMS_PER_PAGE + 10):
        await svc.join_room(f"room-{i}", f"P{i}")
    a = (await svc.join_room("busy", "Ann")).client_id
    await svc.join_room("busy", "Ben")
    for i in range(5):  # older rooms, then one with a fresh message
        await svc.join_room(f"room-{i}", f"Q{i}")
    await svc.send(a, None, "hello")
    first = await svc.snapshot(show_names=True)
    assert first.active_rooms == 2 * ROOMS_PER_PAGE + 11
    assert (len(first.rooms), first.page, first.pages) == (ROOMS_PER_PAGE, 0, 3)
    assert first.rooms[0].messages == 1 and first.rooms[0].names == ["Ann", "Ben"]
    last = await svc.snapshot(show_names=True, page=2)
    assert (len(last.rooms), last.page) == (11, 2)
    assert all(row.names for row in last.rooms)  # names of the page shown, on Redis too
    labels = {r.label for page in range(3) for r in (await svc.snapshot(page=page)).rooms}
    assert len(labels) == first.active_rooms  # every room is on exactly one page
    assert (await svc.snapshot(page=99)).page == 2


@pytest.mark.django_db(transaction=True)
async def test_a_push_stays_small_with_thousands_of_rooms(monitor: Any, staff: User) -> None:  # noqa: F811
    svc = runtime.service()
    for i in range(2400):  # just under the default room cap
        await svc.join_room(f"attacker-{i}", "Bot")
    ws = await monitor(staff)
    assert (await ws.connect())[0]
    pushed = await ws.receive_json_from(timeout=30)
    assert pushed["snapshot"]["active_rooms"] == 2400
    assert len(pushed["snapshot"]["rooms"]) == ROOMS_PER_PAGE
    assert len(json.dumps(pushed)) < 20_000  # all 2,400 rows: 274 KB
    await ws.send_json_to({"action": "page", "page": 7})
    turned = await ws.receive_json_from(timeout=30)
    while turned["snapshot"]["page"] != 7:
        turned = await ws.receive_json_from(timeout=30)
    assert turned["snapshot"]["pages"] == 48
    assert {r["label"] for r in turned["snapshot"]["rooms"]}.isdisjoint(
        r["label"] for r in pushed["snapshot"]["rooms"]
    )
    assert asdict(await svc.snapshot(page=7)).keys() == turned["snapshot"].keys()
