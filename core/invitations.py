"""Inviting people into a tenant: a one-time link with a role, emailed or shown once.

The link carries a random token; only its sha256 is stored. It expires after INVITATION_DAYS
and works once: accepting creates the user (or uses the signed-in one) and the membership with
the invited role, audited in the tenant's chain.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from core import scopes as S
from core.actors import Actor
from core.audit import audit_record
from core.exceptions import Conflict, DomainError, NotFound, ScopeDenied
from core.models import Invitation, TenantMembership
from core.services import membership_sync_scopes

log = logging.getLogger("healthbill.core")
User = get_user_model()

INVITATION_DAYS = 7


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def email_configured() -> bool:
    """Whether outgoing email is set up (EMAIL_URL); otherwise links are shown, not sent."""
    return bool(getattr(settings, "EMAIL_CONFIGURED", False))


def _role(role: str) -> str:
    if role not in S.Role.values:
        raise DomainError(
            f"role: expected one of {', '.join(S.Role.values)}, got '{role}'.",
            details={"role": [f"expected one of {', '.join(S.Role.values)}"]},
        )
    return role


def invitation_create(
    *, actor: Actor, email: str, role: str, link_for: Callable[[str], str]
) -> tuple[Invitation, str]:
    """Invite someone with a role; emails the link when email is set up. Returns the raw link."""
    actor.require(S.TENANT_MANAGE)
    role = _role(role)
    email = (email or "").strip()
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise DomainError(
                f"email: '{email}' is not an email address.",
                details={"email": ["expected an email address"]},
            ) from None
    if role == S.Role.OWNER and not actor.system:
        is_owner = TenantMembership.objects.filter(
            tenant=actor.tenant, user=actor.user, role=S.Role.OWNER
        ).exists()
        if not is_owner:
            raise ScopeDenied("Only an owner can invite an owner.")
    raw = secrets.token_urlsafe(32)
    link = link_for(raw)
    with transaction.atomic():
        invitation = Invitation.objects.create(
            tenant=actor.tenant,
            email=email,
            role=role,
            token_hash=_hash(raw),
            invited_by=actor.user,
            expires_at=timezone.now() + timedelta(days=INVITATION_DAYS),
        )
        audit_record(
            tenant=actor.tenant,
            actor=actor,
            action="INVITATION_CREATED",
            obj=invitation,
            payload={"email": email, "role": role, "expires_at": invitation.expires_at},
        )
    if email and email_configured():
        try:
            send_mail(
                subject=f"You are invited to {actor.tenant.name} on Healthbill",
                message=(
                    f"{actor.label} invites you to {actor.tenant.name} as "
                    f"{S.Role(role).label}.\n\nAccept within {INVITATION_DAYS} days "
                    f"(the link works once):\n{link}\n"
                ),
                from_email=None,
                recipient_list=[email],
            )
        except Exception:  # the inviter gets the link on screen instead
            log.warning("invitation email failed", extra={"invitation": invitation.pk})
        else:
            Invitation.objects.filter(pk=invitation.pk).update(emailed=True)
            invitation.emailed = True
    return invitation, link


def invitation_list(actor: Actor) -> QuerySet[Invitation]:
    """The tenant's invitations, newest first."""
    actor.require(S.TENANT_MANAGE)
    return Invitation.objects.filter(tenant=actor.tenant).select_related(
        "invited_by", "accepted_by"
    )


def invitation_revoke(*, actor: Actor, invitation_id: int) -> Invitation:
    """Withdraw an invitation nobody accepted yet."""
    actor.require(S.TENANT_MANAGE)
    with transaction.atomic():
        invitation = (
            Invitation.objects.select_for_update()
            .filter(pk=invitation_id, tenant=actor.tenant)
            .first()
        )
        if invitation is None:
            raise NotFound(f"Invitation {invitation_id} does not exist.")
        if invitation.state != "PENDING":
            raise Conflict(f"Invitation {invitation_id} is {invitation.state.lower()}.")
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
        audit_record(
            tenant=actor.tenant,
            actor=actor,
            action="INVITATION_REVOKED",
            obj=invitation,
            payload={"email": invitation.email, "role": invitation.role},
        )
    return invitation


def _refuse_unless_pending(invitation: Invitation | None) -> Invitation:
    if invitation is None:
        raise NotFound("This invitation link is not valid.")
    state = invitation.state
    if state == "ACCEPTED":
        raise Conflict("This invitation link was already used.")
    if state == "REVOKED":
        raise Conflict("This invitation was withdrawn.")
    if state == "EXPIRED":
        raise Conflict(
            f"This invitation expired on {invitation.expires_at:%Y-%m-%d %H:%M} UTC; "
            "ask for a new one."
        )
    return invitation


def invitation_get(raw: str) -> Invitation:
    """The pending invitation a link belongs to, or a clear refusal (unknown, used, expired)."""
    invitation = (
        Invitation.objects.select_related("tenant", "invited_by")
        .filter(token_hash=_hash(raw or ""))
        .first()
    )
    return _refuse_unless_pending(invitation)


def invitation_accept(
    *, raw: str, user=None, username: str = "", password: str = ""
) -> TenantMembership:
    """Use a link once: as the signed-in `user`, or creating a user with username and password."""
    with transaction.atomic():
        invitation = _refuse_unless_pending(
            Invitation.objects.select_for_update()
            .select_related("tenant")
            .filter(token_hash=_hash(raw or ""))
            .first()
        )
        tenant = invitation.tenant
        if user is None:
            user = _new_user(username=username, password=password, email=invitation.email)
        elif TenantMembership.objects.filter(tenant=tenant, user=user).exists():
            raise Conflict(f"{user.get_username()} is already a member of {tenant.name}.")
        try:
            with transaction.atomic():
                membership = TenantMembership.objects.create(
                    user=user, tenant=tenant, role=invitation.role
                )
        except IntegrityError:
            raise Conflict(f"{user.get_username()} is already a member of {tenant.name}.") from None
        membership_sync_scopes(membership)
        invitation.accepted_at = timezone.now()
        invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
        joiner = Actor(tenant=tenant, user=user)
        audit_record(
            tenant=tenant,
            actor=joiner,
            action="INVITATION_ACCEPTED",
            obj=invitation,
            payload={"user": user.get_username(), "role": invitation.role},
        )
        audit_record(
            tenant=tenant,
            actor=joiner,
            action="MEMBERSHIP_ADDED",
            obj=membership,
            payload={
                "user": user.get_username(),
                "role": invitation.role,
                "invitation": invitation.pk,
            },
        )
    return membership


def _new_user(*, username: str, password: str, email: str):
    username = (username or "").strip()
    errors: dict[str, list[str]] = {}
    if not username:
        errors["username"] = ["a username is required"]
    elif User.objects.filter(username__iexact=username).exists():
        errors["username"] = [f"'{username}' is taken; choose another"]
    else:
        try:
            User.username_validator(username)
        except ValidationError as exc:
            errors["username"] = list(exc.messages)
    candidate = User(username=username, email=email)
    try:
        password_validation.validate_password(password or "", candidate)
    except ValidationError as exc:
        errors["password"] = list(exc.messages)
    if not password:
        errors["password"] = ["a password is required"]
    if errors:
        first = next(iter(errors))
        raise DomainError(f"{first}: {'; '.join(errors[first])}", details=errors)
    candidate.set_password(password)
    candidate.save()
    return candidate
