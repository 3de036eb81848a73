"""Log hygiene for a public server: refusals are one short line, never a traceback, and at
most a few per minute, so an attacker cannot fill the disk through our logs."""

from __future__ import annotations

import logging
import time

LONGEST = 200  # characters of an attacker-chosen value (a Host header) worth keeping


class Refusals(logging.Filter):
    """Attached to the loggers that report refused requests (a bad Host, a full session
    table): strips tracebacks, shortens and escapes the line, and lets at most `per_minute`
    lines through per logger, then says how many were left out."""

    def __init__(self, per_minute: int = 20) -> None:
        super().__init__()
        self.per_minute = per_minute
        self.window_start = 0.0
        self.passed = 0
        self.left_out = 0

    def filter(self, record: logging.LogRecord) -> bool:
        now = time.monotonic()
        if now - self.window_start >= 60:
            self.window_start, self.passed = now, 0
        if self.passed >= self.per_minute:
            self.left_out += 1
            return False
        self.passed += 1
        line = record.getMessage()
        line = line if len(line) <= LONGEST else line[:LONGEST] + "..."
        line = line.encode("unicode_escape").decode("ascii")  # no forged log lines
        if self.left_out:
            line += f" ({self.left_out} similar lines left out)"
            self.left_out = 0
        record.msg, record.args = line, ()
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        return True
