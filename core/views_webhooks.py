"""Webhook screens (tenant.manage): endpoints, their settings and secret, and the delivery log.

Every change goes through `core.webhooks` services (scope check, audit entry, URL safety); these
views only turn form posts into calls and refusals into messages beside the right field. A new
or rotated secret is shown once: it travels in the session to the page the redirect opens and is
popped there, so a reload neither shows it again nor creates a second endpoint.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Min, OuterRef, Q, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_POST

from core import scopes as S
from core import webhooks
from core.events import event_types
from core.exceptions import DomainError, NotFound
from core.models import WebhookDelivery
from core.views import tenant_view

SESSION_NEW_SECRET = "webhook_new_secret"
LOG_PAGE_SIZE = 25
# the fields a refusal can name; anything else is shown above the form
FORM_FIELDS = ("url", "event_types", "description")


def _not_found(request: HttpRequest, what: str) -> HttpResponse:
    return render(request, "core/not_found.html", {"what": what}, status=404)


def _errors(exc: DomainError) -> dict:
    """A refusal as {field: message}: the URL check names `url`, unknown types `event_types`."""
    details = exc.details if isinstance(exc.details, dict) else {}
    field = details.get("field", "")
    if not field and exc.code == "unknown_event_type":
        field = "event_types"
    if field not in FORM_FIELDS:
        field = next((k for k in details if k in FORM_FIELDS), "form")
    return {field: exc.message}


def _typed(request: HttpRequest) -> dict:
    return {
        "url": request.POST.get("url", "").strip(),
        "description": request.POST.get("description", "").strip(),
        "event_types": request.POST.getlist("event_types"),
    }


def _catalogue(chosen: list[str]) -> list[dict]:
    return [
        {"name": t.name, "description": t.description, "checked": t.name in chosen}
        for t in event_types()
    ]


def _with_state(endpoints):
    """Add the last delivery's outcome and since when the oldest pending one has been failing.

    The selector already counts pending deliveries (`pending_count`).
    """
    last = WebhookDelivery.objects.filter(endpoint=OuterRef("pk"), attempts__gt=0).order_by(
        "-last_attempt_at", "-id"
    )
    pending = Q(deliveries__status=WebhookDelivery.Status.PENDING)
    return endpoints.annotate(
        last_status=Subquery(last.values("status")[:1]),
        last_code=Subquery(last.values("last_status_code")[:1]),
        last_at=Subquery(last.values("last_attempt_at")[:1]),
        failing_since=Min(
            "deliveries__first_attempt_at", filter=pending & Q(deliveries__attempts__gt=0)
        ),
    )


def _list_context(actor, **extra) -> dict:
    typed = extra.pop("typed", {"url": "", "description": "", "event_types": []})
    return {
        "endpoints": _with_state(webhooks.webhook_endpoint_list(actor)),
        "typed": typed,
        "catalogue": _catalogue(typed["event_types"]),
        "errors": {},
        **extra,
    }


@tenant_view(S.TENANT_MANAGE)
def webhook_list(request: HttpRequest) -> HttpResponse:
    """The tenant's webhook endpoints and the form that adds one."""
    actor = request.actor
    if request.method == "POST":
        typed = _typed(request)
        try:
            endpoint, secret = webhooks.webhook_endpoint_create(
                actor=actor,
                url=typed["url"],
                event_types=typed["event_types"],
                description=typed["description"],
            )
        except DomainError as exc:
            return render(
                request,
                "core/webhooks/list.html",
                _list_context(actor, typed=typed, errors=_errors(exc)),
                status=exc.http_status,
            )
        request.session[SESSION_NEW_SECRET] = {"id": endpoint.pk, "secret": secret, "new": True}
        messages.success(request, f"Webhook endpoint {endpoint.pk} added.")
        return redirect("webhook-detail", pk=endpoint.pk)
    return render(request, "core/webhooks/list.html", _list_context(actor))


def _log_context(request: HttpRequest, endpoint) -> dict:
    deliveries = (
        webhooks.webhook_delivery_list(request.actor, endpoint_id=endpoint.pk)
        .select_related("event", "requested_by")
        .prefetch_related("attempt_log")
        .order_by("-id")
    )
    page = Paginator(deliveries, LOG_PAGE_SIZE).get_page(request.GET.get("page"))
    return {
        "endpoint": endpoint,
        "page": page,
        "any_pending": any(d.status == WebhookDelivery.Status.PENDING for d in page),
    }


