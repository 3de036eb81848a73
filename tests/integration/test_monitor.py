"""The staff monitor: who may see it (page, JSON, websocket), what it shows, and closing a
room from it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser, User
from django.test import Client

from chat import runtime
from chat.consumers import REFUSED, MonitorConsumer
from chat.routing import websocket_application


@pytest.fixture(autouse=True)
def fresh_state() -> Iterator[None]:
    runtime.reset_service()
    yield
    runtime.reset_service()


@pytest.fixture
def staff(django_user_model: type[User]) -> User:
    return django_user_model.objects.create_user("staff", password="pw", is_staff=True)


@pytest.fixture
def member(django_user_model: type[User]) -> User:
    return django_user_model.objects.create_user("member", password="pw")


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/admin/monitor/", "/admin/monitor/snapshot.json"])
def test_anonymous_and_non_staff_get_the_login_page(
    client: Client, member: User, path: str
) -> None:
    response = client.get(path)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    client.force_login(member)
    response = client.get(path)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.django_db
def test_staff_see_the_page_linked_from_the_admin_index(client: Client, staff: User) -> None:
    client.force_login(staff)
    index = client.get("/admin/").content.decode()
    assert 'href="/admin/monitor/"' in index and "Live chat monitor" in index
    page = client.get("/admin/monitor/").content.decode()
    assert "Live chat monitor" in page and "monitor.js" in page and 'id="user-tools"' in page


async def chatting() -> dict[str, str]:
    svc = runtime.service()
    a = await svc.enter_queue(None, "Alice")
    b = await svc.enter_queue(None, "Bob")
    await svc.send(b.client_id, None, "the secret text")
    return {"a": a.client_id, "b": b.client_id, "room": b.room_id or ""}


@pytest.mark.django_db(transaction=True)
async def test_json_snapshot_counts_and_hides_secrets(client: Client, staff: User) -> None:
    ids = await chatting()
    await sync_to_async(client.force_login)(staff)
    response = await sync_to_async(client.get)("/admin/monitor/snapshot.json")
    body = response.content.decode()
    data = json.loads(body)
    assert (data["online"], data["active_rooms"], data["messages_total"]) == (2, 1, 1)
    for secret in [*ids.values(), "the secret text", "Alice"]:
        assert secret not in body


@pytest.fixture
async def monitor() -> AsyncIterator[Any]:
    opened: list[WebsocketCommunicator] = []

    async def open_as(user: Any) -> WebsocketCommunicator:
        communicator = WebsocketCommunicator(MonitorConsumer.as_asgi(), "/ws/monitor/")
        communicator.scope["user"] = user
        opened.append(communicator)
        return communicator

    yield open_as
    for communicator in opened:
        await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_websocket_refuses_anonymous_and_non_staff(monitor: Any, member: User) -> None:
    for user in (AnonymousUser(), member):
        connected, code = await (await monitor(user)).connect()
        assert not connected and code == REFUSED


@pytest.mark.django_db(transaction=True)
async def test_websocket_pushes_changes_and_closes_rooms(monitor: Any, staff: User) -> None:
    ws = await monitor(staff)
    connected, _ = await ws.connect()
    assert connected
    first = await ws.receive_json_from(timeout=30)
    assert first["snapshot"]["online"] == 0
    ids = await chatting()
    pushed = await ws.receive_json_from(timeout=30)  # pushed on change
    assert pushed["snapshot"]["active_rooms"] == 1
    raw = json.dumps(pushed)
    for secret in [*ids.values(), "the secret text", "Alice"]:
        assert secret not in raw
    label = pushed["snapshot"]["rooms"][0]["label"]
    await ws.send_json_to({"action": "close_room", "label": label})
    reply = await ws.receive_json_from(timeout=30)
    while reply["type"] != "closed":
        reply = await ws.receive_json_from(timeout=30)
    assert reply == {"type": "closed", "label": label, "ok": True}
    got = await runtime.service().wait(ids["a"], timeout=0)
    assert [i.event for i in got.items][-1] == "room_closed"
    assert (await runtime.service().status(ids["b"])).state == "idle"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("origin", "code"),
    [
        (b"http://evil.example", 1000),  # refused by the Origin check, before any consumer
        (b"http://attacker.localhost.evil:8000", 1000),
        (b"http://127.0.0.1:8000", REFUSED),  # same host: reaches the consumer (not staff)
    ],
)
async def test_websocket_checks_the_origin_first(origin: bytes, code: int) -> None:
    communicator = WebsocketCommunicator(
        websocket_application(), "/ws/monitor/", headers=[(b"origin", origin)]
    )
    connected, close_code = await communicator.connect()
    assert not connected and close_code == code
