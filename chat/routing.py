"""Websocket routing: the staff monitor, behind the Origin check and Django's auth."""

from __future__ import annotations

from channels.auth import AuthMiddlewareStack
from channels.routing import URLRouter
from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import path

from chat.consumers import MonitorConsumer

websocket_urlpatterns = [
    path("ws/monitor/", MonitorConsumer.as_asgi()),
]


def websocket_application() -> AllowedHostsOriginValidator:
    """A page from a foreign origin cannot open the monitor socket with a staff cookie."""
    return AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
