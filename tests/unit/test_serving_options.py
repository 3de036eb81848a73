"""`mcpchat serve` and the test and benchmark servers (mcpchat/devserver.py) run uvicorn with
the same options (one through uvicorn's Config, the other through its command line) and on
the same allocator."""

from __future__ import annotations

import ctypes.util

import pytest
import uvicorn

from mcpchat.allocator import server_allocator
from mcpchat.cli import APP, uvicorn_flags, uvicorn_options


def test_the_flags_say_what_the_options_say() -> None:
    given = uvicorn.main.make_context("uvicorn", [*uvicorn_flags(), APP]).params
    options = uvicorn_options()
    assert {name: given[name] for name in options} == options


def test_an_allocator_the_operator_chose_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LD_PRELOAD", raising=False)
    monkeypatch.setenv("PYTHONMALLOC", "pymalloc")  # CPython's own, on purpose
    assert server_allocator() == {}
    monkeypatch.delenv("PYTHONMALLOC")
    monkeypatch.setenv("LD_PRELOAD", "libtcmalloc.so.4")
    assert server_allocator() == {}
    monkeypatch.delenv("LD_PRELOAD")
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)  # no jemalloc here
    assert server_allocator() == {}
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: f"lib{name}.so.2")
    assert server_allocator()["LD_PRELOAD"] == "libjemalloc.so.2"
    assert server_allocator()["PYTHONMALLOC"] == "malloc"
