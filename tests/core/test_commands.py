"""Core's management commands: tenants, members, API tokens, chain verification, demo data."""

from __future__ import annotations

import io
import json

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.http import HttpRequest
from django.test import Client

from core import scopes as S
from core.actors import Actor
from core.audit import verify_chain
from core.demo import DEMO_PASSWORD, DEMO_SUPERUSER, DEMO_USERS
from core.models import ApiToken, AuditEntry, Tenant, TenantMembership

User = get_user_model()


def run(*args, **options) -> tuple[str, str]:
    """Run a command; return what it wrote to stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def run_failing(*args) -> tuple[CommandError, str]:
    """Run a command expected to fail; return the error and what it wrote to stdout."""
    out = io.StringIO()
    with pytest.raises(CommandError) as exc:
        call_command(*args, stdout=out, stderr=io.StringIO())
    return exc.value, out.getvalue()


def scopes_of(username: str, slug: str) -> frozenset[str]:
    tenant = Tenant.objects.get(slug=slug)
    return Actor(tenant=tenant, user=User.objects.get(username=username)).scopes


def allow_tampering() -> None:
    """Disable the append-only trigger for this test's transaction (PostgreSQL only)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(
                "ALTER TABLE core_auditentry DISABLE TRIGGER core_auditentry_no_update_delete"
            )
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


# --- create_tenant ----------------------------------------------------------------------------


def test_create_tenant_with_an_owner_who_can_sign_in_with_every_scope(db):
    # when an operator creates a tenant with an owner and a password
    out, _ = run(
        "create_tenant",
        "gamma",
        "--name",
        "Gamma Care",
        "--owner",
        "gina",
        "--password",
        "s3cret-pass",
    )
    # then the command says so
    assert out.strip() == "Created tenant gamma owned by gina"
    tenant = Tenant.objects.get(slug="gamma")
    assert tenant.name == "Gamma Care"
    # and the owner can sign in with that password and holds every scope there
    client = Client()
    assert client.login(request=HttpRequest(), username="gina", password="s3cret-pass")
    assert TenantMembership.objects.get(tenant=tenant, user__username="gina").role == "OWNER"
    assert scopes_of("gina", "gamma") == frozenset(S.ALL_SCOPES)
    me = client.get("/api/me")
    assert me.status_code == 200
    assert me.json()["tenant"] == "gamma"
    assert me.json()["role"] == "OWNER"
    assert me.json()["scopes"] == sorted(S.ALL_SCOPES)
    # and the tenant's audit chain records the creation and the membership, and verifies
    actions = list(AuditEntry.objects.filter(tenant=tenant).values_list("action", flat=True))
    assert actions == ["TENANT_CREATED", "MEMBERSHIP_ADDED"]
    assert verify_chain(tenant).ok


def test_create_tenant_without_an_owner(db):
    out, _ = run("create_tenant", "delta")
    assert out.strip() == "Created tenant delta"
    tenant = Tenant.objects.get(slug="delta")
    assert tenant.name == "delta"
    assert not TenantMembership.objects.filter(tenant=tenant).exists()


def test_create_tenant_refuses_a_duplicate_slug(db):
    # given a tenant gamma
    run("create_tenant", "gamma")
    # when it is created again
    error, out = run_failing("create_tenant", "gamma", "--owner", "someone")
    # then the command fails with a clear message, and nothing was added
    assert "A tenant with slug 'gamma' already exists." in str(error)
    assert out == ""
    assert Tenant.objects.filter(slug="gamma").count() == 1
    assert not User.objects.filter(username="someone").exists()


# --- add_member -------------------------------------------------------------------------------


