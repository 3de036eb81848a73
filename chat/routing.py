from __future__ import annotations

from django.urls import path

from chat.consumers import MonitorConsumer

websocket_urlpatterns = [
    path("ws/monitor/", MonitorConsumer.as_asgi()),
]
