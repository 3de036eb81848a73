"""Settings come from the environment, read once when Django starts."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from mcpchat.devserver import ROOT

READ = (
    "import django, json; from django.conf import settings; django.setup();"
    "c = settings.MCPCHAT; print(json.dumps({'capacity': c.room_capacity, "
    "'mailbox': c.mailbox_size, 'ttl': c.message_ttl, 'idle': c.idle_timeout, "
    "'default_wait': c.default_wait, 'max_wait': c.max_wait, 'hosts': settings.ALLOWED_HOSTS, "
    "'token': settings.MCPCHAT_ACCESS_TOKEN, 'names': settings.MCPCHAT_MONITOR_SHOW_NAMES}))"
)


def settings_with(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("MCPCHAT_", "DJANGO_"))}
    return subprocess.run(
        [sys.executable, "-c", READ],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "mcpchat.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_chat_settings_are_read_from_the_environment() -> None:
    done = settings_with(
        {
            "MCPCHAT_ROOM_CAPACITY": "6",
            "MCPCHAT_MAILBOX_SIZE": "17",
            "MCPCHAT_MESSAGE_TTL": "12.5",
            "MCPCHAT_IDLE_TIMEOUT": "45",
            "MCPCHAT_DEFAULT_WAIT": "7",
            "MCPCHAT_MAX_WAIT": "9",
            "DJANGO_ALLOWED_HOSTS": "chat.example.com, 127.0.0.1",
            "MCPCHAT_ACCESS_TOKEN": "tok",
            "MCPCHAT_MONITOR_SHOW_NAMES": "1",
        }
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "capacity": 6,
        "mailbox": 17,
        "ttl": 12.5,
        "idle": 45,
        "default_wait": 7,
        "max_wait": 9,
        "hosts": ["chat.example.com", "127.0.0.1"],
        "token": "tok",
        "names": True,
    }


def test_inconsistent_settings_stop_the_start_with_a_clear_message() -> None:
    done = settings_with({"MCPCHAT_DEFAULT_WAIT": "60", "MCPCHAT_MAX_WAIT": "30"})
    assert done.returncode != 0
    assert "MCPCHAT_DEFAULT_WAIT must not exceed MCPCHAT_MAX_WAIT" in done.stderr


def test_a_redis_url_option_that_would_be_ignored_stops_the_start() -> None:
    done = settings_with({"MCPCHAT_REDIS_URL": "redis://127.0.0.1:6379/0?socket_timeout=5"})
    assert done.returncode != 0
    assert "MCPCHAT_REDIS_URL: Redis URL option(s) socket_timeout are not supported" in done.stderr
    assert settings_with({"MCPCHAT_REDIS_URL": "redis://127.0.0.1:6379/0"}).returncode == 0


TELEMETRY = (
    "import django, json; django.setup(); import fastmcp; from chat import mcp_app; "
    "print(json.dumps(fastmcp.settings.telemetry_mode))"
)


@pytest.mark.parametrize(("given", "mode"), [(None, "off"), ("native", "native")])
def test_fastmcp_spans_are_off_unless_asked_for(given: str | None, mode: str) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FASTMCP_")}
    env = {**clean, "DJANGO_SETTINGS_MODULE": "mcpchat.settings"}
    if given:
        env["FASTMCP_TELEMETRY_MODE"] = given
    done = subprocess.run(
        [sys.executable, "-c", TELEMETRY],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == mode