def test_add_member_adds_a_user_with_the_scopes_of_the_role(world):
    # when an operator adds a new user as viewer
    out, _ = run("add_member", "--tenant", "alpha", "--user", "newbie", "--role", "VIEWER")
    # then the user exists, is a viewer and holds exactly the viewer's scopes
    assert out.strip() == "Added newbie to alpha as VIEWER"
    membership = TenantMembership.objects.get(tenant=world.tenant, user__username="newbie")
    assert membership.role == "VIEWER"
    assert scopes_of("newbie", "alpha") == S.scopes_for_role(S.Role.VIEWER)
    assert S.AUDIT_READ not in scopes_of("newbie", "alpha")


def test_add_member_changes_the_role_of_an_existing_member(world):
    # given a viewer
    run("add_member", "--tenant", "alpha", "--user", "newbie", "--role", "VIEWER")
    # when the same command gives them another role
    out, _ = run("add_member", "--tenant", "alpha", "--user", "newbie", "--role", "BILLING_MANAGER")
    # then the role changes and the scopes follow (no second membership)
    assert out.strip() == "newbie is now BILLING_MANAGER in alpha"
    assert (
        TenantMembership.objects.filter(tenant=world.tenant, user__username="newbie").count() == 1
    )
    assert scopes_of("newbie", "alpha") == S.scopes_for_role(S.Role.BILLING_MANAGER)
    assert S.BILLING_RUN_TRIGGER in scopes_of("newbie", "alpha")
    # and back down again: scopes are taken away too
    run("add_member", "--tenant", "alpha", "--user", "newbie", "--role", "OPERATIONS")
    assert scopes_of("newbie", "alpha") == S.scopes_for_role(S.Role.OPERATIONS)
    assert S.BILLING_RUN_TRIGGER not in scopes_of("newbie", "alpha")
    changes = AuditEntry.objects.filter(tenant=world.tenant, action="MEMBERSHIP_ROLE_CHANGED")
    assert [e.payload["to"] for e in changes.order_by("seq")] == ["BILLING_MANAGER", "OPERATIONS"]


def test_add_member_with_a_password_lets_the_user_sign_in(world):
    run(
        "add_member",
        "--tenant",
        "beta",
        "--user",
        "bob",
        "--role",
        "ADMIN",
        "--password",
        "pw-9876",
    )
    assert Client().login(request=HttpRequest(), username="bob", password="pw-9876")
    assert scopes_of("bob", "beta") == S.scopes_for_role(S.Role.ADMIN)
    assert not TenantMembership.objects.filter(tenant=world.tenant, user__username="bob").exists()


def test_add_member_refuses_to_demote_the_last_owner(world):
    error, _ = run_failing(
        "add_member", "--tenant", "alpha", "--user", "alpha-owner", "--role", "VIEWER"
    )
    assert "last owner" in str(error)
    assert (
        TenantMembership.objects.get(tenant=world.tenant, user__username="alpha-owner").role
        == "OWNER"
    )


def test_add_member_refuses_an_unknown_tenant(db):
    error, _ = run_failing("add_member", "--tenant", "nowhere", "--user", "x", "--role", "VIEWER")
    assert "No tenant with slug 'nowhere'." in str(error)


# --- create_api_token -------------------------------------------------------------------------


def test_create_api_token_prints_a_key_that_authenticates_with_the_given_scopes(
    world, token_client
):
    # when an operator creates a token for the owner with two read scopes
    out, err = run(
        "create_api_token",
        "--tenant",
        "alpha",
        "--user",
        "alpha-owner",
        "--scopes",
        "billing.run.view, ingestion.read",
        "--name",
        "partner feed",
    )
    # then stdout holds only the raw key (stored hashed), stderr describes the token
    raw = out.strip()
    assert raw.startswith("hb_") and "\n" not in raw
    token = ApiToken.objects.get(name="partner feed")
    assert raw not in token.key_hash
    assert err.strip() == (
        f"token {token.prefix} for alpha-owner in alpha: billing.run.view, ingestion.read"
    )
    # and the key signs the partner in, with exactly those scopes
    response = token_client(raw).get("/api/me")
    assert response.status_code == 200
    assert response.json() == {
        "user": "alpha-owner",
        "tenant": "alpha",
        "role": "OWNER",
        "scopes": ["billing.run.view", "ingestion.read"],
        "token": token.prefix,
    }
    # and a scope the token does not carry is refused, although its owner holds it
    assert token_client(raw).get("/api/audit/verify").status_code == 403
    assert world.client(S.Role.OWNER).get("/api/audit/verify").status_code == 200
    # while a wrong key is not let in at all
    assert (
        token_client(raw[:-1] + ("A" if raw[-1] != "A" else "B")).get("/api/me").status_code == 401
    )


