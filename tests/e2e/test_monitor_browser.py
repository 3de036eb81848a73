"""Staff watch the live monitor in a real browser while real MCP clients chat."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import InvalidStatus

from mcpchat.devserver import ROOT, Server
from tests.e2e.clients import connect

OUTPUT = Path(os.environ.get("MCPCHAT_TEST_OUTPUT", ROOT / "test-output"))


def create_staff(server: Server, username: str = "ops", password: str = "pw-ops-1234") -> None:
    env = {
        **os.environ,
        "DJANGO_SQLITE_PATH": str(server.workdir / "db.sqlite3"),
        **server.env,
        "DJANGO_SUPERUSER_USERNAME": username,
        "DJANGO_SUPERUSER_PASSWORD": password,
        "DJANGO_SUPERUSER_EMAIL": "ops@example.com",
    }
    subprocess.run(
        [sys.executable, "manage.py", "createsuperuser", "--noinput"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )


async def log_in(page: Page, server: Server) -> None:
    await page.goto(f"{server.base_url}/admin/login/?next=/admin/")
    await page.fill("#id_username", "ops")
    await page.fill("#id_password", "pw-ops-1234")
    await page.click("input[type=submit]")
    await page.get_by_role("link", name="Live chat monitor").click()
    await expect(page.locator("#monitor-status")).to_have_text("Live")


def figure(page: Page, name: str) -> Any:
    return page.locator(f'[data-figure="{name}"]')


async def test_staff_watch_chats_live_and_close_a_room(server: Server, browser: Browser) -> None:
    create_staff(server)
    page = await browser.new_page(viewport={"width": 1200, "height": 900})
    await log_in(page, server)
    await expect(figure(page, "online")).to_have_text("0")
    loads = []
    page.on("load", lambda _: loads.append(1))

    async with connect("fastmcp", server.mcp_url) as a, connect("mcp-sdk", server.mcp_url) as b:
        alice = await a.call("enter_queue", display_name="Alice")
        await expect(figure(page, "queue_length")).to_have_text("1")
        await expect(figure(page, "online")).to_have_text("1")
        bob = await b.call("enter_queue", display_name="Bob")
        await expect(figure(page, "active_rooms")).to_have_text("1")
        await expect(figure(page, "people_in_rooms")).to_have_text("2")
        await expect(figure(page, "queue_length")).to_have_text("0")
        for text in ("hello there", "general kenobi"):
            await b.call("send_message", client_id=bob["client_id"], message=text)
        await expect(figure(page, "messages_per_minute")).to_have_text("2")
        row = page.locator("#monitor-rooms tbody tr")
        await expect(row).to_have_count(1)
        await expect(row.locator("td").nth(5)).to_have_text("2")
        content = await page.content()
        for secret in (
            "hello there",
            alice["client_id"],
            bob["client_id"],
            bob["room_id"],
            "Alice",
        ):
            assert secret not in content
        OUTPUT.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(OUTPUT / "monitor.png"), full_page=True)

        page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
        await row.get_by_role("button", name="Close room").click()
        await expect(figure(page, "active_rooms")).to_have_text("0")
        await expect(page.locator("#monitor-empty")).to_be_visible()
        got = await a.call("wait_for_message", client_id=alice["client_id"], timeout=5)
        assert [i["event"] for i in got["items"]][-1] == "room_closed"
        assert "not in a room" in await b.fail(
            "send_message", client_id=bob["client_id"], message="anyone?"
        )
    assert loads == []  # everything above arrived without a page reload

    response = await page.goto(f"{server.base_url}/admin/monitor/snapshot.json")
    assert response is not None and response.status == 200
    snapshot = await response.json()
    assert (snapshot["online"], snapshot["active_rooms"], snapshot["messages_total"]) == (2, 0, 2)


async def test_the_page_says_when_the_socket_drops_and_reconnects(
    server: Server, browser: Browser
) -> None:
    create_staff(server)
    page = await browser.new_page()
    await log_in(page, server)
    server.stop()
    await expect(page.locator("#monitor-status")).to_contain_text("Disconnected")
    server.start()  # same port, same database: the session cookie still holds
    await expect(page.locator("#monitor-status")).to_have_text("Live", timeout=20_000)
    async with connect("fastmcp", server.mcp_url) as a:
        await a.call("enter_queue", display_name="Late")
    await expect(figure(page, "online")).to_have_text("1")


async def test_anonymous_websocket_is_refused_through_the_real_stack(server: Server) -> None:
    url = f"ws://127.0.0.1:{server.port}/ws/monitor/"
    with pytest.raises(InvalidStatus) as refused:
        async with ws_connect(url, origin=server.base_url):  # type: ignore[arg-type]
            pass
    assert refused.value.response.status_code == 403


async def test_the_monitor_shows_the_whole_cluster_and_closes_rooms_anywhere(
    cluster: list[Server], browser: Browser
) -> None:
    p0, p1 = cluster
    create_staff(p1)
    page = await browser.new_page(viewport={"width": 1200, "height": 900})
    await log_in(page, p1)  # staff watch process 1; everyone chats on process 0
    async with connect("fastmcp", p0.mcp_url) as a, connect("mcp-sdk", p0.mcp_url) as b:
        alice = await a.call("enter_queue", display_name="Alice")
        bob = await b.call("enter_queue", display_name="Bob")
        await b.call("send_message", client_id=bob["client_id"], message="over here")
        await expect(figure(page, "online")).to_have_text("2")
        await expect(figure(page, "active_rooms")).to_have_text("1")
        await expect(figure(page, "messages_per_minute")).to_have_text("1")
        row = page.locator("#monitor-rooms tbody tr")
        await expect(row).to_have_count(1)
        page.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
        await row.get_by_role("button", name="Close room").click()
        await expect(figure(page, "active_rooms")).to_have_text("0")
        got = await a.call("wait_for_message", client_id=alice["client_id"], timeout=20)
        assert [i["event"] for i in got["items"]][-1] == "room_closed"
    response = await page.goto(f"{p0.base_url}/admin/monitor/snapshot.json")  # same login
    assert response is not None and response.status == 200
    snapshot = await response.json()
    assert (snapshot["online"], snapshot["active_rooms"], snapshot["messages_total"]) == (2, 0, 1)
