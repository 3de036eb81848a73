from __future__ import annotations

from chat.core.engine import ChatEngine
from chat.core.mailbox import Entry


def inbox(engine: ChatEngine, client_id: str) -> list[Entry]:
    """Everything pending for a client, confirmed as a well-behaved client would."""
    ident = engine.identities[client_id]
    entries = ident.mailbox.hand_out(engine.clock())
    ident.mailbox.confirm(None)
    return entries


def events(engine: ChatEngine, client_id: str) -> list[tuple[str | None, str | None]]:
    return [(e.event, e.sender) for e in inbox(engine, client_id) if e.kind == "event"]


def queued(engine: ChatEngine, name: str) -> str:
    return engine.enter_queue(None, name).value.client_id
