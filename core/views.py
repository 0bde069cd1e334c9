"""Core staff screens: dashboard, tenant switcher, audit trail, API tokens, approvals, members."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.dateparse import parse_datetime
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from core import approvals, selectors, services
from core import scopes as S
from core.dashboard import dashboard_panels
from core.exceptions import DomainError
from core.health import HEARTBEAT_STALE_SECONDS, worker_state
from core.middleware import SESSION_TENANT
from core.models import OverrideRequest
from core.phi_reads import PHI_PREFIX
from core.watchdog import watchdog_state


def tenant_view(scope: str | None = None, *, post_scope: str | None = None):
    """Sign-in, tenant membership and (optionally) a scope; refuses with a friendly 403 page."""

    def decorator(fn):
        @login_required
        @wraps(fn)
        def wrapper(request: HttpRequest, *args, **kwargs):
            if not request.has_tenant():
                return render(request, "core/no_tenant.html", status=403)
            needed = post_scope if (request.method == "POST" and post_scope) else scope
            if needed and not request.actor.has(needed):
                return render(
                    request,
                    "core/forbidden.html",
                    {"scope": needed, "label": S.SCOPE_LABELS.get(needed, needed)},
                    status=403,
                )
            return fn(request, *args, **kwargs)

        return wrapper

    return decorator


def _back(request: HttpRequest, default: str = "dashboard"):
    nxt = request.POST.get("next") or request.GET.get("next")
    if nxt and url_has_allowed_host_and_scheme(nxt, {request.get_host()}):
        return redirect(nxt)
    return redirect(default)


@tenant_view()
def dashboard(request: HttpRequest) -> HttpResponse:
    """Landing page: what waits for you, the apps' work in flight, worker health, your scopes."""
    actor = request.actor
    pending = 0
    if any(actor.has(s) for s in S.OVERRIDE_SCOPES):
        pending = (
            selectors.override_request_list(actor, status=OverrideRequest.Status.PENDING)
            .exclude(requested_by=actor.user)
            .count()
        )
    stuck = approvals.stuck_count(actor) if pending else 0
    recent = []
    if actor.has(S.AUDIT_READ):  # changes, not reads: PHI reads would crowd them out
        recent = selectors.audit_entry_list(actor).exclude(action__startswith=PHI_PREFIX)[:10]
    scope_rows = [(s, S.SCOPE_LABELS[s], s in actor.scopes) for s in S.offered_scopes()]
    return render(
        request,
        "core/dashboard.html",
        {
            "pending_overrides": pending,
            "stuck_overrides": stuck,
            "recent": recent,
            "scope_rows": scope_rows,
            "panels": dashboard_panels(actor),
            "workers": worker_state(),
            "watchdog": watchdog_state(actor.tenant.pk),
            "stale_after": HEARTBEAT_STALE_SECONDS,
        },
    )


@login_required
@require_POST
def tenant_switch(request: HttpRequest) -> HttpResponse:
    """Make another of the user's tenants the current one."""
    slug = request.POST.get("tenant", "")
    match = next((m for m in request.memberships if m.tenant.slug == slug), None)
    if match is None:
        messages.error(request, "You are not a member of that tenant.")
    else:
        request.session[SESSION_TENANT] = match.tenant_id
        messages.success(request, f"Switched to {match.tenant.name}.")
    return redirect("dashboard")


@tenant_view()
def token_list(request: HttpRequest) -> HttpResponse:
    """Your API tokens: create one (shown once), revoke."""
    actor = request.actor
    new_key = None
    if request.method == "POST":
        expires = request.POST.get("expires_at") or ""
        expires_at = parse_datetime(expires + "T00:00:00+00:00") if expires else None
        try:
            token, new_key = services.api_token_create(
                actor=actor,
                name=request.POST.get("name", ""),
                scopes=request.POST.getlist("scopes"),
                expires_at=expires_at,
            )
            messages.success(request, f"Token {token.prefix} created. Copy the key now.")
        except DomainError as exc:
            messages.error(request, exc.message)
    return render(
        request,
        "core/tokens.html",
        {
            "tokens": selectors.api_token_list(actor),
            "new_key": new_key,
            "own_scopes": [(s, S.SCOPE_LABELS[s]) for s in S.offered_scopes() if s in actor.scopes],
        },
    )


@tenant_view()
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    """Revoke one token."""
    try:
        token = services.api_token_revoke(actor=request.actor, token_id=pk)
        messages.success(request, f"Token {token.prefix} revoked.")
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("tokens")
