"""The real PostgreSQL the tests use for the admin's user database: a database of their own,
created afresh. Locally a missing server skips; in CI (CI=true) it fails."""

from __future__ import annotations

import os

import psycopg
import pytest
from psycopg import sql

ADMIN_URL = os.environ.get(
    "MCPCHAT_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"
)


def fresh_database(name: str = "mcpchat_test") -> str:
    """A DATABASE_URL for an empty database called `name`."""
    try:
        with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.Error as e:
        why = f"PostgreSQL is not reachable at {ADMIN_URL} ({e}); set MCPCHAT_TEST_POSTGRES_URL"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(why)
        pytest.skip(why)
    return ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
