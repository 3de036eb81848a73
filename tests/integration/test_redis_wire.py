"""The Redis connection the chat state and the layer's popping task share calls over
(chat/redis_wire.py), against the real Redis: every reply reaches its own caller, whatever the
others sharing the socket do, and a lost connection is an error and then a new connection."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import socket
import ssl
from collections.abc import AsyncIterator

import pytest
import redis
from redis.exceptions import ConnectionError, ResponseError

from chat.redis_wire import RedisWire
from tests.redis_server import URL, require_redis


@pytest.fixture
async def wire() -> AsyncIterator[RedisWire]:
    w = RedisWire.from_url(require_redis())
    yield w
    await w.aclose()


async def test_many_calls_at_once_each_get_their_own_reply(wire: RedisWire) -> None:
    await wire.pipeline([("SET", f"k{i}", f"v{i}") for i in range(200)])
    got = await asyncio.gather(
        *(wire.call("GET", f"k{i}") for i in range(200)),
        *(wire.pipeline([("GET", f"k{i}"), ("STRLEN", f"k{i}")]) for i in range(200)),
    )
    assert got[:200] == [f"v{i}".encode() for i in range(200)]
    assert got[200:] == [[f"v{i}".encode(), len(f"v{i}")] for i in range(200)]


async def test_the_database_of_the_url_is_the_one_used(wire: RedisWire) -> None:
    assert wire.db != 0, "the test database must not be the default one"
    key = f"where-{secrets.token_hex(4)}"
    await wire.call("SET", key, "here", "EX", 60)
    with redis.Redis.from_url(URL) as same, redis.Redis(db=0) as default:
        assert same.get(key) == b"here" and default.get(key) is None


async def test_a_caller_that_gives_up_leaves_the_others_their_replies(wire: RedisWire) -> None:
    await wire.call("SET", "a", "1")
    # Blocks the connection for a moment, so the call behind it is still waiting when it is
    # cancelled; the reply it would have had must go to nobody else.
    blocking = asyncio.ensure_future(wire.call("BLPOP", "never", 0.5))
    gave_up = asyncio.ensure_future(wire.call("GET", "a"))
    await asyncio.sleep(0.05)
    gave_up.cancel()
    after = asyncio.ensure_future(wire.call("INCR", "counter"))
    assert await blocking is None
    with pytest.raises(asyncio.CancelledError):
        await gave_up
    assert await after == 1
    assert await wire.call("GET", "a") == b"1"


async def test_a_refused_command_fails_its_own_call_only(wire: RedisWire) -> None:
    await wire.call("SET", "text", "not a number")
    ok, refused = await asyncio.gather(
        wire.call("SET", "n", 5), wire.call("INCR", "text"), return_exceptions=True
    )
    assert ok == b"OK" and isinstance(refused, ResponseError)
    with pytest.raises(ResponseError, match="not an integer"):
        await wire.pipeline([("INCR", "n"), ("INCR", "text"), ("INCR", "n")])
    assert await wire.call("GET", "n") == b"7"  # a pipeline is not a transaction


async def test_a_script_runs_even_after_the_server_forgot_it(wire: RedisWire) -> None:
    script = wire.script("return redis.call('INCRBY', KEYS[1], ARGV[1])")
    assert await script(["s"], [2]) == 2
    await wire.call("SCRIPT", "FLUSH")  # as a restarted Redis would have
    assert await script(["s"], [3]) == 5
    with pytest.raises(ResponseError):
        await wire.script("return redis.call('NOSUCHCOMMAND')")([], [])


async def test_a_script_between_other_commands_answers_for_itself(wire: RedisWire) -> None:
    script = wire.script("return redis.call('GET', KEYS[1])")
    await wire.call("SCRIPT", "FLUSH")  # its first try is refused: all of it goes again
    before, after = [("SET", "k", "staged")], [("SET", "after", "1"), ("INCR", "n")]
    assert await script.pipelined(["k"], [], before, after) == b"staged"
    assert await wire.pipeline([("GET", "after"), ("GET", "n")]) == [b"1", b"2"]


async def test_a_lost_connection_fails_the_calls_under_way_and_the_next_reconnects(
    wire: RedisWire,
) -> None:
    name = f"wire-{secrets.token_hex(4)}"
    await wire.call("CLIENT", "SETNAME", name)
    stuck = asyncio.ensure_future(wire.call("BLPOP", "never", 30))
    await asyncio.sleep(0.05)
    with redis.Redis.from_url(URL) as admin:
        ids = [c["id"] for c in admin.client_list() if c.get("name") == name]
        assert len(ids) == 1
        admin.client_kill_filter(_id=ids[0])
    with pytest.raises(ConnectionError):
        await asyncio.wait_for(stuck, 10)  # not after BLPOP's 30 s
    assert await wire.call("PING") == b"PONG"


async def test_a_redis_that_is_not_there_is_a_connection_error() -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    nowhere = RedisWire("127.0.0.1", port)
    with pytest.raises(ConnectionError, match=f"127.0.0.1:{port}"):
        await nowhere.call("PING")


async def test_a_password_in_the_url_logs_in(wire: RedisWire) -> None:
    user, password = f"mcpchat-test-{secrets.token_hex(4)}", secrets.token_hex(8)
    with redis.Redis.from_url(URL) as admin:
        admin.acl_setuser(
            user, enabled=True, passwords=[f"+{password}"], commands=["+@all"], keys=["*"]
        )
        try:
            url = URL.replace("redis://", f"redis://{user}:{password}@")
            logged_in = RedisWire.from_url(url)
            assert await logged_in.call("ACL", "WHOAMI") == user.encode()
            await logged_in.aclose()
            wrong = RedisWire.from_url(url.replace(password, "wrong"))
            with pytest.raises(ResponseError):
                await wrong.call("PING")
            with contextlib.suppress(Exception):
                await wrong.aclose()
        finally:
            admin.acl_deluser(user)


def test_a_url_option_this_connection_does_not_honour_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="socket_timeout"):
        RedisWire.from_url("redis://127.0.0.1:6379/0?socket_timeout=5")
    honoured = RedisWire.from_url("redis://127.0.0.1/3?socket_connect_timeout=2")
    assert (honoured.db, honoured.connect_timeout, honoured.tls) == (3, 2.0, None)


def test_rediss_checks_the_certificate_unless_the_url_says_otherwise() -> None:
    strict = RedisWire.from_url("rediss://redis.example.com:6380/0")
    assert strict.tls is not None and strict.tls.verify_mode == ssl.CERT_REQUIRED
    assert strict.tls.check_hostname
    lax = RedisWire.from_url("rediss://redis.example.com:6380/0?ssl_cert_reqs=none")
    assert lax.tls is not None and lax.tls.verify_mode == ssl.CERT_NONE
    with pytest.raises(ValueError, match="ssl_cert_reqs"):
        RedisWire.from_url("rediss://redis.example.com/0?ssl_cert_reqs=maybe")
