"""Chat tunables, read from `MCPCHAT_*` environment variables with safe local defaults."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields


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
