"""Staff screens of the inbox: your notifications (mark read, mark all read) and preferences."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from core import notifications as N
from core.exceptions import DomainError
from core.views import tenant_view

PAGE_SIZE = 50


@tenant_view()
def notification_list(request: HttpRequest) -> HttpResponse:
    """Your notifications in this tenant, newest first; `?unread=1` shows only unread ones."""
    unread_only = request.GET.get("unread") == "1"
    page = Paginator(N.inbox_list(request.actor, unread_only=unread_only), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "core/notifications.html",
        {"page": page, "notifications": page.object_list, "unread_only": unread_only},
    )


@tenant_view()
@require_POST
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark one notification read, then open its link (`open=1`) or go back to the inbox."""
    try:
        notification = N.notification_mark_read(actor=request.actor, notification_id=pk)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("notifications")
    link = notification.link
    wants_open = request.POST.get("open") == "1" and link
    if wants_open and url_has_allowed_host_and_scheme(link, {request.get_host()}):
        return redirect(link)
    return redirect("notifications")


@tenant_view()
@require_POST
def notification_read_all(request: HttpRequest) -> HttpResponse:
    """Mark every unread notification read."""
    n = N.notifications_mark_all_read(actor=request.actor)
    messages.success(request, f"{n} notification{'' if n == 1 else 's'} marked read.")
    return redirect("notifications")


@tenant_view()
def notification_preferences(request: HttpRequest) -> HttpResponse:
    """Per kind of notice: whether it reaches your inbox and your email."""
    actor = request.actor
    if request.method == "POST":
        inbox = set(request.POST.getlist("inbox"))
        email = set(request.POST.getlist("email"))
        current = {p["kind"]: p for p in N.notification_preferences(actor)}
        changed = 0
        for kind, pref in current.items():
            want = (kind in inbox, kind in email)
            if want != (pref["inbox"], pref["email"]):
                N.notification_preference_set(actor=actor, kind=kind, inbox=want[0], email=want[1])
                changed += 1
        messages.success(request, "Preferences saved." if changed else "Nothing changed.")
        return redirect("notification-preferences")
    return render(
        request,
        "core/notifications_preferences.html",
        {"preferences": N.notification_preferences(actor)},
    )
