"""A raw-HTTP MCP client for the benchmark: one POST per tool call, sessionless protocol.

FastMCP's own `Client` costs the load generator several milliseconds of CPU per call (and
lists the tools again to validate results), and an httpx pool slows down with thousands of
open connections, so on a two-core machine they, not the server, set the pace of a burst and
added to every latency. This one sends the JSON-RPC request the official clients send
(protocol 2026-07-28) over plain HTTP/1.1 keep-alive connections and reads the answer.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

PROTOCOL = "2026-07-28"
META = {
    "io.modelcontextprotocol/protocolVersion": PROTOCOL,
    "io.modelcontextprotocol/clientInfo": {"name": "mcpchat-bench", "version": "1"},
    "io.modelcontextprotocol/clientCapabilities": {},
}


@dataclass
class CallResult:
    data: Any  # structuredContent, with attribute access, as FastMCP's `.data`
    is_error: bool
    text: str


def _namespace(value: Any) -> Any:
    if isinstance(value, dict):
        return SimpleNamespace(**{k: _namespace(v) for k, v in value.items()})
    if isinstance(value, list):
        return [_namespace(v) for v in value]
    return value


class ToolCallError(RuntimeError):
    pass


class HttpError(RuntimeError):
    pass


Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class RawClient:
    def __init__(self, url: str, token: str | None = None, address: str | None = None) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        head = [
            f"POST {parts.path or '/'} HTTP/1.1",
            f"host: {parts.netloc}",
            "accept: application/json, text/event-stream",
            "content-type: application/json",
            f"mcp-protocol-version: {PROTOCOL}",
        ]
        if token:
            head.append(f"authorization: Bearer {token}")
        if address:  # for servers that trust X-Forwarded-For
            head.append(f"x-forwarded-for: {address}")
        self.head = "\r\n".join(head)
        self.idle: list[Connection] = []  # no pool limit: the waits must park in parallel
        self.ids = itertools.count(1)

    async def __aenter__(self) -> RawClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        for _, writer in self.idle:
            writer.close()
        self.idle.clear()

    async def _post(self, headers: str, body: bytes) -> tuple[str, bytes]:
        """(content type, body) of the answer to one POST, on an idle connection or a new one."""
        request = f"{self.head}\r\n{headers}content-length: {len(body)}\r\n\r\n".encode()
        reused = bool(self.idle)
        reader, writer = self.idle.pop() if reused else await self._connect()
        writer.write(request + body)
        try:
            status, fields = await _read_head(reader)
        except (asyncio.IncompleteReadError, ConnectionError):
            if not reused:
                raise
            # The server closed this idle connection before reading the request: a new one.
            reader, writer = await self._connect()
            writer.write(request + body)
            status, fields = await _read_head(reader)
        if fields.get("transfer-encoding") == "chunked":
            content = await _read_chunks(reader)
        else:
            content = await reader.readexactly(int(fields.get("content-length", "0")))
        if fields.get("connection") == "close":
            writer.close()
        else:
            self.idle.append((reader, writer))
        if status != 200:
            raise HttpError(f"HTTP {status}: {content[:200]!r}")
        return fields.get("content-type", ""), content

    async def _connect(self) -> Connection:
        return await asyncio.open_connection(self.host, self.port)

    async def _request(self, method: str, params: dict[str, Any], name: str = "") -> Any:
        headers = f"mcp-method: {method}\r\n" + (f"mcp-name: {name}\r\n" if name else "")
        body = {"jsonrpc": "2.0", "id": next(self.ids), "method": method, "params": params}
        kind, content = await self._post(headers, json.dumps(body).encode())
        if kind.startswith("text/event-stream"):
            # A stream (progress notifications, then the answer): the answer has our id.
            for line in content.decode().splitlines():
                if line.startswith("data:"):
                    message = json.loads(line[5:])
                    if message.get("id") == body["id"]:
                        return _answer(message)
            raise ToolCallError("the stream ended without an answer")
        return _answer(json.loads(content))

    async def call_tool(
        self, name: str, arguments: dict[str, Any], raise_on_error: bool = True
    ) -> CallResult:
        params = {"name": name, "arguments": arguments, "_meta": META}
        result = await self._request("tools/call", params, name)
        text = "".join(c.get("text", "") for c in result.get("content", []))
        structured = result.get("structuredContent")
        if set(structured or ()) == {"result"}:  # a wrapped scalar, as FastMCP's Client unwraps
            structured = structured["result"]
        if result.get("isError") and raise_on_error:
            raise ToolCallError(f"{name}: {text}")
        return CallResult(_namespace(structured), bool(result.get("isError")), text)

    async def read_resource(self, uri: str) -> list[SimpleNamespace]:
        result = await self._request("resources/read", {"uri": uri, "_meta": META}, uri)
        return [SimpleNamespace(**c) for c in result["contents"]]


def _answer(message: dict[str, Any]) -> Any:
    if "error" in message:
        raise ToolCallError(message["error"].get("message", "error"))
    return message["result"]


async def _read_head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    lines = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    fields = {}
    for line in lines[1:]:
        if ":" in line:
            name, _, value = line.partition(":")
            fields[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), fields


async def _read_chunks(reader: asyncio.StreamReader) -> bytes:
    chunks = []
    while size := int((await reader.readuntil(b"\r\n")).split(b";")[0], 16):
        chunks.append(await reader.readexactly(size))
        await reader.readexactly(2)
    await reader.readuntil(b"\r\n")  # the empty trailer
    return b"".join(chunks)
