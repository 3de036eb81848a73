"""`mcpchat serve` and the test and benchmark servers (mcpchat/devserver.py) run uvicorn with
the same options: one through uvicorn's Config, the other through its command line."""

from __future__ import annotations

import pytest
import uvicorn

from mcpchat.cli import APP, uvicorn_flags, uvicorn_options


@pytest.mark.parametrize("redis", [False, True])
def test_the_flags_say_what_the_options_say(redis: bool) -> None:
    given = uvicorn.main.make_context("uvicorn", [*uvicorn_flags(redis), APP]).params
    options = uvicorn_options(redis)
    assert {name: given[name] for name in options} == options