def test_create_api_token_with_days_sets_an_expiry(world):
    run(
        "create_api_token",
        "--tenant",
        "alpha",
        "--user",
        "alpha-viewer",
        "--scopes",
        "billing.run.view",
        "--days",
        "30",
    )
    token = ApiToken.objects.get(user__username="alpha-viewer")
    assert token.expires_at is not None
    assert (token.expires_at - token.created_at).days in (29, 30)


def test_create_api_token_refuses_a_scope_the_user_lacks(world):
    # when a token for an operations user asks for tenant.manage
    error, out = run_failing(
        "create_api_token",
        "--tenant",
        "alpha",
        "--user",
        "alpha-operations",
        "--scopes",
        "billing.run.view,tenant.manage",
    )
    # then it is refused, naming the scope, and no key is printed or stored
    assert "cannot carry scopes you do not hold: tenant.manage" in str(error)
    assert out == ""
    assert not ApiToken.objects.exists()


def test_create_api_token_refuses_an_unknown_user_or_scope(world):
    error, _ = run_failing(
        "create_api_token", "--tenant", "alpha", "--user", "ghost", "--scopes", "audit.read"
    )
    assert "No user 'ghost'." in str(error)
    error, _ = run_failing(
        "create_api_token", "--tenant", "alpha", "--user", "alpha-owner", "--scopes", "do.anything"
    )
    assert "unknown scope(s) do.anything" in str(error)
    assert not ApiToken.objects.exists()


def test_create_api_token_refuses_a_user_of_another_tenant(world):
    error, _ = run_failing(
        "create_api_token",
        "--tenant",
        "alpha",
        "--user",
        "beta-owner",
        "--scopes",
        "billing.run.view",
    )
    assert "do not hold" in str(error)
    assert not ApiToken.objects.exists()


# --- verify_audit_chain -----------------------------------------------------------------------


def test_verify_audit_chain_reports_every_tenant_ok(world):
    # when every chain is intact
    out, _ = run("verify_audit_chain")
    # then there is one OK line per tenant with its number of entries
    n_alpha = AuditEntry.objects.filter(tenant=world.tenant).count()
    n_beta = AuditEntry.objects.filter(tenant=world.other_tenant).count()
    assert out.splitlines() == [f"alpha: OK ({n_alpha} entries)", f"beta: OK ({n_beta} entries)"]


def test_verify_audit_chain_names_an_entry_altered_by_hand(world):
    # given entry #4 of alpha's chain altered in the database
    target = AuditEntry.objects.get(tenant=world.tenant, seq=4)
    allow_tampering()
    AuditEntry.objects.filter(pk=target.pk).update(payload={"role": "OWNER"})
    # when the chains are verified
    error, out = run_failing("verify_audit_chain")
    # then the command fails, naming the tenant and the altered entry; beta is still fine
    assert str(error) == "audit chain broken for: alpha"
    lines = out.splitlines()
    assert lines[0] == (
        f"alpha: BROKEN at entry #4 (row id {target.pk}): "
        "content does not match its hash (the entry was altered)"
    )
    assert lines[1].startswith("beta: OK (")
    # and limited to beta, it passes
    out, _ = run("verify_audit_chain", "--tenant", "beta")
    assert out.splitlines() == [
        f"beta: OK ({AuditEntry.objects.filter(tenant=world.other_tenant).count()} entries)"
    ]


