"""Roles and scopes (SPEC 2): the role -> scope table, role changes, removal, object grants."""

from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone
from guardian.models import UserObjectPermission

from core import scopes as S
from core.actors import Actor
from core.exceptions import Conflict, NotFound
from core.models import ApiToken, AuditEntry, OverrideRequest, Tenant, TenantMembership
from core.selectors import restrict_to_grants
from core.services import (
    api_token_authenticate,
    api_token_create,
    membership_add,
    membership_remove,
    membership_set_role,
    object_access_grant,
    object_access_revoke,
    user_ensure,
)

ROLE_COLUMNS = ("OWNER", "ADMIN", "BILLING_MANAGER", "OPERATIONS", "VIEWER")

# Typed from SPEC.md section 2, independently of core/scopes.py: x = the role holds the scope.
#                                          OWNER ADMIN BM   OPS  VIEWER
EXPECTED: dict[str, tuple[str, ...]] = {
    "tenant.manage": ("x", "x", "", "", ""),
    "billing.rules.manage": ("x", "x", "x", "", ""),
    "billing.run.trigger": ("x", "x", "x", "", ""),
    "billing.run.view": ("x", "x", "x", "x", "x"),
    "billing.decision.replay": ("x", "x", "x", "x", ""),
    "billing.exception.resolve": ("x", "x", "x", "x", ""),
    "billing.override.create": ("x", "x", "x", "", ""),
    "invoicing.request.create": ("x", "x", "x", "x", ""),
    "invoicing.request.approve": ("x", "x", "x", "", ""),
    "invoicing.type.manage": ("x", "x", "", "", ""),
    "claims.write": ("x", "x", "x", "x", ""),
    "billing.denial.write": ("x", "x", "x", "x", ""),
    "billing.auto-correction.run": ("x", "x", "x", "x", ""),
    "billing.auto-correction.override": ("x", "x", "x", "", ""),
    "billing.receivable.override": ("x", "x", "x", "", ""),
    "billing.cob.override": ("x", "x", "x", "", ""),
    "wallets.run.trigger": ("x", "x", "x", "", ""),
    "wallets.topup": ("x", "x", "x", "", ""),
    "ingestion.read": ("x", "x", "x", "x", "x"),
    "ingestion.update": ("x", "x", "x", "x", ""),
    "audit.read": ("x", "x", "x", "", ""),
    # "Read scopes (view runs, invoices, denials, wallets) are held by every role."
    "invoicing.view": ("x", "x", "x", "x", "x"),
    "claims.view": ("x", "x", "x", "x", "x"),
    "wallets.view": ("x", "x", "x", "x", "x"),
    # the event feed (issue 19): ids, states and amounts of what every role may already view
    "events.read": ("x", "x", "x", "x", "x"),
}

CELLS = [
    (scope, role, marks[i] == "x")
    for scope, marks in EXPECTED.items()
    for i, role in enumerate(ROLE_COLUMNS)
]


def _cell_id(cell) -> str:
    scope, role, held = cell
    return f"{scope}-{role}-{'yes' if held else 'no'}"


def _fresh_actor(tenant, user) -> Actor:
    # Actor.scopes is cached per instance: a new instance reads the grants again.
    return Actor(tenant=tenant, user=user)


def _tenant_grants(user, tenant) -> int:
    return UserObjectPermission.objects.filter(
        user=user,
        content_type=ContentType.objects.get_for_model(Tenant),
        object_pk=str(tenant.pk),
    ).count()


# --- the table ----------------------------------------------------------------------------------


def test_scopes_table_names_exactly_the_spec_scopes():
    # given the scopes the code knows / when compared with the spec / then none is missing or extra
    assert set(S.ALL_SCOPES) == set(EXPECTED)
    assert {r.value for r in S.Role} == set(ROLE_COLUMNS)


