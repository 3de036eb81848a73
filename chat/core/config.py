"""Chat tunables, read from `MCPCHAT_*` environment variables with safe local defaults."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

from chat.core.limits import Rate


@dataclass(frozen=True)
class ChatConfig:
    room_capacity: int = 2  # MCPCHAT_ROOM_CAPACITY: people in a private room
    mailbox_size: int = 200  # MCPCHAT_MAILBOX_SIZE: unconfirmed messages one mailbox holds
    message_ttl: float = 600.0  # MCPCHAT_MESSAGE_TTL: seconds an unconfirmed entry is kept
    idle_timeout: float = 120.0  # MCPCHAT_IDLE_TIMEOUT: seconds without a call before reaping
    max_message_chars: int = 4000  # MCPCHAT_MAX_MESSAGE_CHARS
    default_wait: float = 30.0  # MCPCHAT_DEFAULT_WAIT: under the 60 s most clients allow
    max_wait: float = 300.0  # MCPCHAT_MAX_WAIT
    progress_interval: float = 5.0  # MCPCHAT_PROGRESS_INTERVAL: seconds between progress pings
    reap_interval: float = 5.0  # MCPCHAT_REAP_INTERVAL: seconds between idle sweeps
    rematch_after: float = 30.0  # MCPCHAT_REMATCH_AFTER: ex-partners are not re-paired sooner
    session_idle_timeout: float = 300.0  # MCPCHAT_SESSION_IDLE_TIMEOUT: idle MCP sessions
    # Caps that bound memory (README: "Limits"); past one, newcomers get `server_full`.
    max_identities: int = 5000  # MCPCHAT_MAX_IDENTITIES: people online (whole cluster)
    max_rooms: int = 2500  # MCPCHAT_MAX_ROOMS: rooms; only new private rooms are refused
    max_queue: int = 1000  # MCPCHAT_MAX_QUEUE: people waiting for a stranger
    max_sessions: int = 1000  # MCPCHAT_MAX_SESSIONS: open MCP sessions, per process
    max_body_bytes: int = 262144  # MCPCHAT_MAX_BODY_BYTES: HTTP request body
    shutdown_grace: float = 10.0  # MCPCHAT_SHUTDOWN_GRACE: seconds to answer waits on SIGTERM
    # Rate limits (a steady rate with a burst); past one, the caller gets `rate_limited`.
    send_rate: float = 5.0  # MCPCHAT_SEND_RATE: messages per second per client_id
    send_burst: int = 20  # MCPCHAT_SEND_BURST
    wait_rate: float = 10.0  # MCPCHAT_WAIT_RATE: wait_for_message calls per second per client_id
    wait_burst: int = 50  # MCPCHAT_WAIT_BURST
    address_send_rate: float = 300.0  # MCPCHAT_ADDRESS_SEND_RATE: messages/s per client address
    address_send_burst: int = 3000  # MCPCHAT_ADDRESS_SEND_BURST
    address_identity_rate: float = 60.0  # MCPCHAT_ADDRESS_IDENTITY_RATE: new client_ids/minute
    address_identity_burst: int = 1000  # MCPCHAT_ADDRESS_IDENTITY_BURST: per client address

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ChatConfig:
        values: dict[str, int | float] = {}
        for f in fields(cls):
            raw = env.get(f"MCPCHAT_{f.name.upper()}")
            if raw is None or raw.strip() == "":
                continue
            kind = int if f.type in ("int", int) else float
            try:
                value = kind(raw)
            except ValueError:
                name = f"MCPCHAT_{f.name.upper()}"
                raise ValueError(f"{name}={raw!r} is not a valid {kind.__name__}") from None
            if value <= 0:
                raise ValueError(f"MCPCHAT_{f.name.upper()} must be positive, got {raw!r}")
            values[f.name] = value
        config = cls(**values)  # type: ignore[arg-type]
        if config.room_capacity < 2:
            raise ValueError("MCPCHAT_ROOM_CAPACITY must be at least 2")
        if config.default_wait > config.max_wait:
            raise ValueError("MCPCHAT_DEFAULT_WAIT must not exceed MCPCHAT_MAX_WAIT")
        return config

    def limit(self, kind: str) -> Rate:
        """The rate limit of one kind of call: send, wait, address_send, address_identity."""
        per_second = getattr(self, f"{kind}_rate")
        if kind == "address_identity":
            per_second /= 60.0  # configured per minute
        return Rate(per_second, getattr(self, f"{kind}_burst"), LIMITED[kind])


LIMITED = {
    "send": "messages from this client_id",
    "wait": "wait_for_message calls for this client_id",
    "address_send": "messages from your address",
    "address_identity": "new client_ids from your address",
}
