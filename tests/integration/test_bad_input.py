"""Property-based: any value for any tool argument gets a result or a clear tool error, never
an internal error, and never disturbs anyone else's chat or the state's invariants."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from fastmcp import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chat import runtime
from chat.core.engine import ChatEngine
from chat.mcp_app import mcp

ANN = "<ann's client_id>"  # replaced by a real id, so junk also meets live identities
junk = st.one_of(
    st.just(ANN),
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=80),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=4000, max_size=4100),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)
TOOLS = {
    "enter_queue": ["display_name", "client_id"],
    "join_room": ["room_id", "display_name", "client_id"],
    "send_message": ["message", "client_id", "room_id"],
    "wait_for_message": ["client_id", "room_id", "timeout", "after"],
    "leave_chat": ["client_id", "room_id"],
    "get_status": ["client_id"],
}
calls = st.sampled_from(sorted(TOOLS)).flatmap(
    lambda tool: st.tuples(
        st.just(tool),
        st.dictionaries(st.sampled_from(TOOLS[tool] + ["surprise"]), junk, max_size=4),
    )
)


def check_invariants(engine: ChatEngine) -> None:
    for cid, ident in engine.identities.items():
        assert not (cid in engine.queue and ident.room_id is not None)
        if ident.room_id is not None:
            assert cid in engine.rooms[ident.room_id].members
        assert not ident.waiting(engine.clock()) and ident.waiter_channel is None
    assert all(cid in engine.identities for cid in engine.queue)  # no ghosts in the queue
    for room in engine.rooms.values():
        assert 0 < len(room.members) <= room.capacity
        assert all(engine.identities[m].room_id == room.room_id for m in room.members)


@pytest.fixture
def runner() -> Iterator[asyncio.Runner]:
    runtime.reset_service()
    with asyncio.Runner() as r:
        yield r
    runtime.reset_service()


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=st.lists(calls, min_size=1, max_size=6))
def test_junk_arguments_never_break_the_server(
    runner: asyncio.Runner, batch: list[tuple[str, dict[str, Any]]]
) -> None:
    async def scenario() -> None:
        async with Client(mcp) as client:
            ann = (await client.call_tool("join_room", {"display_name": "Ann"})).data
            await client.call_tool("join_room", {"room_id": ann.room_id, "display_name": "Ben"})
            # Cat and Dan are bystanders: junk never names them, and they must not notice it.
            cat = (await client.call_tool("join_room", {"display_name": "Cat"})).data
            dan = (
                await client.call_tool("join_room", {"room_id": cat.room_id, "display_name": "Dan"})
            ).data
            for tool, args in batch:
                args = {k: ann.client_id if v == ANN else v for k, v in args.items()}
                if tool == "wait_for_message" and isinstance(args.get("timeout"), int | float):
                    args["timeout"] = min(max(args["timeout"], 0), 0.01)  # keep it quick
                result = await client.call_tool(tool, args, raise_on_error=False)
                if result.is_error:
                    text = result.content[0].text
                    assert "Error calling tool" not in text, (tool, args, text)
                    assert text.strip()
            await client.call_tool("send_message", {"client_id": cat.client_id, "message": "ok?"})
            got = (
                await client.call_tool(
                    "wait_for_message", {"client_id": dan.client_id, "timeout": 0}
                )
            ).data
            assert [i.text for i in got.items if i.kind == "message"] == ["ok?"]
        check_invariants(runtime.service().state.engine)  # type: ignore[attr-defined]

    runtime.reset_service()
    runner.run(scenario())