def test_verify_audit_chain_json_output(world):
    target = AuditEntry.objects.get(tenant=world.tenant, seq=2)
    allow_tampering()
    AuditEntry.objects.filter(pk=target.pk).delete()
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("verify_audit_chain", "--tenant", "alpha", "--json", stdout=out)
    report = json.loads(out.getvalue())
    assert report["ok"] is False
    assert report["firstBroken"]["seq"] == 3
    assert report["firstBroken"]["problem"] == "entry #2 is missing or out of order (found #3 next)"


def test_verify_audit_chain_refuses_an_unknown_tenant(db):
    error, _ = run_failing("verify_audit_chain", "--tenant", "nowhere")
    assert "No tenant with slug 'nowhere'." in str(error)


# --- load_demo --------------------------------------------------------------------------------


def counts() -> tuple[int, int, int, int]:
    return (
        User.objects.count(),
        TenantMembership.objects.count(),
        Tenant.objects.count(),
        ApiToken.objects.count(),
    )


def test_load_demo_is_idempotent_and_lists_every_demo_user(db):
    # when the demo is loaded
    first, _ = run("load_demo")
    after_first = counts()
    # then tenants demo and acme exist, with one user per role in demo
    assert set(Tenant.objects.values_list("slug", flat=True)) == {"demo", "acme"}
    demo = Tenant.objects.get(slug="demo")
    for username, role in DEMO_USERS:
        assert TenantMembership.objects.get(tenant=demo, user__username=username).role == role
        assert scopes_of(username, "demo") == S.scopes_for_role(role)
    assert TenantMembership.objects.get(tenant__slug="acme", user__username="demo-owner").role == (
        "OWNER"
    )
    assert Client().login(request=HttpRequest(), username="demo-viewer", password=DEMO_PASSWORD)
    # and the output names every demo user with their role and the password
    assert "Demo tenant 'demo' is ready." in first
    lines = first.splitlines()
    for username, role in DEMO_USERS:
        assert any(
            line.split() == [username, role, "password:", DEMO_PASSWORD] for line in lines
        ), username
    # and a Django superuser, printed with the sign-ins, can open /admin/ (as the README says)
    assert (
        f"Django admin (http://127.0.0.1:8000/admin/): {DEMO_SUPERUSER} (superuser), "
        f"password: {DEMO_PASSWORD}" in lines
    )
    admin = Client()
    assert admin.login(request=HttpRequest(), username=DEMO_SUPERUSER, password=DEMO_PASSWORD)
    assert admin.get("/admin/").status_code == 200
    for page in ("tenant", "invitation", "workerheartbeat"):
        assert admin.get(f"/admin/core/{page}/").status_code == 200, page
    # and the demo's tenant users are not Django admin users
    owner = Client()
    assert owner.login(request=HttpRequest(), username="demo-owner", password=DEMO_PASSWORD)
    assert owner.get("/admin/").status_code == 302
    # when it is loaded again
    second, _ = run("load_demo")
    # then nothing is duplicated, and both audit chains still verify
    assert counts() == after_first
    assert set(Tenant.objects.values_list("slug", flat=True)) == {"demo", "acme"}
    assert TenantMembership.objects.filter(tenant=demo).count() == len(DEMO_USERS)
    assert verify_chain(demo).ok
    assert verify_chain(Tenant.objects.get(slug="acme")).ok
    assert "Demo tenant 'demo' is ready." in second


def test_load_demo_restores_a_demo_role_changed_by_hand(db):
    # given a loaded demo in which the ops user was made a viewer
    run("load_demo")
    run("add_member", "--tenant", "demo", "--user", "demo-ops", "--role", "VIEWER")
    # when the demo is loaded again
    run("load_demo")
    # then the ops user is OPERATIONS again, with the scopes of the role
    assert TenantMembership.objects.get(tenant__slug="demo", user__username="demo-ops").role == (
        "OPERATIONS"
    )
    assert scopes_of("demo-ops", "demo") == S.scopes_for_role(S.Role.OPERATIONS)
