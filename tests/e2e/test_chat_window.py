"""The chat window (MCP App) in real Chromium, hosted by a small page built on the SDK's own
host side (AppBridge) and MCP client, against a real mcpchat server: two windows chat."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, FrameLocator, Page, Route, expect

from mcpchat.devserver import ROOT, Server
from tests.e2e.clients import connect

HOST_FILES = Path(__file__).parent / "apphost"
OUTPUT = Path(os.environ.get("MCPCHAT_TEST_OUTPUT", ROOT / "test-output"))
LONG = 60_000  # ms: generous, these machines are slow and shared


@pytest.fixture
def app_server(tmp_path: Path) -> Iterator[Server]:
    """A server whose own origin may call /mcp, as the test host page runs there."""
    srv = Server(tmp_path)
    srv.env["MCPCHAT_ALLOWED_ORIGINS"] = srv.base_url
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
async def host(browser: Browser, app_server: Server) -> AsyncIterator[Page]:
    """The test host page, served on the server's origin (so /mcp is same-origin)."""
    page = await browser.new_page(viewport={"width": 760, "height": 540})

    async def serve(route: Route) -> None:
        name = route.request.url.rsplit("/", 1)[-1]
        kind = "text/html" if name.endswith(".html") else "text/javascript"
        await route.fulfill(body=(HOST_FILES / name).read_bytes(), content_type=kind)

    await page.route(f"{app_server.base_url}/__host__/*", serve)
    await page.goto(f"{app_server.base_url}/__host__/host.html")
    yield page
    await page.close()


async def open_window(page: Page, key: str, tool: str, args: dict[str, Any]) -> FrameLocator:
    result = await page.evaluate("([k, t, a]) => host.open(k, t, a)", [key, tool, args])
    assert "chat window" in result["hint"]  # the host said it shows apps: the model knows
    return page.frame_locator(f'iframe[title="{key}"]')


async def say(window: FrameLocator, *lines: str) -> None:
    """Type lines into the window's input (Shift+Enter between them) and press Enter."""
    box = window.locator("#input")
    for i, line in enumerate(lines):
        if i:
            await box.press("Shift+Enter")
        await box.press_sequentially(line)
    await box.press("Enter")


def theirs(window: FrameLocator) -> Any:
    return window.locator(".msg.theirs .bubble")


def member(window: FrameLocator, name: str) -> Any:
    return window.locator(".member", has_text=name)


async def test_two_windows_chat_with_receipts_presence_and_sharing(host: Page) -> None:
    ann = await open_window(host, "ann", "join_room", {"room_id": "den", "display_name": "Ann"})
    bob = await open_window(host, "bob", "join_room", {"room_id": "den", "display_name": "Bob"})
    await expect(ann.locator("#room-id")).to_have_text(
        "den", timeout=LONG
    )  # a private room: id to share
    await expect(ann.locator(".system").last).to_have_text("Bob joined the room.", timeout=LONG)

    await say(ann, "hello Bob")
    await expect(theirs(bob)).to_have_text(["hello Bob"], timeout=LONG)
    await expect(bob.locator(".msg.theirs .meta")).to_contain_text("Ann", timeout=LONG)
    # Bob's window confirms what it got on its next wait: Ann sees her message read.
    await expect(ann.locator(".msg.mine .status")).to_have_text("Read by Bob", timeout=LONG)

    await bob.locator("#input").press_sequentially("hi Ann")  # not sent yet: Ann sees typing
    await expect(member(ann, "Bob")).to_have_attribute("data-presence", "typing", timeout=LONG)
    await bob.locator("#input").fill("")
    await say(bob, "hi Ann", "second line")
    await expect(theirs(ann)).to_have_text(["hi Ann\nsecond line"], timeout=LONG)
    await expect(bob.locator(".msg.mine .bubble")).to_have_text(
        ["hi Ann\nsecond line"], timeout=LONG
    )
    await expect(bob.locator(".msg.mine .status")).to_have_text("Read by Ann", timeout=LONG)

    await expect(member(ann, "Bob")).to_have_attribute("data-presence", "listening", timeout=LONG)
    # Nothing reaches the model unless the person asks; then the conversation does.
    assert await host.evaluate("host.modelContext('ann')") == []
    await ann.locator("#share").click()
    await expect(ann.locator("#notice")).to_have_text("Shared with the assistant.", timeout=LONG)
    shared = await host.evaluate("host.modelContext('ann')")
    assert len(shared) == 1 and "Ann: hello Bob" in shared[0], shared
    assert "Bob: hi Ann\nsecond line" in shared[0], shared

    await host.evaluate("host.close('bob')")  # Bob's window goes: he stops listening
    await expect(member(ann, "Bob")).to_have_attribute("data-presence", "away", timeout=LONG)


