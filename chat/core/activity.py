"""Rolling activity figures for the staff monitor: messages and people online per bucket.

Counts only; never who or what. Buckets are `BUCKET` seconds wide and kept for `WINDOW`.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

BUCKET = 10.0
WINDOW = 300.0  # the monitor's chart covers the last five minutes


@dataclass
class Bucket:
    start: float
    messages: int = 0
    online: int = 0  # the most people online seen during the bucket


class Activity:
    def __init__(self) -> None:
        self.buckets: deque[Bucket] = deque()

    def _current(self, now: float) -> Bucket:
        start = now - now % BUCKET
        if not self.buckets or self.buckets[-1].start < start:
            online = self.buckets[-1].online if self.buckets else 0
            self.buckets.append(Bucket(start, online=online))
        while self.buckets and self.buckets[0].start <= now - WINDOW - BUCKET:
            self.buckets.popleft()
        return self.buckets[-1]

    def message(self, now: float) -> None:
        self._current(now).messages += 1

    def online(self, now: float, count: int) -> None:
        bucket = self._current(now)
        bucket.online = max(bucket.online, count)  # a new bucket starts with the last count

    def per_minute(self, now: float) -> int:
        """Messages in the last 60 seconds (bucket resolution)."""
        self._current(now)
        return sum(b.messages for b in self.buckets if b.start > now - 60)

    def chart(self, now: float, online_now: int) -> list[tuple[float, int, int]]:
        """(seconds ago, messages, people online) per bucket over the window, oldest first;
        buckets with no activity are filled in so the chart's time axis is even."""
        self._current(now)
        by_start = {b.start: b for b in self.buckets}
        last = now - now % BUCKET
        points = []
        online = 0
        for i in range(int(WINDOW / BUCKET), -1, -1):
            start = last - i * BUCKET
            b = by_start.get(start)
            if b is not None:
                online = b.online
            points.append((round(now - start, 1), b.messages if b else 0, online))
        points[-1] = (points[-1][0], points[-1][1], online_now)
        return points
