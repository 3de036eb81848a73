"""Django settings for mcpchat, all from the environment.

`DJANGO_*` variables configure Django, `MCPCHAT_*` the chat (see chat/core/config.py and the
README). Defaults suit a local machine; with DJANGO_DEBUG=0 (production) a real secret key
is required and the server refuses to start without one.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

from chat.core.config import ChatConfig

BASE_DIR = Path(__file__).resolve().parent.parent
DEV_SECRET_KEY = "django-insecure-mcpchat-local-development-only"


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return raw.strip().lower() in ("1", "true", "yes", "on")


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", True)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", DEV_SECRET_KEY)
if not DEBUG and (SECRET_KEY == DEV_SECRET_KEY or len(SECRET_KEY) < 32):
    raise ImproperlyConfigured(
        "DJANGO_DEBUG=0 (production) needs DJANGO_SECRET_KEY set to a random value of at least "
        "32 characters, e.g. python -c 'import secrets; print(secrets.token_urlsafe(50))'"
    )
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "chat",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "mcpchat.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]
ASGI_APPLICATION = "mcpchat.asgi.application"


def database(url: str | None) -> dict[str, object]:
    """The admin's user database: DATABASE_URL (postgres://user:password@host:port/name), or
    the embedded SQLite file. Chats are never stored in it."""
    if not url:
        path = os.environ.get("DJANGO_SQLITE_PATH", str(BASE_DIR / "db.sqlite3"))
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": path}
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise ImproperlyConfigured(f"DATABASE_URL must be postgres://..., not {parts.scheme}://")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parts.path.lstrip("/")),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
        "CONN_MAX_AGE": 60,
    }


DATABASES = {"default": database(os.environ.get("DATABASE_URL"))}

# Chats never touch the database; the channel layer only carries doorbells. Unset, one process
# keeps the chats in memory with no extra services; with MCPCHAT_REDIS_URL any number of
# processes share the chat state and ring each other's doorbells through Redis.
MCPCHAT_REDIS_URL = os.environ.get("MCPCHAT_REDIS_URL") or None
if MCPCHAT_REDIS_URL:
    from chat.redis_layer import layer_config
    from chat.redis_wire import RedisWire

    try:  # parsing only: a URL option the connection would not honour stops the start
        RedisWire.from_url(MCPCHAT_REDIS_URL)
    except ValueError as error:
        raise ImproperlyConfigured(f"MCPCHAT_REDIS_URL: {error}") from error

    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "chat.redis_layer.PipelinedRedisChannelLayer",
            "CONFIG": layer_config(MCPCHAT_REDIS_URL),
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "chat.local_layer.LocalChannelLayer"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Production runs behind a TLS proxy (README: "Behind a TLS proxy"): it terminates TLS and
# says so in X-Forwarded-Proto. DJANGO_TLS=0 is for a production-mode server on plain http.
if not DEBUG and env_bool("DJANGO_TLS", True):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", "31536000"))
    # These two bind every subdomain and are hard to undo: the domain owner turns them on.
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", False)
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", False)
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True

LOG_LEVEL = os.environ.get("MCPCHAT_LOG_LEVEL", "INFO")
# Loggers that report refused requests: one short line each, no traceback, rate-limited.
# The MCP transport's own errors come from clients that vanish mid-request (a session deleted
# while its last POST is still being read), so they are refusals too.
REFUSAL_LOGGERS = (
    "django.security",
    "mcp.server.streamable_http",
    "mcp.server.streamable_http_manager",
    "fastmcp.server.http",
)
# The MCP stack logs whole JSON-RPC messages (message text, client ids) at DEBUG; chats must
# never reach a log, so these stay at INFO whatever level the server runs at.
PROTOCOL_LOGGERS = ("mcp", "fastmcp", "sse_starlette", "httpx", "httpcore")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"refusals": {"()": "mcpchat.logs.Refusals"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler"},
        # Handler filters see records of child loggers too (django.security.DisallowedHost).
        "refusals": {"class": "logging.StreamHandler", "filters": ["refusals"]},
    },
    "loggers": {
        "chat": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        **{name: {"level": "INFO"} for name in PROTOCOL_LOGGERS},
        **{name: {"handlers": ["refusals"], "propagate": False} for name in REFUSAL_LOGGERS},
    },
}

MCPCHAT = ChatConfig.from_env(os.environ)
MCPCHAT_ACCESS_TOKEN = os.environ.get("MCPCHAT_ACCESS_TOKEN") or None
# Browser origins (besides the server's own) whose pages may call /mcp, e.g. a web client.
MCPCHAT_ALLOWED_ORIGINS = env_list("MCPCHAT_ALLOWED_ORIGINS", "")
# Behind a reverse proxy: the header it puts the client address in (e.g. X-Forwarded-For; its
# last entry is used). Unset, the peer address counts, as it must when clients connect directly.
MCPCHAT_TRUSTED_PROXY_HEADER = os.environ.get("MCPCHAT_TRUSTED_PROXY_HEADER") or None
MCPCHAT_AUTO_MIGRATE = env_bool("MCPCHAT_AUTO_MIGRATE", True)
# FastMCP's OpenTelemetry spans cost a few percent of every call even with no exporter
# (docs/PERFORMANCE.md): off unless the operator asks for them with FastMCP's own setting
# (FASTMCP_TELEMETRY_MODE=native, or propagation_only).
FASTMCP_TELEMETRY_MODE = os.environ.get("FASTMCP_TELEMETRY_MODE") or "off"
# Staff see counts and labels only; display names appear in the monitor only when this is on.
MCPCHAT_MONITOR_SHOW_NAMES = env_bool("MCPCHAT_MONITOR_SHOW_NAMES", False)
