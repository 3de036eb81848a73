"""The real Redis the tests use: a database number of their own, flushed for every test.

Locally a missing Redis skips these tests and says why; in CI (CI=true) it fails them."""

from __future__ import annotations

import os

import pytest
import redis

URL = os.environ.get("MCPCHAT_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


def require_redis() -> str:
    """The test Redis URL, emptied; skip (or fail in CI) when Redis is not reachable."""
    try:
        with redis.Redis.from_url(URL, socket_connect_timeout=2, socket_timeout=5) as r:
            r.flushdb()
    except redis.RedisError as e:
        why = f"Redis is not reachable at {URL} ({e}); start it or set MCPCHAT_TEST_REDIS_URL"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(why)
        pytest.skip(why)
    return URL
