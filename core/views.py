"""Core staff screens: dashboard, tenant switcher, audit trail, API tokens, approvals, members."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from core import scopes as S
from core import selectors, services
from core.audit import verify_chain
from core.exceptions import DomainError
from core.middleware import SESSION_TENANT
from core.models import OverrideRequest
from core.overrides import override_request_approve, override_request_reject


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
    """Landing page: the tenant, your role and scopes, what waits for you, recent activity."""
    actor = request.actor
    pending = 0
    if any(actor.has(s) for s in S.OVERRIDE_SCOPES):
        pending = (
            selectors.override_request_list(actor, status=OverrideRequest.Status.PENDING)
            .exclude(requested_by=actor.user)
            .count()
        )
    recent = selectors.audit_entry_list(actor)[:10] if actor.has(S.AUDIT_READ) else []
    scope_rows = [(s, S.SCOPE_LABELS[s], s in actor.scopes) for s in S.ALL_SCOPES]
    return render(
        request,
        "core/dashboard.html",
        {"pending_overrides": pending, "recent": recent, "scope_rows": scope_rows},
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


@tenant_view(S.AUDIT_READ)
def audit_list(request: HttpRequest) -> HttpResponse:
    """The audit trail with filters by action, actor, object and date."""
    q = request.GET
    filters = {
        "action": q.get("action", ""),
        "actor_label": q.get("actor", ""),
        "object_type": q.get("object_type", ""),
        "object_id": q.get("object_id", ""),
        "since": parse_date(q.get("since", "") or "") if q.get("since") else None,
        "until": parse_date(q.get("until", "") or "") if q.get("until") else None,
    }
    entries = selectors.audit_entry_list(request.actor, **filters)
    page = Paginator(entries, 50).get_page(q.get("page"))
    query = q.copy()
    query.pop("page", None)
    return render(
        request,
        "core/audit_list.html",
        {
            "page": page,
            "actions": selectors.audit_actions(request.actor),
            "f": q,
            "query": query.urlencode(),
        },
    )


@tenant_view(S.AUDIT_READ)
def audit_verify(request: HttpRequest) -> HttpResponse:
    """Verify the chain (an HTMX fragment on the audit screen)."""
    report = verify_chain(request.actor.tenant)
    return render(request, "core/_chain_report.html", {"report": report})


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
            "own_scopes": [(s, S.SCOPE_LABELS[s]) for s in S.ALL_SCOPES if s in actor.scopes],
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


@tenant_view()
def override_queue(request: HttpRequest) -> HttpResponse:
    """The dual-control queue: requests waiting for a second person, and recent decisions."""
    actor = request.actor
    if request.method == "POST":
        decision = request.POST.get("decision")
        try:
            pk = int(request.POST.get("request", "0"))
            if decision == "approve":
                override_request_approve(
                    actor=actor, request_id=pk, note=request.POST.get("note", "")
                )
                messages.success(request, f"Override request {pk} approved and carried out.")
            elif decision == "reject":
                override_request_reject(
                    actor=actor, request_id=pk, note=request.POST.get("note", "")
                )
                messages.success(request, f"Override request {pk} rejected.")
        except (DomainError, ValueError) as exc:
            messages.error(request, getattr(exc, "message", "Invalid request."))
        return redirect("override-queue")
    pending = selectors.override_request_list(actor, status=OverrideRequest.Status.PENDING)
    decided = selectors.override_request_list(actor).exclude(status=OverrideRequest.Status.PENDING)
    return render(
        request, "core/override_queue.html", {"pending": pending, "decided": decided[:50]}
    )


@tenant_view(S.TENANT_MANAGE)
def members(request: HttpRequest) -> HttpResponse:
    """Members and roles, and the tenant's dual-control policy."""
    actor = request.actor
    if request.method == "POST":
        try:
            if request.POST.get("form") == "policy":
                services.tenant_policy_update(
                    actor=actor, dual_control_scopes=request.POST.getlist("dual_control_scopes")
                )
                messages.success(request, "Dual-control policy saved.")
            else:
                m = services.membership_set_role(
                    actor=actor,
                    membership_id=int(request.POST.get("membership", "0")),
                    role=request.POST.get("role", ""),
                )
                messages.success(request, f"{m.user.username} is now {m.get_role_display()}.")
        except (DomainError, ValueError) as exc:
            messages.error(request, getattr(exc, "message", str(exc)))
        return redirect("members")
    policy = actor.tenant.policy
    return render(
        request,
        "core/members.html",
        {
            "members": selectors.member_list(actor),
            "roles": S.Role.choices,
            "override_scopes": [
                (
                    s,
                    S.DUAL_CONTROL_LABELS.get(s, S.SCOPE_LABELS[s]),
                    s in policy.dual_control_scopes,
                )
                for s in S.OVERRIDE_SCOPES
            ],
        },
    )
