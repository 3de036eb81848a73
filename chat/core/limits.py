"""Rate limits as one rule: the generic cell rate algorithm (GCRA).

A limit is a steady rate with a burst. Its whole state is one number, the "theoretical
arrival time" (TAT): when the bucket would be empty again if nothing more came. That makes
it cheap to keep on an identity (committed with it) or under one key per client address
(compare-and-set), so every backend holds the same rule without restating it.
"""

from __future__ import annotations

from dataclasses import dataclass

from chat.core.errors import RateLimited


@dataclass(frozen=True)
class Rate:
    per_second: float
    burst: int
    what: str  # for the error: "messages from this client_id", ...

    @property
    def interval(self) -> float:
        return 1.0 / self.per_second


@dataclass(frozen=True)
class Charge:
    """One call to count against `rate` under `key` (a client address) before its use case
    runs: the limit answers before anything else the call could be refused for."""

    key: str
    rate: Rate


def admit(tat: float, now: float, rate: Rate) -> float:
    """The new TAT if one more event is allowed now; else `RateLimited` with the wait."""
    tat = max(tat, now)
    allowance = (rate.burst - 1) * rate.interval
    if tat - now > allowance:
        retry_after = tat - now - allowance
        raise RateLimited(
            f"Too many {rate.what} (at most {rate.burst} at once, then "
            f"{_per(rate.per_second)}). Nothing was done: try again in {retry_after:.1f} s.",
            retry_after,
        )
    return tat + rate.interval


def _per(per_second: float) -> str:
    if per_second >= 1:
        return f"{per_second:g} per second"
    return f"{per_second * 60:g} per minute"


class RateTable:
    """Limits by key (a client address) in one process: key -> TAT. Keys whose TAT has passed
    hold nothing a fresh key would not, so they are dropped once the table grows."""

    PRUNE_AT = 10_000

    def __init__(self) -> None:
        self.tats: dict[str, float] = {}

    def admit(self, key: str, now: float, rate: Rate) -> None:
        if len(self.tats) >= self.PRUNE_AT:
            self.tats = {k: t for k, t in self.tats.items() if t > now}
        self.tats[key] = admit(self.tats.get(key, 0.0), now, rate)
