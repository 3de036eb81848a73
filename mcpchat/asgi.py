"""ASGI entry point: `daphne mcpchat.asgi:application` (or uvicorn).

http /mcp     -> FastMCP (lifespan started by McpMount)
http other    -> Django (admin, monitor), static files included
websocket     -> Channels consumers (staff monitor)
lifespan      -> McpMount.lifespan (uvicorn; daphne sends none)
"""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mcpchat.settings")

from django.core.asgi import get_asgi_application

django_app = get_asgi_application()  # sets Django up before anything imports models

from channels.routing import ProtocolTypeRouter  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from chat.mcp_app import cache_input_schemas, mcp  # noqa: E402
from chat.routing import websocket_application  # noqa: E402
from mcpchat.body_limit import BodyLimit, limit_daphne_bodies  # noqa: E402
from mcpchat.bootstrap import migrate_if_needed  # noqa: E402
from mcpchat.mcp_exchange import host_origin_guard  # noqa: E402
from mcpchat.mcp_mount import MCP_PATH, McpMount, route_http  # noqa: E402

migrate_if_needed()
limit_daphne_bodies(settings.MCPCHAT.max_body_bytes)  # no effect unless daphne serves

mcp_mount = McpMount(
    mcp.http_app(
        path=MCP_PATH,
        session_idle_timeout=settings.MCPCHAT.session_idle_timeout,
        host_origin_protection=False,  # McpMount runs FastMCP's guard itself, before the app
    ),
    guard=host_origin_guard(settings.ALLOWED_HOSTS, settings.MCPCHAT_ALLOWED_ORIGINS),
    access_token=settings.MCPCHAT_ACCESS_TOKEN,
    on_start=cache_input_schemas,
    max_sessions=settings.MCPCHAT.max_sessions,
)

application = ProtocolTypeRouter(
    {
        "http": BodyLimit(
            route_http(mcp_mount, ASGIStaticFilesHandler(django_app)),
            settings.MCPCHAT.max_body_bytes,
        ),
        "websocket": websocket_application(),
        "lifespan": mcp_mount.lifespan,
    }
)
