"""The rate limit rule (GCRA): admitting many calls at once is admitting them one by one."""

from __future__ import annotations

import random

import pytest

from chat.core.errors import RateLimited
from chat.core.limits import Rate, admit, admit_up_to


def one_by_one(tat: float, now: float, rate: Rate, calls: int) -> tuple[float, int]:
    allowed = 0
    for _ in range(calls):
        try:
            tat = admit(tat, now, rate)
        except RateLimited:
            break
        allowed += 1
    return tat, allowed


@pytest.mark.parametrize(
    ("tat", "now", "calls", "expected"),
    [
        (0.0, 10.0, 3, (11.5, 3)),  # an empty bucket: all three, 0.5 s each
        (0.0, 10.0, 9, (12.0, 4)),  # the burst of 4, no more
        (11.0, 10.0, 9, (12.0, 2)),  # two used: two left
        (12.0, 10.0, 9, (12.0, 0)),  # full
        (12.5, 10.0, 9, (12.5, 0)),  # over: unchanged
        (0.0, 10.0, 0, (0.0, 0)),  # none asked
    ],
)
def test_admitting_up_to_n_calls_at_once(
    tat: float, now: float, calls: int, expected: tuple[float, int]
) -> None:
    rate = Rate(2.0, 4, "calls")
    assert admit_up_to(tat, now, rate, calls) == expected
    assert one_by_one(tat, now, rate, calls) == expected


def test_at_once_agrees_with_one_by_one_on_random_limits() -> None:
    rng = random.Random(7)
    for _ in range(2000):
        rate = Rate(rng.choice([0.5, 3.0, 300.0, 1 / 60]), rng.randrange(1, 400), "calls")
        now = rng.uniform(0, 1000)
        tat = now + rng.uniform(-5, 1.2 * rate.burst * rate.interval)
        calls = rng.randrange(0, 500)
        (fast_tat, fast), (slow_tat, slow) = (
            admit_up_to(tat, now, rate, calls),
            one_by_one(tat, now, rate, calls),
        )
        if fast != slow:  # only where the room is a whole number of calls: float rounding
            start = max(tat, now)
            room = ((rate.burst - 1) * rate.interval - (start - now)) / rate.interval
            assert abs(fast - slow) == 1 and abs(room - round(room)) < 1e-6
        else:
            assert fast_tat == pytest.approx(slow_tat, abs=1e-6 * max(1.0, abs(slow_tat)))
