from __future__ import annotations

from django.contrib import admin
from django.urls import path

from chat.views import monitor_page_view, monitor_snapshot_view

urlpatterns = [
    # Before admin.site.urls, which would otherwise claim every admin/ path.
    path("admin/monitor/", monitor_page_view, name="chat-monitor"),
    path("admin/monitor/snapshot.json", monitor_snapshot_view, name="chat-monitor-snapshot"),
    path("admin/", admin.site.urls),
]
