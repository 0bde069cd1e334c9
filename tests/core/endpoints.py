"""Core's endpoints and screens in the permission matrix."""

from axes.models import AccessAttempt
from django.conf import settings

from core import scopes as S
from core.actors import Actor
from core.invitations import invitation_create
from core.models import TenantMembership
from core.overrides import override_perform
from core.services import api_token_create, membership_add, tenant_policy_update, user_ensure
from tests.core.overrides_fixture import ACTION
from tests.permissions import Endpoint, register


def _token_ctx(world):
    token, _ = api_token_create(
        actor=world.actor(S.Role.OWNER), name="matrix", scopes=[S.BILLING_RUN_VIEW]
    )
    return {"token": token.pk}


def _pending_override(world):
    owner = world.actor(S.Role.OWNER)
    tenant_policy_update(actor=owner, dual_control_scopes=[S.BILLING_OVERRIDE_CREATE])
    outcome = override_perform(
        actor=owner, action=ACTION, payload={"member": "M-1"}, reason="matrix check"
    )
    return {"request": outcome.request.pk}


def _extra_member(world):
    user = user_ensure(username="alpha-extra")
    m = TenantMembership.objects.filter(tenant=world.tenant, user=user).first()
    if m is None:
        m = membership_add(actor=Actor.system_for(world.tenant), user=user, role=S.Role.VIEWER)
    return {"membership": m.pk}


def _locked_member(world):
    """A member of tenant A locked out of signing in (as failed sign-ins would leave it)."""
    ctx = _extra_member(world)
    AccessAttempt.objects.update_or_create(
        username="alpha-extra",
        ip_address="192.0.2.10",
        user_agent="",
        defaults={
            "failures_since_start": settings.AXES_FAILURE_LIMIT,
            "get_data": "",
            "post_data": "",
            "http_accept": "",
            "path_info": "/login/",
        },
    )
    return ctx


def _invitation(world):
    invitation, _ = invitation_create(
        actor=Actor.system_for(world.tenant),
        email="matrix@example.org",
        role=S.Role.VIEWER,
        link_for=lambda raw: f"/invitations/{raw}/",
    )
    return {"invitation": invitation.pk}


def _not_owner(scope):
    return lambda role: role != S.Role.OWNER and scope in S.scopes_for_role(role)


_alpha_user = lambda ctx: "alpha-viewer"  # noqa: E731