async def test_next_meets_someone_new_and_leave_ends_the_chat(host: Page) -> None:
    ann = await open_window(host, "ann", "enter_queue", {"display_name": "Ann"})
    await expect(ann.locator(".system").first).to_have_text(
        "Looking for someone to chat with…", timeout=LONG
    )
    bob = await open_window(host, "bob", "enter_queue", {"display_name": "Bob"})
    await expect(bob.locator(".system").first).to_have_text(
        "You are chatting with Ann. Say hi!", timeout=LONG
    )
    await expect(ann.locator(".system").last).to_have_text(
        "You are chatting with Bob. Say hi!", timeout=LONG
    )
    await expect(ann.locator("#room")).to_be_hidden(
        timeout=LONG
    )  # a matched room has no id to share

    await ann.locator("#next").click()
    await expect(bob.locator(".system").last).to_have_text("Ann left.", timeout=LONG)
    await expect(member(bob, "Ann")).to_have_attribute("data-presence", "gone", timeout=LONG)
    cara = await open_window(host, "cara", "enter_queue", {"display_name": "Cara"})
    await expect(cara.locator(".system").first).to_have_text(
        "You are chatting with Ann. Say hi!", timeout=LONG
    )
    await expect(ann.locator(".system").last).to_have_text(
        "You are chatting with Cara. Say hi!", timeout=LONG
    )
    await say(cara, "hi, I am Cara")
    await expect(theirs(ann)).to_have_text(["hi, I am Cara"], timeout=LONG)

    await cara.locator("#leave").click()
    await expect(cara.locator(".system").last).to_have_text(
        "You left. Press Next to meet someone new.", timeout=LONG
    )
    await expect(cara.locator("#input")).to_be_disabled(timeout=LONG)
    await expect(ann.locator(".system").last).to_have_text("Cara left.", timeout=LONG)


async def test_the_windows_rejoin_after_the_server_restarts(host: Page, app_server: Server) -> None:
    ann = await open_window(host, "ann", "join_room", {"room_id": "den", "display_name": "Ann"})
    bob = await open_window(host, "bob", "join_room", {"room_id": "den", "display_name": "Bob"})
    await say(ann, "before")
    await expect(theirs(bob)).to_have_text(["before"], timeout=LONG)

    app_server.restart()  # the in-process chat state is gone: both windows must come back
    for window in (ann, bob):
        await expect(window.locator(".system", has_text="The server restarted")).to_have_count(
            1, timeout=LONG
        )
    await expect(member(ann, "Bob")).to_have_attribute("data-presence", "listening", timeout=LONG)
    await say(ann, "after")
    await expect(theirs(bob)).to_have_text(["before", "after"], timeout=LONG)
    await say(bob, "still here")
    await expect(theirs(ann)).to_have_text(["still here"], timeout=LONG)


HOSTILE = [
    "<img src=x onerror=\"window.parent.pwned=1;document.title='pwned'\">",
    "<script>window.parent.pwned=2</script><b>bold?</b>",
    "&lt;escaped&gt; &amp; \\u003cscript\\u003e {{ template }} ${1+1}",
    "\u202eevil\u202c and javascript:alert(1)",
]


async def test_hostile_messages_are_shown_as_text(host: Page, app_server: Server) -> None:
    ann = await open_window(host, "ann", "join_room", {"room_id": "den", "display_name": "Ann"})
    async with connect("fastmcp", app_server.mcp_url) as mallory:
        joined = await mallory.call("join_room", room_id="den", display_name="<i>Mallory</i>")
        for text in HOSTILE:
            await mallory.call("send_message", client_id=joined["client_id"], message=text)
    await expect(theirs(ann)).to_have_text(HOSTILE, timeout=LONG)
    await expect(ann.locator(".msg.theirs .meta").first).to_contain_text(
        "<i>Mallory</i>", timeout=LONG
    )
    assert await ann.locator("#log img, #log script, #log b, #log i").count() == 0
    assert await host.evaluate("window.pwned") is None


async def test_the_window_follows_the_host_theme(host: Page) -> None:
    ann = await open_window(host, "ann", "join_room", {"room_id": "den", "display_name": "Ann"})
    bob = await open_window(host, "bob", "join_room", {"room_id": "den", "display_name": "Bob"})
    await say(ann, "Hi Bob! Did you see the match last night?")
    await expect(theirs(bob)).to_have_count(1, timeout=LONG)
    await say(bob, "I did, what a finish.", "Extra time, too!")
    await expect(theirs(ann)).to_have_count(1, timeout=LONG)
    await expect(ann.locator(".msg.mine .status")).to_have_text("Read by Bob", timeout=LONG)
    await expect(member(ann, "Bob")).to_have_attribute("data-presence", "listening", timeout=LONG)

    def background() -> Any:
        return ann.locator("body").evaluate("b => getComputedStyle(b).backgroundColor")

    light = await background()
    OUTPUT.mkdir(parents=True, exist_ok=True)
    await host.locator('iframe[title="ann"]').screenshot(path=OUTPUT / "window-light.png")
    await host.evaluate("host.theme('ann', 'dark')")
    await expect(ann.locator("html")).to_have_attribute("data-theme", "dark", timeout=LONG)
    dark = await background()
    await host.locator('iframe[title="ann"]').screenshot(path=OUTPUT / "window-dark.png")
    assert (light, dark) == ("rgb(255, 255, 255)", "rgb(31, 31, 31)")