@pytest.mark.parametrize("cell", CELLS, ids=[_cell_id(c) for c in CELLS])
def test_role_scopes_table_cell_matches_spec(cell):
    scope, role, held = cell
    # when the table is read for the role / then the scope is there exactly when the spec says so
    assert (scope in S.ROLE_SCOPES[role]) is held
    assert (scope in S.scopes_for_role(role)) is held


@pytest.mark.parametrize("cell", CELLS, ids=[_cell_id(c) for c in CELLS])
def test_member_granted_scopes_cell_matches_spec(cell, db):
    scope, role, held = cell
    # given a tenant and a user added to it with the role
    tenant = Tenant.objects.create(slug="cells", name="Cells")
    user = user_ensure(username=f"cell-{role.lower()}")
    membership_add(actor=Actor.system_for(tenant), user=user, role=role)
    # when the user's scopes are read back from guardian
    scopes = _fresh_actor(tenant, user).scopes
    # then the scope is granted exactly when the spec says so
    assert (scope in scopes) is held


def test_member_scopes_do_not_leak_to_another_tenant(world):
    # given the OWNER of tenant A / when acting in tenant B / then no scope is in force
    assert Actor(tenant=world.other_tenant, user=world.users[S.Role.OWNER]).scopes == frozenset()


# --- role changes -------------------------------------------------------------------------------


def test_membership_set_role_resyncs_grants_both_ways(world, owner_actor):
    # given a VIEWER, who cannot trigger billing runs
    viewer = world.users[S.Role.VIEWER]
    membership = TenantMembership.objects.get(user=viewer, tenant=world.tenant)
    assert not _fresh_actor(world.tenant, viewer).has(S.BILLING_RUN_TRIGGER)

    # when the owner makes them BILLING_MANAGER
    membership_set_role(actor=owner_actor, membership_id=membership.pk, role=S.Role.BILLING_MANAGER)
    # then they hold exactly the billing manager's scopes
    promoted = _fresh_actor(world.tenant, viewer).scopes
    assert S.BILLING_RUN_TRIGGER in promoted
    assert promoted == S.ROLE_SCOPES[S.Role.BILLING_MANAGER]

    # when they are made VIEWER again
    membership_set_role(actor=owner_actor, membership_id=membership.pk, role=S.Role.VIEWER)
    # then the trigger scope is gone again
    demoted = _fresh_actor(world.tenant, viewer).scopes
    assert S.BILLING_RUN_TRIGGER not in demoted
    assert demoted == S.ROLE_SCOPES[S.Role.VIEWER]
    membership.refresh_from_db()
    assert membership.role == S.Role.VIEWER


def test_membership_set_role_writes_audit_entry(world, owner_actor):
    # given a VIEWER membership
    membership = TenantMembership.objects.get(user=world.users[S.Role.VIEWER], tenant=world.tenant)
    # when the owner changes the role
    membership_set_role(actor=owner_actor, membership_id=membership.pk, role=S.Role.BILLING_MANAGER)
    # then one MEMBERSHIP_ROLE_CHANGED entry names the member, both roles and who did it
    entries = AuditEntry.objects.filter(tenant=world.tenant, action="MEMBERSHIP_ROLE_CHANGED")
    assert entries.count() == 1
    entry = entries.get()
    assert entry.object_type == "core.TenantMembership"
    assert entry.object_id == str(membership.pk)
    assert entry.payload == {"user": "alpha-viewer", "from": "VIEWER", "to": "BILLING_MANAGER"}
    assert entry.actor_label == "alpha-owner"


def test_membership_set_role_refuses_demoting_last_owner(world, owner_actor):
    # given a tenant with a single OWNER
    owner = world.users[S.Role.OWNER]
    membership = TenantMembership.objects.get(user=owner, tenant=world.tenant)
    # when they are given another role / then it is refused and nothing changes
    with pytest.raises(Conflict):
        membership_set_role(actor=owner_actor, membership_id=membership.pk, role=S.Role.ADMIN)
    membership.refresh_from_db()
    assert membership.role == S.Role.OWNER
    assert _fresh_actor(world.tenant, owner).scopes == frozenset(S.ALL_SCOPES)
    assert not AuditEntry.objects.filter(
        tenant=world.tenant, action="MEMBERSHIP_ROLE_CHANGED"
    ).exists()


