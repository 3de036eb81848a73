"""Redis connections for the hot path: one socket, shared by every call that goes through it.

redis-py checks a connection out of a pool for each round trip, packs the command through
layers of encoders and reads the reply through a stream reader; on this machine that is about
210 µs of CPU per round trip, where the socket and the event loop need about 80
(docs/SCALING.md). A Redis state spends four or five round trips per message, so here the
state talks to Redis over one connection per process and event loop: each call writes its
commands at once, replies come back in the order the commands went out (Redis answers a
connection in order), and hiredis' C parser hands each reply to the call waiting for it.
Many calls share the socket at once, so a busy process reads many replies per system call,
and a caller that gives up (a cancelled wait) leaves the connection as it was:
its reply is read and dropped.

The chat state sends its short commands through one (reads, the commit and rate scripts, the
sweep's lease); the channel layer's popping task has one of its own (chat/redis_layer.py),
since its blocking pop would hold up every call queued behind it on a shared one.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ssl
from collections import deque
from collections.abc import Sequence
from typing import Any, cast

import hiredis
from redis.asyncio.connection import SSLConnection, parse_url
from redis.exceptions import ConnectionError, InvalidResponse, ResponseError

from chat.layer import Where, where

Arg = str | bytes | int | float
Command = Sequence[Arg]
CONNECT_TIMEOUT = 10.0  # seconds to reach Redis before a call fails
# What a URL may say besides where Redis is. No reply timeout (the state's redis-py pool had
# none either): the layer's popping task blocks on purpose, and on a shared connection one
# late reply would have to fail every call queued behind it.
URL_OPTIONS = ("socket_connect_timeout", "ssl_ca_certs", "ssl_cert_reqs", "ssl_check_hostname")
CERT_REQS = {"required": ssl.CERT_REQUIRED, "optional": ssl.CERT_OPTIONAL, "none": ssl.CERT_NONE}


def pack(commands: Sequence[Command]) -> bytes:
    """Commands in the Redis protocol (RESP), ready to write (hiredis packs each in C:
    numbers as their `repr`, text as UTF-8, the same bytes redis-py writes)."""
    # hiredis' stub types its argument as a 1-tuple; it takes any number of arguments.
    return b"".join([hiredis.pack_command(tuple(command)) for command in commands])  # type: ignore[arg-type]


def _unrefused(replies: list[Any]) -> list[Any]:
    """The replies, unless Redis refused one of the commands: then its `ResponseError`."""
    for reply in replies:
        if isinstance(reply, ResponseError):
            raise reply
    return replies


class _Pending:
    """The replies one call waits for."""

    __slots__ = ("count", "future", "replies")

    def __init__(self, future: asyncio.Future[list[Any]], count: int) -> None:
        self.future, self.count = future, count
        self.replies: list[Any] = []


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self.reader = hiredis.Reader(protocolError=InvalidResponse, replyError=ResponseError)
        self.pending: deque[_Pending] = deque()
        self.transport: asyncio.Transport | None = None
        self.lost: BaseException | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        pending = self.pending
        try:
            while (reply := self.reader.gets()) is not False:
                waiting = pending[0]
                waiting.replies.append(reply)
                if len(waiting.replies) == waiting.count:
                    pending.popleft()
                    if not waiting.future.done():  # its caller may have given up
                        waiting.future.set_result(waiting.replies)
        except Exception as error:  # a reply that makes no sense: this socket is done
            self._fail(error)
            if self.transport is not None:
                self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(ConnectionError(f"lost the connection to Redis: {exc or 'closed'}"))

    def _fail(self, error: BaseException) -> None:
        self.lost = self.lost or error
        while self.pending:
            waiting = self.pending.popleft()
            if not waiting.future.done():
                waiting.future.set_exception(self.lost)

    def send(self, commands: Sequence[Command]) -> asyncio.Future[list[Any]]:
        future = asyncio.get_running_loop().create_future()
        if self.lost is not None or self.transport is None or self.transport.is_closing():
            future.set_exception(self.lost or ConnectionError("the connection to Redis closed"))
            return future
        self.pending.append(_Pending(future, len(commands)))
        self.transport.write(pack(commands))
        return future


class RedisWire:
    """Calls to one Redis server and database over one shared connection per event loop,
    opened on first use and again after it is lost (the calls under way then fail)."""

    def __init__(
        self,
        host: str = "localhost",
        port: int = 6379,
        db: int = 0,
        password: str | None = None,
        username: str | None = None,
        path: str | None = None,
        tls: ssl.SSLContext | None = None,
        connect_timeout: float = CONNECT_TIMEOUT,
    ) -> None:
        self.host, self.port, self.db, self.path, self.tls = host, port, db, path, tls
        self.password, self.username, self.connect_timeout = password, username, connect_timeout
        self.where: Where = where({"host": host, "port": port, "db": db, "path": path})
        self._connection: _Connection | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._opening: asyncio.Future[_Connection] | None = None

    @classmethod
    def from_url(cls, url: str) -> RedisWire:
        """`redis://[[user]:password@]host[:port][/db]`, `rediss://` (TLS) or
        `unix://path?db=N`, as redis-py reads them, with the options in URL_OPTIONS; any other
        option is refused rather than silently ignored."""
        parts: dict[str, Any] = dict(parse_url(url))
        given = set(parts) - {"host", "port", "db", "password", "username", "path"}
        unknown = sorted(given - {"connection_class", *URL_OPTIONS})
        if unknown:
            raise ValueError(
                f"Redis URL option(s) {', '.join(unknown)} are not supported here; "
                f"supported: {', '.join(URL_OPTIONS)}"
            )
        tls = None
        if parts.get("connection_class") is SSLConnection:
            tls = ssl.create_default_context(cafile=parts.get("ssl_ca_certs"))
            tls.check_hostname = bool(parts.get("ssl_check_hostname", True))
            reqs = str(parts.get("ssl_cert_reqs", "required")).lower()
            if reqs not in CERT_REQS:
                raise ValueError(f"ssl_cert_reqs must be one of {', '.join(CERT_REQS)}")
            if reqs != "required":
                tls.check_hostname = False
            tls.verify_mode = CERT_REQS[reqs]
        return cls(
            host=parts.get("host", "localhost"),
            port=int(parts.get("port", 6379)),
            db=int(parts.get("db", 0)),
            password=parts.get("password"),
            username=parts.get("username"),
            path=parts.get("path"),
            tls=tls,
            connect_timeout=float(parts.get("socket_connect_timeout") or CONNECT_TIMEOUT),
        )

    async def call(self, *command: Arg) -> Any:
        """One command's reply; `ResponseError` if Redis refused it."""
        (reply,) = await self.pipeline([command])
        return reply

    async def pipeline(self, commands: Sequence[Command]) -> list[Any]:
        """The replies of these commands, sent together in one round trip (not atomically);
        the first refused one's `ResponseError` if any was refused."""
        connection = await self._connected()
        return _unrefused(await connection.send(commands))

    def script(self, source: str) -> Script:
        return Script(self, source)

    async def aclose(self) -> None:
        connection, self._connection, self._opening = self._connection, None, None
        if connection is not None and connection.transport is not None:
            with contextlib.suppress(RuntimeError):  # its event loop has already closed
                connection.transport.close()

    async def _connected(self) -> _Connection:
        loop = asyncio.get_running_loop()
        connection = self._connection
        if connection is not None and self._loop is loop and connection.lost is None:
            return connection
        if self._opening is None or self._loop is not loop or self._opening.done():
            # Everyone who asks meanwhile shares this one attempt.
            self._loop, self._connection = loop, None
            self._opening = loop.create_task(self._open())
        opening = self._opening
        try:
            return await asyncio.shield(opening)
        finally:
            if opening.done() and self._opening is opening:
                self._opening = None

    async def _open(self) -> _Connection:
        loop = asyncio.get_running_loop()
        connection: _Connection | None = None
        try:
            async with asyncio.timeout(self.connect_timeout):
                if self.path:
                    _, connection = await loop.create_unix_connection(_Connection, self.path)
                else:
                    _, connection = await loop.create_connection(
                        _Connection, self.host, self.port, ssl=self.tls
                    )
                hello: list[Command] = []
                if self.password:
                    user = [self.username] if self.username else []
                    hello.append(["AUTH", *user, self.password])
                if self.db:
                    hello.append(["SELECT", self.db])
                if hello:
                    _unrefused(await connection.send(hello))
        except BaseException as error:
            if connection is not None and connection.transport is not None:
                connection.transport.abort()  # refused the login, or too slow to answer it
            if isinstance(error, OSError | TimeoutError):
                where = self.path or f"{self.host}:{self.port}"
                raise ConnectionError(f"cannot reach Redis at {where}: {error}") from error
            raise
        self._connection = connection
        return connection


class Script:
    """A Lua script, run by its digest (`EVALSHA`), sent whole (`EVAL`) the first time a
    server does not know it."""

    def __init__(self, wire: RedisWire, source: str) -> None:
        self.wire, self.source = wire, source
        self.sha = hashlib.sha1(source.encode()).hexdigest()

    async def __call__(self, keys: Sequence[Arg], args: Sequence[Arg]) -> Any:
        return await self.pipelined(keys, args)

    async def pipelined(
        self,
        keys: Sequence[Arg],
        args: Sequence[Arg],
        before: Sequence[Command] = (),
        after: Sequence[Command] = (),
    ) -> Any:
        """The script's reply, run between the commands `before` and `after` in one round
        trip (their replies are dropped; all are sent again if the server did not know the
        script, so they must be safe to repeat)."""
        try:
            run = ("EVALSHA", self.sha, len(keys), *keys, *args)
            return (await self.wire.pipeline([*before, run, *after]))[len(before)]
        except ResponseError as error:
            if not str(error).startswith("NOSCRIPT"):
                raise
        run = ("EVAL", self.source, len(keys), *keys, *args)
        return (await self.wire.pipeline([*before, run, *after]))[len(before)]
