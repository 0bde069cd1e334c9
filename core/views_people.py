"""People screens: members and roles, dual-control policy, invitations, accepting one."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from core import scopes as S
from core import selectors, services
from core.api.throttling import SignInThrottle
from core.exceptions import DomainError
from core.invitations import (
    INVITATION_DAYS,
    email_configured,
    invitation_accept,
    invitation_create,
    invitation_get,
    invitation_list,
    invitation_revoke,
)
from core.lockout import attach_locks, member_unlock
from core.middleware import SESSION_TENANT
from core.views import tenant_view

SESSION_NEW_INVITATION = "new_invitation"
# The backend that signs people in (the first one, axes', only refuses locked-out sign-ins).
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def invitation_link_for(request: HttpRequest):
    """Build the absolute accept link of a raw invitation token for this site."""
    return lambda raw: request.build_absolute_uri(reverse("invitation-accept", args=[raw]))


def _members_context(actor, **extra) -> dict:
    policy = actor.tenant.policy
    return {
        "members": attach_locks(selectors.member_list(actor)),
        "roles": S.Role.choices,
        "override_scopes": [
            (s, S.DUAL_CONTROL_LABELS.get(s, S.SCOPE_LABELS[s]), s in policy.dual_control_scopes)
            for s in S.offered_override_scopes()
        ],
        "invitations": invitation_list(actor)[:50],
        "invitation_days": INVITATION_DAYS,
        "email_configured": email_configured(),
        "invite": {"email": "", "role": S.Role.VIEWER},
        "invite_errors": {},
        **extra,
    }


@tenant_view(S.TENANT_MANAGE)
def members(request: HttpRequest) -> HttpResponse:
    """Members and roles, invitations, and the tenant's dual-control policy."""
    actor = request.actor
    if request.method == "POST":
        form = request.POST.get("form")
        if form == "invite":
            return _invite(request)
        try:
            if form == "policy":
                services.tenant_policy_update(
                    actor=actor, dual_control_scopes=request.POST.getlist("dual_control_scopes")
                )
                messages.success(request, "Dual-control policy saved.")
            elif form == "revoke-invitation":
                inv = invitation_revoke(
                    actor=actor, invitation_id=int(request.POST.get("invitation", "0"))
                )
                messages.success(request, f"Invitation {inv.pk} withdrawn.")
            elif form == "unlock":
                m = member_unlock(
                    actor=actor, membership_id=int(request.POST.get("membership", "0"))
                )
                messages.success(request, f"{m.user.username} may sign in again.")
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
    extra = {}
    shown_once = request.session.pop(SESSION_NEW_INVITATION, None)
    if shown_once:
        invitation = invitation_list(actor).filter(pk=shown_once["id"]).first()
        if invitation is not None:
            extra = {"new_invitation": invitation, "new_link": shown_once["link"]}
    return render(request, "core/members.html", _members_context(actor, **extra))


def _invite(request: HttpRequest) -> HttpResponse:
    actor = request.actor
    typed = {"email": request.POST.get("email", ""), "role": request.POST.get("role", "")}
    try:
        invitation, link = invitation_create(
            actor=actor,
            email=typed["email"],
            role=typed["role"],
            link_for=invitation_link_for(request),
        )
    except DomainError as exc:
        field = next(iter(exc.details), "") if isinstance(exc.details, dict) else ""
        errors = {field or "form": exc.message}
        return render(
            request,
            "core/members.html",
            _members_context(actor, invite=typed, invite_errors=errors),
            status=400 if exc.http_status == 400 else exc.http_status,
        )
    if invitation.emailed:
        messages.success(request, f"Invitation emailed to {invitation.email}.")
    else:
        # shown once, on the page this redirect leads to (only its hash is stored)
        request.session[SESSION_NEW_INVITATION] = {"id": invitation.pk, "link": link}
    return redirect("members")


def invitation_accept_view(request: HttpRequest, token: str) -> HttpResponse:
    """Accept an invitation: create an account (or join with the signed-in one)."""
    try:
        invitation = invitation_get(token)
    except DomainError as exc:
        return render(
            request,
            "core/invitation_invalid.html",
            {"message": exc.message},
            status=exc.http_status,
        )
    typed = {"username": "", "email": invitation.email}
    errors: dict = {}
    if request.method == "POST":
        signed_in = request.user.is_authenticated and request.POST.get("as") == "current"
        typed["username"] = request.POST.get("username", "")
        password = request.POST.get("password1", "")
        if not signed_in and password != request.POST.get("password2", ""):
            errors["password2"] = "The two passwords differ."
        else:
            try:
                membership = invitation_accept(
                    raw=token,
                    user=request.user if signed_in else None,
                    username=typed["username"],
                    password=password,
                )
            except DomainError as exc:
                details = exc.details if isinstance(exc.details, dict) else {}
                errors = {k: "; ".join(v) for k, v in details.items()} or {"form": exc.message}
            else:
                if not signed_in:
                    login(request, membership.user, backend=MODEL_BACKEND)
                request.session[SESSION_TENANT] = membership.tenant_id
                messages.success(
                    request,
                    f"Welcome to {membership.tenant.name}: you are "
                    f"{membership.get_role_display()}.",
                )
                return redirect("dashboard")
    return render(
        request,
        "core/invitation_accept.html",
        {"invitation": invitation, "typed": typed, "errors": errors},
        status=400 if errors else 200,
    )


def password_reset(request: HttpRequest) -> HttpResponse:
    """Django's password reset, offered only where email can reach people."""
    if not settings.PASSWORD_RESET_ENABLED:
        raise Http404("Password reset by email is not set up here.")
    return auth_views.PasswordResetView.as_view()(request)


class LoginView(auth_views.LoginView):
    """Django's sign-in, with the password-reset link where email can reach people."""

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            **kwargs, password_reset_enabled=settings.PASSWORD_RESET_ENABLED
        )

    def post(self, request, *args, **kwargs):
        # Too many submissions from one address answer 429 before any password is checked.
        throttle = SignInThrottle()
        if not throttle.allow_request(request, self):
            wait = max(1, int(throttle.wait() or 1))
            response = self.render_to_response(
                self.get_context_data(throttled_seconds=wait), status=429
            )
            response["Retry-After"] = str(wait)
            return response
        return super().post(request, *args, **kwargs)