register(
    Endpoint("api me", "GET", lambda c: "/api/me", None, success=frozenset({200})),
    Endpoint(
        "api audit verify",
        "GET",
        lambda c: "/api/audit/verify",
        S.AUDIT_READ,
        marker=lambda c: '"tenant":"alpha"',
    ),
    Endpoint(
        "api audit entries", "GET", lambda c: "/api/audit/entries", S.AUDIT_READ, marker=_alpha_user
    ),
    Endpoint(
        "api tokens list",
        "GET",
        lambda c: "/api/tokens",
        None,
        setup=_token_ctx,  # tenant A's owner's token "matrix": the marker
        marker=lambda c: "matrix",
    ),
    Endpoint(
        "api token create",
        "POST",
        lambda c: "/api/tokens",
        None,
        data=lambda c: {"name": "mine", "scopes": [S.BILLING_RUN_VIEW]},
    ),
    Endpoint(
        "api token revoke",
        "POST",
        lambda c: f"/api/tokens/{c['token']}/revoke",
        S.TENANT_MANAGE,
        setup=_token_ctx,
        object_of_tenant=True,
    ),
    Endpoint(
        "api override list",
        "GET",
        lambda c: "/api/override-requests",
        None,
        setup=_pending_override,
        marker=lambda c: "M-1",
    ),
    Endpoint(
        "api override approve",
        "POST",
        lambda c: f"/api/override-requests/{c['request']}/approve",
        S.BILLING_OVERRIDE_CREATE,
        setup=_pending_override,
        data=lambda c: {"note": "ok"},
        object_of_tenant=True,
        scope_holders=_not_owner(S.BILLING_OVERRIDE_CREATE),
    ),
    Endpoint(
        "api override reject",
        "POST",
        lambda c: f"/api/override-requests/{c['request']}/reject",
        S.BILLING_OVERRIDE_CREATE,
        setup=_pending_override,
        data=lambda c: {"note": "not justified"},
        object_of_tenant=True,
        scope_holders=_not_owner(S.BILLING_OVERRIDE_CREATE),
    ),
    Endpoint("api policy get", "GET", lambda c: "/api/tenant/policy", S.TENANT_MANAGE),
    Endpoint(
        "api policy set",
        "POST",
        lambda c: "/api/tenant/policy",
        S.TENANT_MANAGE,
        data=lambda c: {"dual_control_scopes": [S.BILLING_OVERRIDE_CREATE]},
    ),
    Endpoint(
        "api members", "GET", lambda c: "/api/tenant/members", S.TENANT_MANAGE, marker=_alpha_user
    ),
    Endpoint(
        "api member role",
        "POST",
        lambda c: f"/api/tenant/members/{c['membership']}/role",
        S.TENANT_MANAGE,
        setup=_extra_member,
        data=lambda c: {"role": S.Role.OPERATIONS},
        object_of_tenant=True,
    ),
    Endpoint(
        "api member unlock",
        "POST",
        lambda c: f"/api/tenant/members/{c['membership']}/unlock",
        S.TENANT_MANAGE,
        setup=_locked_member,
        object_of_tenant=True,
    ),
    Endpoint(
        "api invitations list",
        "GET",
        lambda c: "/api/tenant/invitations",
        S.TENANT_MANAGE,
        setup=_invitation,
        marker=lambda c: "matrix@example.org",
    ),
    Endpoint(
        "api invitation create",
        "POST",
        lambda c: "/api/tenant/invitations",
        S.TENANT_MANAGE,
        data=lambda c: {"email": "new@example.org", "role": S.Role.VIEWER},
    ),
    Endpoint(
        "api invitation revoke",
        "POST",
        lambda c: f"/api/tenant/invitations/{c['invitation']}/revoke",
        S.TENANT_MANAGE,
        setup=_invitation,
        object_of_tenant=True,
    ),
    # staff screens
    Endpoint("screen dashboard", "GET", lambda c: "/", None, kind="screen", marker=_alpha_user),
    Endpoint("screen audit", "GET", lambda c: "/audit/", S.AUDIT_READ, kind="screen"),
    Endpoint("screen audit verify", "GET", lambda c: "/audit/verify/", S.AUDIT_READ, kind="screen"),
    Endpoint(
        "screen audit export",
        "GET",
        lambda c: "/audit/export.csv?action=MEMBERSHIP_ADDED",
        S.AUDIT_READ,
        kind="screen",
        success=frozenset({200}),
    ),
    Endpoint(
        "screen approvals export",
        "GET",
        lambda c: "/approvals/overrides/export.csv?status=PENDING",
        None,
        kind="screen",
        setup=_pending_override,
        success=frozenset({200}),
    ),
    Endpoint("screen tokens", "GET", lambda c: "/tokens/", None, kind="screen"),
    Endpoint("screen approvals", "GET", lambda c: "/approvals/overrides/", None, kind="screen"),
    Endpoint("screen members", "GET", lambda c: "/tenant/members/", S.TENANT_MANAGE, kind="screen"),
    Endpoint(
        "screen policy save",
        "POST",
        lambda c: "/tenant/members/",
        S.TENANT_MANAGE,
        kind="screen",
        data=lambda c: {"form": "policy", "dual_control_scopes": [S.BILLING_OVERRIDE_CREATE]},
    ),
    Endpoint(
        "screen invite",
        "POST",
        lambda c: "/tenant/members/",
        S.TENANT_MANAGE,
        kind="screen",
        data=lambda c: {"form": "invite", "email": "", "role": S.Role.VIEWER},
        success=frozenset({302}),
    ),
    Endpoint(
        "screen member unlock",
        "POST",
        lambda c: "/tenant/members/",
        S.TENANT_MANAGE,
        kind="screen",
        setup=_locked_member,
        data=lambda c: {"form": "unlock", "membership": c["membership"]},
    ),
    Endpoint(
        "screen invitation withdraw",
        "POST",
        lambda c: "/tenant/members/",
        S.TENANT_MANAGE,
        kind="screen",
        setup=_invitation,
        data=lambda c: {"form": "revoke-invitation", "invitation": c["invitation"]},
    ),
    # Screens that refuse inside the service (a message, then back to the page) rather than with
    # a 403: every signed-in member gets the redirect; what they may do is the service's check
    # (tests/core/test_tokens*.py, test_dual_control_queue.py). Anonymous still goes to sign-in.
    Endpoint(
        "screen token create",
        "POST",
        lambda c: "/tokens/",
        None,
        kind="screen",
        data=lambda c: {"name": "mine", "scopes": [S.BILLING_RUN_VIEW]},
        success=frozenset({200}),
    ),
    Endpoint(
        "screen token revoke",
        "POST",
        lambda c: f"/tokens/{c['token']}/revoke/",
        None,
        kind="screen",
        setup=_token_ctx,
        success=frozenset({302}),
    ),
    Endpoint(
        "screen approvals decide",
        "POST",
        lambda c: "/approvals/overrides/",
        None,
        kind="screen",
        setup=_pending_override,
        data=lambda c: {"decision": "reject", "request": c["request"], "note": "not justified"},
        success=frozenset({302}),
    ),
    Endpoint(
        "screen tenant switch",
        "POST",
        lambda c: "/tenant/switch/",
        None,
        kind="screen",
        data=lambda c: {"tenant": "alpha"},
        success=frozenset({302}),
    ),
)
