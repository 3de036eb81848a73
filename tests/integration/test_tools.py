"""The MCP surface through FastMCP's in-memory client: schemas, results, errors."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from fastmcp import Client

from chat import runtime
from chat.mcp_app import mcp


@pytest.fixture
def client(mcp_client: Client[Any]) -> Client[Any]:
    return mcp_client  # here `client` is the MCP client, not pytest-django's


async def call(client: Client[Any], tool: str, **args: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, args)
    assert result.structured_content is not None
    return result.structured_content


async def error(client: Client[Any], tool: str, **args: Any) -> str:
    result = await client.call_tool(tool, args, raise_on_error=False)
    assert result.is_error, result
    return " ".join(getattr(c, "text", "") for c in result.content)


async def test_tools_are_described_typed_and_annotated(client: Client[Any]) -> None:
    tools = {t.name: t for t in await client.list_tools()}
    assert set(tools) == {
        "enter_queue",
        "join_room",
        "send_message",
        "wait_for_message",
        "leave_chat",
        "get_status",
        "show_typing",  # the chat window's: marked for the app, not the model
    }
    assert tools["show_typing"].meta["ui"]["visibility"] == ["app"]  # type: ignore[index]
    for tool in tools.values():
        assert tool.description and len(tool.description) > 80
        assert tool.output_schema and tool.output_schema["type"] == "object"
    assert tools["wait_for_message"].annotations.read_only_hint is True
    assert tools["get_status"].annotations.read_only_hint is True
    assert tools["send_message"].annotations.read_only_hint in (None, False)
    params = tools["wait_for_message"].input_schema["properties"]
    assert params["timeout"]["maximum"] == 300 and params["timeout"]["default"] == 30


async def test_a_whole_conversation_via_the_queue(client: Client[Any]) -> None:
    alice = await call(client, "enter_queue", display_name="Alice")
    assert alice["status"] == "waiting" and alice["position"] == 1
    bob = await call(client, "enter_queue", display_name="Bob")
    assert bob["status"] == "matched" and bob["partner"] == "Alice"
    first = await call(client, "wait_for_message", client_id=alice["client_id"], timeout=1)
    assert first["items"][0]["event"] == "matched" and first["items"][0]["sender"] == "Bob"
    sent = await call(client, "send_message", client_id=bob["client_id"], message="hi Alice")
    assert sent["message_id"] == 1 and sent["sent_at"].endswith("Z")
    got = await call(
        client, "wait_for_message", client_id=alice["client_id"], after=first["last_id"], timeout=1
    )
    assert [(i["sender"], i["text"]) for i in got["items"]] == [("Bob", "hi Alice")]
    status = await call(client, "get_status", client_id=alice["client_id"])
    assert status["state"] == "in_room" and status["members"] == ["Alice", "Bob"]
    left = await call(client, "leave_chat", client_id=bob["client_id"])
    assert left["left"] == "room"
    bye = await call(
        client, "wait_for_message", client_id=alice["client_id"], after=got["last_id"], timeout=1
    )
    assert [(i["event"], i["sender"], i["reason"]) for i in bye["items"]] == [
        ("left", "Bob", "left")
    ]


async def test_results_are_readable_as_text_too(client: Client[Any]) -> None:
    result = await client.call_tool("join_room", {"room_id": "tea", "display_name": "Ann"})
    assert '"room_id":"tea"' in result.content[0].text.replace(" ", "")


async def test_chat_errors_say_what_to_do_next(client: Client[Any]) -> None:
    assert "enter_queue" in await error(client, "get_status", client_id="c_unknown")
    ann = await call(client, "join_room", room_id="tea", display_name="Ann")
    await call(client, "join_room", room_id="tea", display_name="Ben")
    assert "full" in await error(client, "join_room", room_id="tea")
    assert "not in room" in await error(
        client, "send_message", client_id=ann["client_id"], room_id="coffee", message="x"
    )
    assert "4000" in await error(
        client, "send_message", client_id=ann["client_id"], message="x" * 4001
    )
    assert "32" in await error(client, "enter_queue", display_name="n" * 40)
    assert "room_id" in await error(client, "join_room", room_id="bad id!")
    assert "after" in await error(
        client, "wait_for_message", client_id=ann["client_id"], after=99, timeout=0
    )


async def test_wrong_types_and_missing_arguments_get_validation_errors(client: Client[Any]) -> None:
    assert "client_id" in await error(client, "send_message", message="x")
    assert "timeout" in await error(client, "wait_for_message", client_id="c", timeout=301)
    assert "timeout" in await error(client, "wait_for_message", client_id="c", timeout="soon")
    assert "after" in await error(client, "wait_for_message", client_id="c", after=-1)


@pytest.mark.parametrize(
    "args",
    [
        {"timeout": "0"},
        {"timeout": False},
        {"after": "0"},
        {"after": 0.0},
        {"after": False},
        {"receipts": 0},
        {"receipts": "false"},
    ],
)
async def test_values_the_schema_does_not_allow_are_refused_not_coerced(
    client: Client[Any], args: dict[str, Any]
) -> None:
    """A lax validator would take each of these for what it resembles and answer normally."""
    me = await call(client, "join_room", display_name="Ann")
    wait = {"client_id": me["client_id"], "timeout": 0, **args}  # lax: answers at once
    assert next(iter(args)) in await error(client, "wait_for_message", **wait)
    assert "message" in await error(client, "send_message", client_id=me["client_id"], message=5)


async def test_internal_errors_are_masked_and_logged(
    client: Client[Any], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*args: Any) -> None:
        raise RuntimeError("secret database password")

    monkeypatch.setattr(runtime.service(), "status", broken)
    with caplog.at_level(logging.ERROR):
        text = await error(client, "get_status", client_id="c_x")
    assert "secret" not in text and "get_status" in text
    assert "secret database password" in caplog.text


async def test_the_cached_input_schemas_are_the_advertised_ones(client: Client[Any]) -> None:
    """The SDK validates Mcp-Param headers with this lookup; it must match tools/list."""
    from chat.mcp_app import cache_input_schemas

    await cache_input_schemas()
    lookup = mcp._mcp_server.get_tool_input_schema
    assert lookup is not None
    for tool in await client.list_tools():
        assert lookup(tool.name) == tool.input_schema
    assert lookup("no_such_tool") is None


async def test_listed_schemas_are_self_contained(client: Client[Any]) -> None:
    """Some clients (VS Code Copilot) cannot follow a JSON Schema $ref: every schema a client
    lists has its definitions inlined, and still describes the nested results."""

    def refs(schema: object) -> list[str]:
        if isinstance(schema, dict):
            found = [k for k in schema if k in ("$ref", "$defs")]
            return found + [r for v in schema.values() for r in refs(v)]
        if isinstance(schema, list):
            return [r for v in schema for r in refs(v)]
        return []

    tools = {t.name: t for t in await client.list_tools()}
    for tool in tools.values():
        assert refs(tool.input_schema) == [] and refs(tool.output_schema) == [], tool.name
    items = tools["wait_for_message"].output_schema["properties"]["items"]  # type: ignore[index]
    assert "kind" in items["items"]["properties"]
