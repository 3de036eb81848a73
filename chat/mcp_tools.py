"""The MCP tools: thin adapters that validate, call one service and return a typed result.

Docstrings here are product surface: a model reads them to learn how to chat.
"""

from __future__ import annotations

from typing import Annotated

import fastmcp
from django.conf import settings
from fastmcp import FastMCP
from fastmcp.apps import UI_EXTENSION_ID, AppConfig
from fastmcp.server.dependencies import get_context
from fastmcp.utilities.json_schema import dereference_refs
from mcp.types import ToolAnnotations
from pydantic import Field

from chat.core.results import (
    JoinResult,
    LeaveResult,
    QueueResult,
    SendResult,
    StatusResult,
    TypingResult,
    WaitResult,
)
from chat.mcp_errors import CodedErrors, chat_errors
from chat.mcp_requests import client_address, client_gone
from chat.runtime import service

CONFIG = settings.MCPCHAT  # the advertised bounds are the configured ones
WINDOW_URI = "ui://mcpchat/chat"  # the chat window (chat/mcp_window.py)
WINDOW = AppConfig(resource_uri=WINDOW_URI)  # hosts that render MCP Apps show it
IN_THE_WINDOW = (
    " Your client shows the mcpchat chat window for this chat: the person chats there, and the "
    "window receives and sends by itself, so do not call wait_for_message or send_message for "
    "this client_id unless they ask you to."
)


def _window_hint(hint: str) -> str:
    """The hint, and what it means that the client shows the window (when it says it can)."""
    return (
        hint + IN_THE_WINDOW if get_context().client_supports_extension(UI_EXTENSION_ID) else hint
    )


ClientId = Annotated[
    str,
    Field(
        description="Your client_id, as returned by enter_queue or join_room.",
        min_length=1,
        max_length=100,
    ),
]
RoomId = Annotated[
    str | None,
    Field(
        description="Optional: the room you are in. Omit it when you are in one room.",
        max_length=64,
    ),
]
DisplayName = Annotated[
    str | None,
    Field(
        description="The name others see (1-32 printable characters). Omit for a random "
        "guest name.",
        max_length=200,
    ),
]

INSTRUCTIONS = """\
mcpchat connects you with other people (or agents) for a live text chat.
Start with enter_queue (meet a random stranger) or join_room (meet someone in a private room
by sharing its room_id). Both return your client_id: pass it to every other tool.
Then loop: wait_for_message (blocks until something arrives or the timeout passes), reply with
send_message, and call wait_for_message again with after=<last_id> to confirm what you got.
Events (matched, joined, left, room_closed) arrive through wait_for_message too.
Call leave_chat when you are done.
Errors carry a code in structuredContent.error.code (e.g. unknown_client, mailbox_full).
"""

fastmcp.settings.telemetry_mode = settings.FASTMCP_TELEMETRY_MODE  # read on every call
# Strict: "30" is not a number and true is not a timeout, as the input schemas say.
mcp = FastMCP(
    "mcpchat",
    instructions=INSTRUCTIONS,
    mask_error_details=True,
    strict_input_validation=True,
    dereference_schemas=False,  # CodedErrors runs it: one middleware per call, not two
)
mcp.add_middleware(CodedErrors())


@mcp.tool(annotations=ToolAnnotations(open_world_hint=True), app=WINDOW)
@chat_errors
async def enter_queue(
    display_name: DisplayName = None,
    client_id: Annotated[
        str | None,
        Field(
            description="Optional: your client_id, to leave your current chat and meet someone new "
            '("next"). Omit it the first time.',
            max_length=100,
        ),
    ] = None,
) -> QueueResult:
    """Meet a random stranger: join the matching queue (first in, first out).

    Call it once to start; it returns your client_id. status is "matched" (with room_id and
    partner) if someone was waiting, else "waiting" with your position: then call
    wait_for_message, where a "matched" event arrives. Calling it again with your client_id
    leaves your current partner and finds a new one.
    """
    result = await service().enter_queue(client_id, display_name, client_address())
    result.hint = _window_hint(result.hint)
    return result


@mcp.tool(annotations=ToolAnnotations(open_world_hint=True), app=WINDOW)
@chat_errors
async def join_room(
    room_id: Annotated[
        str | None,
        Field(
            description="The private room to join (1-64 of A-Z a-z 0-9 _ -); a new id creates it. "
            "Omit it to create a room with an unguessable id to share.",
            max_length=64,
        ),
    ] = None,
    display_name: DisplayName = None,
    client_id: Annotated[
        str | None,
        Field(
            description="Optional: your existing client_id, to move into this room.", max_length=100
        ),
    ] = None,
) -> JoinResult:
    """Meet someone in a private room by id: share the room_id with them.

    Returns your client_id and the members present. Others in the room get a "joined" event.
    A full room, or a room made by the matching queue, is refused.
    """
    result = await service().join_room(room_id, display_name, client_id, client_address())
    result.hint = _window_hint(result.hint)
    return result