def _detail(request: HttpRequest, endpoint, *, typed=None, errors=None, status=200):
    typed = typed or {
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": list(endpoint.event_types or []),
    }
    shown = request.session.get(SESSION_NEW_SECRET)
    new_secret = None
    if shown and shown.get("id") == endpoint.pk:
        new_secret = request.session.pop(SESSION_NEW_SECRET)
    pending = WebhookDelivery.objects.filter(
        endpoint=endpoint, status=WebhookDelivery.Status.PENDING
    ).aggregate(n=Count("id"), since=Min("first_attempt_at", filter=Q(attempts__gt=0)))
    context = {
        **_log_context(request, endpoint),
        "pending_count": pending["n"],
        "failing_since": pending["since"],
        "typed": typed,
        "catalogue": _catalogue(typed["event_types"]),
        "errors": errors or {},
        "new_secret": new_secret,
        "grace_hours": int(webhooks.ROTATION_GRACE.total_seconds() // 3600),
        "retry_hours": int(webhooks.RETRY_WINDOW.total_seconds() // 3600),
        "timeout": webhooks.TIMEOUT_SECONDS,
    }
    return render(request, "core/webhooks/detail.html", context, status=status)


@tenant_view(S.TENANT_MANAGE)
def webhook_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One endpoint: its settings (editable), the actions on it and its delivery log."""
    actor = request.actor
    try:
        endpoint = webhooks.webhook_endpoint_get(actor, pk)
    except NotFound:
        return _not_found(request, f"Webhook endpoint {pk}")
    if request.method == "POST":
        typed = _typed(request)
        try:
            webhooks.webhook_endpoint_update(
                actor=actor,
                endpoint_id=endpoint.pk,
                url=typed["url"],
                event_types=typed["event_types"],
                description=typed["description"],
            )
        except DomainError as exc:
            return _detail(
                request, endpoint, typed=typed, errors=_errors(exc), status=exc.http_status
            )
        messages.success(request, "Endpoint settings saved.")
        return redirect("webhook-detail", pk=endpoint.pk)
    return _detail(request, endpoint)


@tenant_view(S.TENANT_MANAGE)
def webhook_log(request: HttpRequest, pk: int) -> HttpResponse:
    """The delivery log alone (HTMX refreshes it while deliveries are pending)."""
    try:
        endpoint = webhooks.webhook_endpoint_get(request.actor, pk)
    except NotFound:
        return _not_found(request, f"Webhook endpoint {pk}")
    return render(request, "core/webhooks/_log.html", _log_context(request, endpoint))


def _after_action(request: HttpRequest, endpoint, *, ok: str = "", error: str = ""):
    """HTMX: the refreshed log with the outcome on top; otherwise a message and the detail page."""
    if request.headers.get("HX-Request"):
        context = {**_log_context(request, endpoint), "outcome": ok, "outcome_error": error}
        return render(request, "core/webhooks/_log.html", context)
    if error:
        messages.error(request, error)
    elif ok:
        messages.success(request, ok)
    return redirect("webhook-detail", pk=endpoint.pk)


def _endpoint_action(request: HttpRequest, pk: int):
    try:
        return webhooks.webhook_endpoint_get(request.actor, pk), None
    except NotFound:
        return None, _not_found(request, f"Webhook endpoint {pk}")


@tenant_view(S.TENANT_MANAGE)
@require_POST
def webhook_test(request: HttpRequest, pk: int) -> HttpResponse:
    """Send a `webhook.test` message now and show how the endpoint answered."""
    endpoint, missing = _endpoint_action(request, pk)
    if missing:
        return missing
    try:
        delivery = webhooks.webhook_send_test(actor=request.actor, endpoint_id=endpoint.pk)
    except DomainError as exc:
        return _after_action(request, endpoint, error=exc.message)
    code = delivery.last_status_code
    answer = f"HTTP {code}" if code else "no answer"
    if delivery.status == WebhookDelivery.Status.DELIVERED:
        return _after_action(request, endpoint, ok=f"Test event delivered ({answer}).")
    attempt = delivery.attempt_log.order_by("-number").first()
    why = f": {attempt.error}" if attempt is not None and attempt.error else ""
    return _after_action(request, endpoint, error=f"Test event not delivered ({answer}){why}.")


@tenant_view(S.TENANT_MANAGE)
@require_POST
def webhook_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    """Give the endpoint a new secret (shown once); the old one keeps signing for a while."""
    endpoint, missing = _endpoint_action(request, pk)
    if missing:
        return missing
    try:
        endpoint, secret = webhooks.webhook_secret_rotate(
            actor=request.actor, endpoint_id=endpoint.pk
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        request.session[SESSION_NEW_SECRET] = {"id": endpoint.pk, "secret": secret, "new": False}
        messages.success(request, "Secret rotated.")
    return redirect("webhook-detail", pk=endpoint.pk)


@tenant_view(S.TENANT_MANAGE)
@require_POST
def webhook_set_active(request: HttpRequest, pk: int) -> HttpResponse:
    """Disable the endpoint (with a reason) or enable it again (pending deliveries resume)."""
    endpoint, missing = _endpoint_action(request, pk)
    if missing:
        return missing
    active = request.POST.get("active") == "1"
    try:
        webhooks.webhook_endpoint_set_active(
            actor=request.actor,
            endpoint_id=endpoint.pk,
            active=active,
            reason=request.POST.get("reason", "").strip(),
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Endpoint enabled." if active else "Endpoint disabled.")
    return redirect("webhook-detail", pk=endpoint.pk)


@tenant_view(S.TENANT_MANAGE)
@require_POST
def webhook_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete the endpoint and its delivery log."""
    endpoint, missing = _endpoint_action(request, pk)
    if missing:
        return missing
    try:
        webhooks.webhook_endpoint_delete(actor=request.actor, endpoint_id=endpoint.pk)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("webhook-detail", pk=endpoint.pk)
    messages.success(request, f"Webhook endpoint {pk} deleted.")
    return redirect("webhooks")


@tenant_view(S.TENANT_MANAGE)
@require_POST
def webhook_replay(request: HttpRequest, pk: int, delivery_pk: int) -> HttpResponse:
    """Queue one delivery again, behind the endpoint's pending ones."""
    endpoint, missing = _endpoint_action(request, pk)
    if missing:
        return missing
    try:
        delivery = webhooks.webhook_delivery_get(request.actor, delivery_pk)
        if delivery.endpoint_id != endpoint.pk:
            raise NotFound("No such delivery.")
    except NotFound:
        return _not_found(request, f"Delivery {delivery_pk}")
    try:
        replay = webhooks.webhook_delivery_replay(actor=request.actor, delivery_id=delivery.pk)
    except DomainError as exc:
        return _after_action(request, endpoint, error=exc.message)
    return _after_action(
        request, endpoint, ok=f"Delivery {delivery.pk} queued again as delivery {replay.pk}."
    )


def _moment(text: str):
    """A `datetime-local` value in the current (tenant's) zone, or None when empty/invalid."""
    try:
        parsed = parse_datetime((text or "").strip())
        if parsed is not None and timezone.is_naive(parsed):
            parsed = timezone.make_aware(parsed)
    except (ValueError, OverflowError):  # 2026-02-30, an offset out of range
        return None
    if parsed is not None and not 1970 <= parsed.year <= 2099:
        return None
    return parsed


@tenant_view(S.TENANT_MANAGE)
@require_POST
def webhook_replay_since(request: HttpRequest, pk: int) -> HttpResponse:
    """Queue again every event of the endpoint's types that occurred in a time range."""
    endpoint, missing = _endpoint_action(request, pk)
    if missing:
        return missing
    since = _moment(request.POST.get("since", ""))
    until_text = request.POST.get("until", "").strip()
    until = _moment(until_text)
    if since is None or (until_text and until is None):
        messages.error(request, "Give the start (and optionally the end) as a date and time.")
        return redirect("webhook-detail", pk=endpoint.pk)
    try:
        count = webhooks.webhook_replay_range(
            actor=request.actor, endpoint_id=endpoint.pk, since=since, until=until
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, f"{count} event{'s' if count != 1 else ''} queued again for this endpoint."
        )
    return redirect("webhook-detail", pk=endpoint.pk)
