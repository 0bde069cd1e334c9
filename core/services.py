"""Use-cases of core: tenants, memberships and their scopes, object grants, policy, API tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from guardian.models import UserObjectPermission
from guardian.shortcuts import assign_perm, remove_perm

from core import scopes as S
from core.actors import Actor
from core.audit import audit_record
from core.exceptions import Conflict, DomainError, NotFound, ScopeDenied
from core.models import ApiToken, AuditChainHead, Tenant, TenantMembership, TenantPolicy

User = get_user_model()


# --- tenants ----------------------------------------------------------------------------------


def tenant_create(*, slug: str, name: str = "", actor_label: str = "system") -> Tenant:
    """Create a tenant with its policy and an empty audit chain."""
    with transaction.atomic():
        if Tenant.objects.filter(slug=slug).exists():
            raise Conflict(f"A tenant with slug '{slug}' already exists.")
        tenant = Tenant.objects.create(slug=slug, name=name or slug)
        TenantPolicy.objects.create(tenant=tenant)
        AuditChainHead.objects.create(tenant=tenant)
        audit_record(
            tenant=tenant,
            actor=None,
            action="TENANT_CREATED",
            obj=tenant,
            payload={"slug": slug, "name": tenant.name, "by": actor_label},
        )
    return tenant


def tenant_policy_update(*, actor: Actor, dual_control_scopes: list[str]) -> TenantPolicy:
    """Change which override scopes need a second person's approval."""
    actor.require(S.TENANT_MANAGE)
    allowed = S.offered_override_scopes()
    unknown = sorted(set(dual_control_scopes) - set(allowed))
    if unknown:
        raise DomainError(
            f"dual_control_scopes: {', '.join(unknown)} cannot be put under dual control; "
            f"expected some of {', '.join(allowed)}.",
            details={"dual_control_scopes": unknown},
        )
    with transaction.atomic():
        policy = TenantPolicy.objects.select_for_update().get(tenant=actor.tenant)
        before = list(policy.dual_control_scopes)
        policy.dual_control_scopes = sorted(set(dual_control_scopes))
        policy.save(update_fields=["dual_control_scopes", "updated_at"])
        audit_record(
            tenant=actor.tenant,
            actor=actor,
            action="POLICY_CHANGED",
            obj=policy,
            payload={"dual_control_scopes": {"from": before, "to": policy.dual_control_scopes}},
        )
    return policy


# --- memberships and scopes -------------------------------------------------------------------


def membership_sync_scopes(membership: TenantMembership) -> None:
    """Make the user's guardian grants on the tenant match exactly the scopes of the role."""
    wanted = {S.codename(s) for s in S.scopes_for_role(membership.role)}
    ct = ContentType.objects.get_for_model(Tenant)
    current = UserObjectPermission.objects.filter(
        user=membership.user, content_type=ct, object_pk=str(membership.tenant_id)
    )
    held = set(current.values_list("permission__codename", flat=True))
    current.filter(permission__codename__in=held - wanted).delete()
    missing = wanted - held
    if missing:
        perms = Permission.objects.filter(content_type=ct, codename__in=missing)
        UserObjectPermission.objects.bulk_create(
            UserObjectPermission(
                user=membership.user,
                permission=p,
                content_type=ct,
                object_pk=str(membership.tenant_id),
            )
            for p in perms
        )


def membership_add(*, actor: Actor, user, role: str) -> TenantMembership:
    """Add a user to the actor's tenant with a role, granting the role's scopes."""
    actor.require(S.TENANT_MANAGE)
    role = S.Role(role)
    with transaction.atomic():
        try:
            membership = TenantMembership.objects.create(user=user, tenant=actor.tenant, role=role)
        except IntegrityError:
            raise Conflict(f"User '{user.get_username()}' is already a member.") from None
        membership_sync_scopes(membership)
        audit_record(
            tenant=actor.tenant,
            actor=actor,
            action="MEMBERSHIP_ADDED",
            obj=membership,
            payload={"user": user.get_username(), "role": role},
        )
    return membership


def _owners_left(tenant: Tenant, excluding: int) -> int:
    return (
        TenantMembership.objects.filter(tenant=tenant, role=S.Role.OWNER)
        .exclude(pk=excluding)
        .count()
    )