def test_membership_set_role_allows_demoting_owner_when_another_remains(world, owner_actor):
    # given a second OWNER
    admin_membership = TenantMembership.objects.get(
        user=world.users[S.Role.ADMIN], tenant=world.tenant
    )
    membership_set_role(actor=owner_actor, membership_id=admin_membership.pk, role=S.Role.OWNER)
    first = TenantMembership.objects.get(user=world.users[S.Role.OWNER], tenant=world.tenant)
    # when the first owner is demoted / then it goes through
    membership_set_role(actor=owner_actor, membership_id=first.pk, role=S.Role.VIEWER)
    first.refresh_from_db()
    assert first.role == S.Role.VIEWER


def test_membership_set_role_only_owner_makes_owners(world):
    # given an ADMIN (who manages the tenant but is not an owner) and a VIEWER
    viewer = TenantMembership.objects.get(user=world.users[S.Role.VIEWER], tenant=world.tenant)
    # when the ADMIN makes someone OWNER through the API
    response = world.client(S.Role.ADMIN).post(
        f"/api/tenant/members/{viewer.pk}/role", {"role": "OWNER"}, format="json"
    )
    # then it is refused as a permission problem and the role is unchanged
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    viewer.refresh_from_db()
    assert viewer.role == S.Role.VIEWER


def test_membership_remove_refuses_last_owner(world, owner_actor):
    # given a tenant with a single OWNER
    owner = world.users[S.Role.OWNER]
    membership = TenantMembership.objects.get(user=owner, tenant=world.tenant)
    # when they are removed / then it is refused and they keep every scope
    with pytest.raises(Conflict):
        membership_remove(actor=owner_actor, membership_id=membership.pk)
    assert TenantMembership.objects.filter(pk=membership.pk).exists()
    assert _fresh_actor(world.tenant, owner).scopes == frozenset(S.ALL_SCOPES)


def test_membership_remove_drops_grants_and_revokes_tokens(world, owner_actor, token_client):
    # given an OPERATIONS member with a working API token
    ops = world.users[S.Role.OPERATIONS]
    membership = TenantMembership.objects.get(user=ops, tenant=world.tenant)
    token, raw = api_token_create(
        actor=world.actor(S.Role.OPERATIONS), name="loader", scopes=[S.INGESTION_UPDATE]
    )
    assert token_client(raw).get("/api/me").status_code == 200
    assert _tenant_grants(ops, world.tenant) > 0

    # when the owner removes the member
    membership_remove(actor=owner_actor, membership_id=membership.pk)

    # then no grant on the tenant is left, the token is revoked and no longer authenticates
    assert _tenant_grants(ops, world.tenant) == 0
    assert _fresh_actor(world.tenant, ops).scopes == frozenset()
    assert not TenantMembership.objects.filter(user=ops, tenant=world.tenant).exists()
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert api_token_authenticate(raw) is None
    assert token_client(raw).get("/api/me").status_code == 401
    assert AuditEntry.objects.filter(tenant=world.tenant, action="MEMBERSHIP_REMOVED").count() == 1


def test_membership_remove_leaves_other_tenants_grants(world):
    # given a user who is a member of both tenants
    user = world.users[S.Role.ADMIN]
    membership_add(actor=Actor.system_for(world.other_tenant), user=user, role=S.Role.VIEWER)
    other_token, other_raw = api_token_create(
        actor=Actor(tenant=world.other_tenant, user=user),
        name="beta",
        scopes=[S.BILLING_RUN_VIEW],
    )
    membership = TenantMembership.objects.get(user=user, tenant=world.tenant)
    # when they are removed from tenant A
    membership_remove(actor=world.actor(S.Role.OWNER), membership_id=membership.pk)
    # then their tenant B scopes and token stay
    assert _fresh_actor(world.other_tenant, user).scopes == S.ROLE_SCOPES[S.Role.VIEWER]
    assert ApiToken.objects.get(pk=other_token.pk).revoked_at is None
    assert api_token_authenticate(other_raw) is not None


