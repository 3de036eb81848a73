"""The soak command's two-minute version, on one process and on two sharing Redis: it
proves that nothing was lost, repeated or left behind, or exits 1 saying what was."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mcpchat.devserver import ROOT
from tests.redis_server import require_redis


# Four to five minutes each (a warm-up, two minutes of load, reaping twice, memory settling):
# past the suite's default timeout of 300 s on a loaded machine.
@pytest.mark.timeout(900)
@pytest.mark.parametrize("backend", ["memory", "redis"])
def test_a_two_minute_soak_loses_nothing_and_leaves_nothing(backend: str) -> None:
    extra = []
    if backend == "redis":
        require_redis()
        extra = ["--redis"]
    done = subprocess.run(
        [sys.executable, "-m", "bench.soak", "--chatters", "100", "--seconds", "120", *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    report = done.stdout + done.stderr[-3000:]
    assert done.returncode == 0, report
    assert "result: passed" in done.stdout, report
    assert "kills 0," not in done.stdout  # the chaos really happened