def membership_set_role(*, actor: Actor, membership_id: int, role: str) -> TenantMembership:
    """Change a member's role and re-sync the scopes; the last owner cannot be demoted."""
    actor.require(S.TENANT_MANAGE)
    role = S.Role(role)
    with transaction.atomic():
        membership = (
            TenantMembership.objects.select_for_update(of=("self",))
            .filter(pk=membership_id, tenant=actor.tenant)
            .select_related("user")
            .first()
        )
        if membership is None:
            raise NotFound(f"Membership {membership_id} does not exist.")
        before = membership.role
        demoting = before == S.Role.OWNER and role != S.Role.OWNER
        if demoting and _owners_left(actor.tenant, membership.pk) == 0:
            raise Conflict("The last owner of a tenant cannot be given another role.")
        if role == S.Role.OWNER and before != S.Role.OWNER and not actor.system:
            actor_membership = actor.user and TenantMembership.objects.filter(
                user=actor.user, tenant=actor.tenant, role=S.Role.OWNER
            )
            if not actor_membership or not actor_membership.exists():
                raise ScopeDenied("Only an owner can make someone an owner.")
        membership.role = role
        membership.save(update_fields=["role"])
        membership_sync_scopes(membership)
        audit_record(
            tenant=actor.tenant,
            actor=actor,
            action="MEMBERSHIP_ROLE_CHANGED",
            obj=membership,
            payload={"user": membership.user.get_username(), "from": before, "to": role},
        )
    return membership


def membership_remove(*, actor: Actor, membership_id: int) -> None:
    """Remove a member and every grant they held in the tenant."""
    actor.require(S.TENANT_MANAGE)
    with transaction.atomic():
        membership = (
            TenantMembership.objects.select_for_update(of=("self",))
            .filter(pk=membership_id, tenant=actor.tenant)
            .select_related("user")
            .first()
        )
        if membership is None:
            raise NotFound(f"Membership {membership_id} does not exist.")
        if membership.role == S.Role.OWNER and _owners_left(actor.tenant, membership.pk) == 0:
            raise Conflict("The last owner of a tenant cannot be removed.")
        UserObjectPermission.objects.filter(
            user=membership.user,
            content_type=ContentType.objects.get_for_model(Tenant),
            object_pk=str(actor.tenant.pk),
        ).delete()
        api_tokens = ApiToken.objects.filter(user=membership.user, tenant=actor.tenant)
        api_tokens.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        membership.delete()
        audit_record(
            tenant=actor.tenant,
            actor=actor,
            action="MEMBERSHIP_REMOVED",
            object_type=TenantMembership._meta.label,
            object_id=membership_id,
            payload={"user": membership.user.get_username()},
        )


# --- object-level grants (narrowing a membership to some objects) ------------------------------


def _view_perm(model: type[models.Model]) -> str:
    return f"{model._meta.app_label}.view_{model._meta.model_name}"


def _object_access(*, actor: Actor, membership_id: int, obj: models.Model, grant: bool) -> None:
    actor.require(S.TENANT_MANAGE)
    if getattr(obj, "tenant_id", None) != actor.tenant.pk:
        raise NotFound(f"{obj._meta.verbose_name.capitalize()} {obj.pk} does not exist.")
    membership = TenantMembership.objects.filter(pk=membership_id, tenant=actor.tenant).first()
    if membership is None:
        raise NotFound(f"Membership {membership_id} does not exist.")
    with transaction.atomic():
        (assign_perm if grant else remove_perm)(_view_perm(type(obj)), membership.user, obj)
        audit_record(
            tenant=actor.tenant,
            actor=actor,
            action="OBJECT_ACCESS_GRANTED" if grant else "OBJECT_ACCESS_REVOKED",
            obj=obj,
            payload={"user": membership.user.get_username()},
        )


def object_access_grant(*, actor: Actor, membership_id: int, obj: models.Model) -> None:
    """Limit (further) a member to objects of obj's kind that were granted, obj included."""
    _object_access(actor=actor, membership_id=membership_id, obj=obj, grant=True)


def object_access_revoke(*, actor: Actor, membership_id: int, obj: models.Model) -> None:
    """Take back one object grant; with none left the member sees all objects of the kind."""
    _object_access(actor=actor, membership_id=membership_id, obj=obj, grant=False)


# --- API tokens -------------------------------------------------------------------------------

TOKEN_PREFIX = "hb"


