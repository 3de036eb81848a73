"""The `ChatError` family: raised by the core, translated only at the edges.

Every message says what went wrong *and what to do next*, because the reader is often a
model deciding which tool to call.
"""

from __future__ import annotations


class ChatError(Exception):
    """Base class for every error a chatter can cause and recover from."""

    code = "chat_error"

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details  # machine-readable extras, e.g. retry_after


class InvalidInput(ChatError):
    code = "invalid_input"


class UnknownClient(ChatError):
    code = "unknown_client"

    def __init__(self) -> None:
        super().__init__(
            "Unknown or expired client_id (identities that stop calling are removed after a "
            "while). Start over: call enter_queue to meet a stranger, or join_room to meet in "
            "a private room; each returns a new client_id."
        )


class NotInRoom(ChatError):
    code = "not_in_room"


class RoomFull(ChatError):
    code = "room_full"


class RoomNotJoinable(ChatError):
    code = "room_not_joinable"


class MailboxFull(ChatError):
    code = "mailbox_full"


class NobodyToTalkTo(ChatError):
    code = "nobody_to_talk_to"


class BadCursor(ChatError):
    code = "bad_cursor"


class IdempotencyKeyReused(ChatError):
    code = "idempotency_key_reused"


class NameChangeRefused(ChatError):
    code = "name_change_refused"


class RateLimited(ChatError):
    """Too many calls of one kind; `retry_after` says when one more is allowed."""

    code = "rate_limited"

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message, retry_after=round(retry_after, 2))


class ServerFull(ChatError):
    """A cap that bounds memory is reached; existing chats go on, newcomers come back later."""

    code = "server_full"

    def __init__(self, what: str, retry_after: float = 60.0) -> None:
        super().__init__(
            f"The server is full ({what}). Existing chats go on; try again in a minute.",
            retry_after=retry_after,
        )
