"""`mcpchat serve` and the test and benchmark servers (mcpchat/devserver.py) run uvicorn with
the same options: one through uvicorn's Config, the other through its command line."""

from __future__ import annotations

import uvicorn

from mcpchat.cli import APP, uvicorn_flags, uvicorn_options


def test_the_flags_say_what_the_options_say() -> None:
    given = uvicorn.main.make_context("uvicorn", [*uvicorn_flags(), APP]).params
    options = uvicorn_options()
    assert {name: given[name] for name in options} == options