@mcp.tool(annotations=ToolAnnotations(open_world_hint=True))
@chat_errors
async def send_message(
    message: Annotated[
        str,
        Field(description="The text to send (newlines and tabs allowed, no other control codes)."),
    ],
    client_id: ClientId,
    room_id: RoomId = None,
    idempotency_key: Annotated[
        str | None,
        Field(
            description="Optional: a key you choose per message (e.g. a UUID). A retry with the "
            "same key returns the first result instead of sending twice.",
            max_length=64,
        ),
    ] = None,
) -> SendResult:
    """Send a message to everyone else in your room.

    Returns the message's number in the room, its UTC timestamp, and how many recipients are
    listening right now (0: nobody sees it until they next call wait_for_message). If the
    recipient has too many unread messages you get an error and nothing is sent: wait for
    their reply first.
    Pass an idempotency_key when you may retry after a lost answer, so nothing arrives twice.
    """
    return await service().send(client_id, room_id, message, idempotency_key, client_address())


@mcp.tool(annotations=ToolAnnotations(read_only_hint=True, open_world_hint=True))
@chat_errors
async def wait_for_message(
    client_id: ClientId,
    room_id: RoomId = None,
    timeout: Annotated[
        float,
        Field(
            description=f"Seconds to wait (0-{CONFIG.max_wait:g}). Keep it under 60 unless your "
            "client resets its timeout on progress notifications.",
            ge=0,
            le=CONFIG.max_wait,
        ),
    ] = CONFIG.default_wait,
    after: Annotated[
        int | None,
        Field(
            description="The last_id of your previous wait: confirms you received up to there. "
            "Anything not confirmed is delivered again.",
            ge=0,
        ),
    ] = None,
    receipts: Annotated[
        bool,
        Field(
            description="Also receive a 'read' event when someone confirms your messages: its "
            "sender read up to its message_id (your send_message results' message_id)."
        ),
    ] = False,
) -> WaitResult:
    """Receive messages and events (matched, joined, left, room_closed; read with
    receipts=true), oldest first.

    Returns at once with everything pending, or blocks until something arrives or timeout
    seconds pass (status "timeout": nothing new, just call again). Always pass after=last_id
    from your previous result so nothing is lost or repeated. While a wait is in progress
    the others in your room see you as "listening" (get_status shows their presence).
    """

    ctx = get_context()  # not a `ctx: Context` parameter: injection costs every call

    async def progress(elapsed: float, total: float) -> None:
        await ctx.report_progress(elapsed, total, "waiting for messages")

    return await service().wait(
        client_id, room_id, timeout, after, progress, client_gone(), receipts
    )


@mcp.tool(annotations=ToolAnnotations(destructive_hint=False, open_world_hint=True))
@chat_errors
async def leave_chat(client_id: ClientId, room_id: RoomId = None) -> LeaveResult:
    """Leave your room or the queue; the others get a "left" event.

    Your client_id stays valid: call enter_queue or join_room with it to chat again.
    """
    return await service().leave(client_id, room_id)


@mcp.tool(
    annotations=ToolAnnotations(read_only_hint=False, open_world_hint=True),
    app=AppConfig(visibility=["app"]),  # the chat window's, not the model's
)
@chat_errors
async def show_typing(client_id: ClientId) -> TypingResult:
    """The chat window calls this while its person types: the others in the room see them
    as "typing" for a few seconds (get_status presence)."""
    await service().typing(client_id)
    return TypingResult()


async def cache_input_schemas() -> None:
    """Give the MCP SDK a fixed name -> input schema lookup.

    For every sessionless tools/call the SDK checks Mcp-Param headers against the tool's input
    schema; without a lookup it re-lists every tool (through FastMCP's $ref dereferencing) on
    each call, which cost ~45% of the server's CPU under load. Our tools never change after
    start-up, so one listing serves the process.
    """
    schemas = {tool.name: dereference_refs(tool.parameters) for tool in await mcp.list_tools()}
    mcp._mcp_server.get_tool_input_schema = schemas.get


@mcp.tool(annotations=ToolAnnotations(read_only_hint=True))
@chat_errors
async def get_status(client_id: ClientId) -> StatusResult:
    """Where you are: queued (with position), in a room (with members, and whether each of
    the others is "typing", "listening" or "away") or idle, and how many messages and events
    are waiting for you in wait_for_message."""
    return await service().status(client_id)
