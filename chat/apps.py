from __future__ import annotations

from django.apps import AppConfig


class ChatAppConfig(AppConfig):
    name = "chat"
    verbose_name = "Chat"
