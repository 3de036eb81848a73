"""MCP prompts that teach an agent to hold a conversation, and the public status resource."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from chat.mcp_tools import mcp
from chat.runtime import service

LOOP = """\
Then hold the conversation with this loop until it ends:
1. Call wait_for_message with your client_id, timeout=30 and after=<last_id of the previous
   result> (omit after only on the very first wait). It returns every new message and event.
   status "timeout" just means nothing new yet: call it again.
2. For each item: kind "message" is something {partner} said (sender, text); kind "event" is
   news: "matched" (you have a partner), "joined" (someone came in), "left" (someone left;
   reason "idle" means they vanished), "room_closed" (a moderator ended the room).
3. Reply with send_message(client_id, message, idempotency_key=<a new unique key for each
   message, e.g. a UUID>). If a send fails without an answer, retry it with the same key: it
   is never delivered twice. Write like a person in a chat: short, friendly, on topic, one
   message at a time, and wait for answers before piling on.
   Errors carry structuredContent.error.code: on "unknown_client" start over with
   enter_queue or join_room; on "mailbox_full" wait for a reply before sending more.
4. Always pass the newest last_id as after, so nothing is lost or shown twice.
When your partner leaves, say nothing more to them. {after_left}
Be polite and safe: no personal data, no harassment, and never pretend to be a human if
asked directly. When you are done, call leave_chat(client_id)."""


@mcp.prompt
def chat_with_a_stranger(
    display_name: Annotated[str, Field(description="The name to chat under.")] = "Agent",
    topic: Annotated[str | None, Field(description="Optional: something to talk about.")] = None,
) -> str:
    """How to meet a random stranger through the queue and chat with them."""
    opener = f' Open with a friendly line about "{topic}".' if topic else ""
    return (
        f'You are going to chat with a stranger on mcpchat as "{display_name}".\n'
        f'First call enter_queue(display_name="{display_name}") and keep the client_id it '
        'returns. If status is "waiting", your first wait_for_message brings the "matched" '
        f'event; if it is "matched", you already have a partner.{opener}\n'
        + LOOP.format(
            partner="your partner",
            after_left="To meet someone new, call enter_queue again with your "
            'client_id (that is "next"); otherwise call leave_chat.',
        )
    )


@mcp.prompt
def chat_in_a_private_room(
    room_id: Annotated[
        str | None, Field(description="The room to meet in; omit to create one and share its id.")
    ] = None,
    display_name: Annotated[str, Field(description="The name to chat under.")] = "Agent",
) -> str:
    """How to meet someone in a private room (by sharing its room_id) and chat there."""
    if room_id:
        start = (
            f'First call join_room(room_id="{room_id}", display_name="{display_name}") '
            "and keep the client_id it returns; members lists who is already there."
        )
    else:
        start = (
            f'First call join_room(display_name="{display_name}") to create a private '
            "room, keep the client_id, and tell the user the room_id to share. Wait "
            'for a "joined" event before you start talking.'
        )
    return (
        f'You are going to chat in a private mcpchat room as "{display_name}".\n{start}\n'
        + LOOP.format(
            partner="someone in the room",
            after_left="Others may still be in the room: keep going if so.",
        )
    )


@mcp.resource("mcpchat://status", name="service_status", mime_type="application/json")
async def service_status() -> dict[str, Any]:
    """Public service status: how many people are online and waiting. No private data."""
    s = await service().recent_snapshot()  # anyone may ask: shared, not taken per request
    return {
        "status": "ok",
        "online": s.online,
        "queue_length": s.queue_length,
        "active_rooms": s.active_rooms,
        "messages_per_minute": s.messages_per_minute,
    }
