"""Staff-only pages inside the admin: the live monitor and its JSON snapshot."""

from __future__ import annotations

from dataclasses import asdict

from asgiref.sync import async_to_sync
from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.response import TemplateResponse

from chat.runtime import service


def monitor_page(request: HttpRequest) -> HttpResponse:
    context = {**admin.site.each_context(request), "title": "Live chat monitor"}
    return TemplateResponse(request, "admin/chat/monitor.html", context)


def monitor_snapshot(request: HttpRequest) -> JsonResponse:
    # The chat state lives on the event loop; async_to_sync runs the read there.
    page = request.GET.get("page", "0")
    page_number = int(page) if page.isdigit() and len(page) < 6 else 0
    snapshot = async_to_sync(service().snapshot)(settings.MCPCHAT_MONITOR_SHOW_NAMES, page_number)
    return JsonResponse(asdict(snapshot))


# admin_view: staff only; anyone else is sent to the admin login page.
monitor_page_view = admin.site.admin_view(monitor_page)
monitor_snapshot_view = admin.site.admin_view(monitor_snapshot)