# --- object grants narrow lists -----------------------------------------------------------------


def _override_rows(tenant, requester, n: int, label: str) -> list[OverrideRequest]:
    return [
        OverrideRequest.objects.create(
            tenant=tenant,
            action=f"test.{label}",
            scope=S.BILLING_OVERRIDE_CREATE,
            reason=f"{label} {i}",
            requested_by=requester,
            expires_at=timezone.now() + timedelta(hours=72),
        )
        for i in range(n)
    ]


@pytest.fixture
def override_rows(world):
    own = _override_rows(world.tenant, world.users[S.Role.OWNER], 4, "alpha")
    foreign = _override_rows(world.other_tenant, world.outsider, 2, "beta")
    return own, foreign


def _visible(actor: Actor) -> set[int]:
    return set(
        restrict_to_grants(actor, OverrideRequest.objects.all()).values_list("pk", flat=True)
    )


def test_restrict_to_grants_without_grants_sees_all_of_own_tenant(world, override_rows):
    # given rows in both tenants and a member with no object grant
    own, foreign = override_rows
    viewer = world.actor(S.Role.VIEWER)
    # when the list is narrowed / then every row of tenant A and none of tenant B is seen
    assert _visible(viewer) == {r.pk for r in own}
    assert _visible(Actor(tenant=world.other_tenant, user=world.outsider)) == {
        r.pk for r in foreign
    }


def test_restrict_to_grants_with_grants_sees_only_granted(world, owner_actor, override_rows):
    # given a member granted two of the four rows
    own, _ = override_rows
    viewer_user = world.users[S.Role.VIEWER]
    membership = TenantMembership.objects.get(user=viewer_user, tenant=world.tenant)
    for row in own[:2]:
        object_access_grant(actor=owner_actor, membership_id=membership.pk, obj=row)
    # when their list is narrowed / then only those two are seen
    assert _visible(Actor(tenant=world.tenant, user=viewer_user)) == {r.pk for r in own[:2]}
    # and another member without grants still sees all four
    assert _visible(world.actor(S.Role.OPERATIONS)) == {r.pk for r in own}
    assert (
        AuditEntry.objects.filter(tenant=world.tenant, action="OBJECT_ACCESS_GRANTED").count() == 2
    )


def test_restrict_to_grants_after_revoking_all_sees_all_again(world, owner_actor, override_rows):
    # given a member granted two rows
    own, _ = override_rows
    viewer_user = world.users[S.Role.VIEWER]
    membership = TenantMembership.objects.get(user=viewer_user, tenant=world.tenant)
    for row in own[:2]:
        object_access_grant(actor=owner_actor, membership_id=membership.pk, obj=row)
    # when one grant is revoked / then only the other is seen
    object_access_revoke(actor=owner_actor, membership_id=membership.pk, obj=own[0])
    assert _visible(Actor(tenant=world.tenant, user=viewer_user)) == {own[1].pk}
    # when the last one is revoked / then every row of the tenant is seen again
    object_access_revoke(actor=owner_actor, membership_id=membership.pk, obj=own[1])
    assert _visible(Actor(tenant=world.tenant, user=viewer_user)) == {r.pk for r in own}


def test_object_access_grant_refuses_another_tenants_object(world, owner_actor, override_rows):
    # given a row of tenant B
    _, foreign = override_rows
    membership = TenantMembership.objects.get(user=world.users[S.Role.VIEWER], tenant=world.tenant)
    # when tenant A's owner grants it / then it does not exist for them and nothing is granted
    with pytest.raises(NotFound):
        object_access_grant(actor=owner_actor, membership_id=membership.pk, obj=foreign[0])
    assert _visible(world.actor(S.Role.VIEWER)) == set(
        OverrideRequest.objects.filter(tenant=world.tenant).values_list("pk", flat=True)
    )
