"""A production-shaped deployment: two Redis-backed processes whose admin users and sessions
live in PostgreSQL (DATABASE_URL), with the documented production settings."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx2

from mcpchat.devserver import ROOT, Server
from tests.postgres_server import fresh_database
from tests.redis_server import require_redis

SECRET = "a-real-secret-key-for-this-test-only-0123456789abcdef"


def test_two_processes_share_the_admin_through_postgresql(tmp_path: Path) -> None:
    env = {
        "DATABASE_URL": fresh_database(),
        "MCPCHAT_REDIS_URL": require_redis(),
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": SECRET,
        "DJANGO_TLS": "0",  # plain http on loopback in this test
    }
    servers = [Server(tmp_path / f"p{i}", env=dict(env)) for i in range(2)]
    try:
        for server in servers:
            server.start()  # the first applies the migrations to PostgreSQL
        subprocess.run(
            [sys.executable, "manage.py", "createsuperuser", "--noinput"],
            cwd=ROOT,
            env={
                **os.environ,
                **env,
                "DJANGO_SUPERUSER_USERNAME": "ops",
                "DJANGO_SUPERUSER_PASSWORD": "pw-ops-1234",
                "DJANGO_SUPERUSER_EMAIL": "ops@example.com",
            },
            check=True,
            capture_output=True,
            timeout=60,
        )
        with httpx2.Client(base_url=servers[0].base_url, timeout=30) as web:
            page = web.get("/admin/login/").text
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
            assert token is not None
            login = web.post(
                "/admin/login/?next=/admin/",
                data={
                    "username": "ops",
                    "password": "pw-ops-1234",
                    "csrfmiddlewaretoken": token.group(1),
                },
                headers={"referer": f"{servers[0].base_url}/admin/login/"},
            )
            assert login.status_code == 302 and login.headers["location"] == "/admin/"
            # The session lives in PostgreSQL: the other process knows it.
            other = web.get(f"{servers[1].base_url}/admin/monitor/snapshot.json")
            assert other.status_code == 200 and other.json()["online"] == 0
    finally:
        for server in servers:
            server.stop()


# The production environment the README documents ("Behind a TLS proxy").
PRODUCTION = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": SECRET,
    "DJANGO_ALLOWED_HOSTS": "chat.example.com",
    "DJANGO_CSRF_TRUSTED_ORIGINS": "https://chat.example.com",
    "DJANGO_HSTS_INCLUDE_SUBDOMAINS": "1",
    "DJANGO_HSTS_PRELOAD": "1",
    "MCPCHAT_TRUSTED_PROXY_HEADER": "X-Forwarded-For",
    "MCPCHAT_ALLOWED_ORIGINS": "https://chat.example.com",
}


def test_the_documented_production_settings_pass_the_deploy_check() -> None:
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**os.environ, **PRODUCTION},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


def test_behind_the_tls_proxy_pages_are_https_only(tmp_path: Path) -> None:
    env = {**PRODUCTION, "DJANGO_ALLOWED_HOSTS": "chat.example.com,127.0.0.1"}
    server = Server(tmp_path, env=env).start()
    try:
        with httpx2.Client(base_url=server.base_url, timeout=30) as web:
            plain = web.get("/admin/login/", headers={"host": "chat.example.com"})
            assert plain.status_code == 301
            assert plain.headers["location"] == "https://chat.example.com/admin/login/"
            tls = web.get(
                "/admin/login/",
                headers={"host": "chat.example.com", "x-forwarded-proto": "https"},
            )
            assert tls.status_code == 200
            assert "max-age=31536000" in tls.headers["strict-transport-security"]
            assert "Secure" in tls.headers["set-cookie"]  # the CSRF cookie
    finally:
        server.stop()
