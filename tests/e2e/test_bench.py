"""The benchmark command runs end to end and loses nothing (its figures are not judged here:
timing belongs to the benchmark, not to tests)."""

from __future__ import annotations

import re
import subprocess
import sys

from mcpchat.devserver import ROOT


def test_bench_runs_and_loses_nothing() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--pairs", "2", "--messages", "5", "--waiters", "20"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert re.search(r"1 pair, 5 messages: latency p50 [\d.]+ ms, p99 [\d.]+ ms .*lost 0", out)
    assert re.search(r"2 concurrent pairs, 5 messages each: .* messages/s, lost 0", out)
    assert re.search(r"20 parked waiters, 20/20 woken .* KB per parked waiter", out)