def hash_token(raw: str) -> str:
    """sha256 of the raw key; only this is stored."""
    return hashlib.sha256(raw.encode()).hexdigest()


def api_token_create(
    *, actor: Actor, name: str, scopes: list[str], expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """Create a token for the acting user within the user's scopes; the raw key is returned once."""
    if actor.user is None or actor.token is not None:
        raise ScopeDenied("API tokens are created by a signed-in user, not by a token.")
    name = (name or "").strip()
    if not name:
        raise DomainError("name: a name is required.", details={"name": ["required"]})
    unknown = sorted(set(scopes) - set(S.ALL_SCOPES))
    if unknown:
        raise DomainError(
            f"scopes: unknown scope(s) {', '.join(unknown)}.", details={"scopes": unknown}
        )
    not_offered = sorted(set(scopes) - set(S.offered_scopes()))
    if not_offered:
        raise DomainError(
            f"scopes: {', '.join(not_offered)} not offered here (no installed app provides "
            f"{'it' if len(not_offered) == 1 else 'them'} yet); "
            f"expected some of {', '.join(S.offered_scopes())}.",
            details={"scopes": not_offered},
        )
    beyond = sorted(set(scopes) - actor.scopes)
    if beyond:
        raise ScopeDenied(
            f"scopes: a token cannot carry scopes you do not hold: {', '.join(beyond)}.",
            details={"scopes": beyond},
        )
    if not scopes:
        raise DomainError("scopes: give at least one scope.", details={"scopes": ["required"]})
    if expires_at is not None and expires_at <= timezone.now():
        raise DomainError("expires_at: must be in the future.", details={"expires_at": ["past"]})
    prefix = secrets.token_hex(6)
    raw = f"{TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        token = ApiToken.objects.create(
            tenant=actor.tenant,
            user=actor.user,
            name=name,
            prefix=prefix,
            key_hash=hash_token(raw),
            scopes=sorted(set(scopes)),
            expires_at=expires_at,
        )
        audit_record(
            tenant=actor.tenant,
            actor=actor,
            action="API_TOKEN_CREATED",
            obj=token,
            payload={
                "name": name,
                "prefix": prefix,
                "scopes": token.scopes,
                "expires_at": expires_at,
            },
        )
    return token, raw


def api_token_revoke(*, actor: Actor, token_id: int) -> ApiToken:
    """Revoke a token: its owner may, and so may anyone holding tenant.manage."""
    with transaction.atomic():
        token = (
            ApiToken.objects.select_for_update().filter(pk=token_id, tenant=actor.tenant).first()
        )
        if token is None:
            raise NotFound(f"API token {token_id} does not exist.")
        if not (actor.user and token.user_id == actor.user.pk) and not actor.system:
            actor.require(S.TENANT_MANAGE)
        if token.revoked_at:
            raise Conflict(f"API token {token.prefix} is already revoked.")
        token.revoked_at = timezone.now()
        token.revoked_by = actor.user
        token.save(update_fields=["revoked_at", "revoked_by"])
        audit_record(
            tenant=actor.tenant,
            actor=actor,
            action="API_TOKEN_REVOKED",
            obj=token,
            payload={"prefix": token.prefix},
        )
    return token


def api_token_authenticate(raw: str) -> ApiToken | None:
    """The active token a raw key belongs to, or None; records the time of use."""
    parts = raw.split("_")
    if len(parts) < 3 or parts[0] != TOKEN_PREFIX:
        return None
    token = ApiToken.objects.select_related("tenant", "user").filter(prefix=parts[1]).first()
    if token is None or not secrets.compare_digest(token.key_hash, hash_token(raw)):
        return None
    if not token.is_active or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


# --- users (operator commands) ----------------------------------------------------------------


def superuser_ensure(*, username: str, password: str):
    """Get or create a Django superuser (staff, for /admin/) with this password."""
    user = user_ensure(username=username, password=password)
    if not (user.is_staff and user.is_superuser):
        user.is_staff = user.is_superuser = True
        user.save(update_fields=["is_staff", "is_superuser"])
    return user


def user_ensure(*, username: str, password: str | None = None, email: str = ""):
    """Get or create a staff user; set the password when one is given."""
    user, created = User.objects.get_or_create(username=username, defaults={"email": email})
    if password:
        user.set_password(password)
        user.save(update_fields=["password"])
    elif created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user
