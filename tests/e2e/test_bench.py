"""The benchmark command runs end to end and loses nothing (its figures are not judged here:
timing belongs to the benchmark, not to tests)."""

from __future__ import annotations

import re
import subprocess
import sys

from mcpchat.devserver import ROOT
from tests.redis_server import require_redis

PAIRS = ("--pairs", "2", "--messages", "5")
SMALL = (*PAIRS, "--waiters", "20")
PARKED = 400


def run(module: str, *args: str, timeout: float = 600) -> str:
    """Run a benchmark command; its output, once it has exited 0."""
    done = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_bench_runs_both_setups_and_loses_nothing() -> None:
    require_redis()
    out = run("bench", *SMALL)
    assert re.search(r"^figure +1 process +2 processes \(Redis\) +ratio$", out, re.M)
    for row in ("lost", "duplicated"):
        assert re.search(rf"^{row} +0\.00 +0\.00$", out, re.M), out
    assert re.search(r"^parked waits woken +20\.00 +20\.00", out, re.M), out
    assert re.search(r"^1 pair p50 ms +[\d.]+ +[\d.]+ +[\d.]+x$", out, re.M), out
    assert re.search(r"^Redis commands/message +nan +[\d.]+$", out, re.M), out
    flood = re.search(
        r"^flooder: .* \(([\d.]+)x\); the flooder's sends: (\d+) accepted, (\d+)", out, re.M
    )
    assert flood, out
    assert int(flood.group(3)) > 0  # the default rate limit refused the flooder


def test_bench_baseline_compares_with_a_bare_fastmcp_server() -> None:
    # Enough parked waits for their memory to show in RSS: 20 can fit in what the allocator
    # already holds (under PYTHONMALLOC=malloc they did), and the figure would be zero.
    small = (*PAIRS, "--waiters", str(PARKED))
    out = run("bench", "--baseline", "--no-redis", "--no-flood", *small, timeout=900)
    for row in (
        "round trip p50 ms",
        "1 pair p50 ms",
        "server CPU ms/message",
        "KB per parked wait",
    ):
        assert re.search(rf"^{row} +[\d.]+ +[\d.]+ +[\d.]+x  <= [\d.]+x", out, re.M), out
    assert re.search(r"^RSS after load / idle +[\d.]+ +[\d.]+ +[\d.]+x", out, re.M), out
    assert re.search(rf"^burst of parked waits woken +{PARKED} +{PARKED}$", out, re.M), out


def test_the_profiler_breaks_a_message_down_by_package() -> None:
    out = run("bench.profile", "--units", "20", "--top", "5")
    assert re.search(r"^server CPU per unit under cProfile: [\d.]+ ms", out, re.M), out
    for group in ("chat core", "fastmcp", "uvicorn, h11, httptools"):  # as `mcpchat serve`
        assert re.search(rf"^  {group} +\d+ us +[\d.]+%$", out, re.M), out


def test_redis_ops_counts_round_trips_and_compares_cpu_with_in_memory() -> None:
    require_redis()
    out = run("bench.redis_ops", "--messages", "20")
    trips = re.search(r"^  round trips +([\d.]+)$", out, re.M)
    assert trips and float(trips.group(1)) > 0, out
    assert re.search(r"^  MGET +[\d.]+$", out, re.M), out  # loads are counted inside pipelines
    out = run("bench.redis_ops", "--cpu", "--messages", "20")
    for backend in ("Redis", "in-memory"):
        line = rf"^{backend} +CPU +[\d.]+ ms/message, send -> wait returns p50 +[\d.]+ ms$"
        assert re.search(line, out, re.M), out
