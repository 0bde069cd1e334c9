"""Sign-in lockout (django-axes): when a username or an address is locked, the audit entries of a
lockout, the lockout page, and an admin's unlock.

Axes counts failed sign-ins per username and, separately, per address (settings
`AXES_LOCKOUT_PARAMETERS`); `LOGIN_FAILURE_LIMIT` failures within `LOGIN_LOCKOUT_MINUTES` lock
that username or address until the oldest of the counted failures is that old. A lockout is not
a tenant's object: its audit entry goes to every tenant the username belongs to.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable
from datetime import datetime

from axes.helpers import get_cool_off, get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.http import HttpRequest
from django.shortcuts import render
from django.utils import timezone

from core import scopes as S
from core.actors import Actor
from core.audit import audit_record
from core.exceptions import Conflict, NotFound
from core.models import TenantMembership

log = logging.getLogger("healthbill.core")

ACTION_LOCKED_OUT = "SIGN_IN_LOCKED_OUT"
ACTION_UNLOCKED = "SIGN_IN_UNLOCKED"


def client_address(request: HttpRequest) -> str | None:
    """The client's address: the connection's, or with `TRUSTED_PROXY_COUNT` proxies in front,
    the one the outermost trusted proxy appended to X-Forwarded-For (earlier entries are the
    client's to forge)."""
    remote = request.META.get("REMOTE_ADDR") or None
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [a for a in forwarded if a]
    if proxies <= 0 or not forwarded:
        return remote
    candidate = forwarded[-proxies] if len(forwarded) >= proxies else forwarded[0]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote


def _cool_off():
    return get_cool_off() or settings.AXES_COOLOFF_TIME


def _limit() -> int:
    return get_failure_limit(None, None)


def _until(rows: Iterable[tuple[datetime, int]], limit: int) -> datetime | None:
    """When a lock over these (attempt time, failures) rows, newest first, lifts (None: no lock)."""
    total = 0
    for at, failures in rows:
        total += failures
        if total >= limit:
            return at + _cool_off()
    return None


def _recent(**filters):
    since = timezone.now() - _cool_off()
    return (
        AccessAttempt.objects.filter(attempt_time__gte=since, **filters)
        .order_by("-attempt_time")
        .values_list("attempt_time", "failures_since_start")
    )


def locked_until(*, username: str | None = None, ip_address: str | None = None) -> datetime | None:
    """When the lock of a username, or of an address, lifts; None when it is not locked."""
    ends = []
    limit = _limit()
    if username:
        ends.append(_until(_recent(username=username), limit))
    if ip_address:
        ends.append(_until(_recent(ip_address=ip_address), limit))
    ends = [e for e in ends if e is not None]
    return max(ends) if ends else None


def locks_by_username(usernames: Iterable[str]) -> dict[str, datetime]:
    """The usernames among these that are locked out, with when each lock lifts (one query)."""
    rows: dict[str, list] = {}
    for name, at, failures in (
        AccessAttempt.objects.filter(
            username__in=list(usernames), attempt_time__gte=timezone.now() - _cool_off()
        )
        .order_by("-attempt_time")
        .values_list("username", "attempt_time", "failures_since_start")
    ):
        rows.setdefault(name, []).append((at, failures))
    limit = _limit()
    locks = {name: _until(r, limit) for name, r in rows.items()}
    return {name: until for name, until in locks.items() if until is not None}


def attach_locks(memberships: Iterable[TenantMembership]) -> list[TenantMembership]:
    """Set `locked_until` on each membership (None when its user may sign in)."""
    memberships = list(memberships)
    locks = locks_by_username(m.user.get_username() for m in memberships)
    for m in memberships:
        m.locked_until = locks.get(m.user.get_username())
    return memberships


def lockout_recorded(*, username: str | None, ip_address: str | None) -> int:
    """Write a lockout's audit entry in every tenant the username belongs to; how many."""
    until = locked_until(username=username, ip_address=ip_address)
    payload = {
        "user": username or "",
        "address": ip_address or "",
        "locked_until": until.isoformat() if until else None,
        "failure_limit": _limit(),
    }
    User = get_user_model()
    user = User.objects.filter(**{User.USERNAME_FIELD: username}).first() if username else None
    memberships = (
        TenantMembership.objects.filter(user=user).select_related("tenant") if user else []
    )
    written = 0
    for membership in memberships:
        audit_record(
            tenant=membership.tenant,
            actor=None,
            action=ACTION_LOCKED_OUT,
            obj=membership,
            payload=payload,
        )
        written += 1
    # No username in the log line: a mistyped one can be anything (a password, an email).
    log.warning(
        "sign_in_locked_out address=%s known_user=%s tenants=%d",
        ip_address or "-",
        "yes" if user else "no",
        written,
    )
    return written


def on_user_locked_out(sender, request=None, username=None, ip_address=None, **kwargs) -> None:
    """Axes' `user_locked_out` signal: audit a new lockout, not each attempt refused during it."""
    # Axes also sends the signal for every attempt refused while locked; only the attempt that
    # reached the limit carries a failure count.
    if request is not None and getattr(request, "axes_failures_since_start", None) is None:
        return
    lockout_recorded(username=username, ip_address=ip_address)


def lockout_response(request: HttpRequest, original_response=None, credentials=None):
    """The page a locked-out sign-in gets: locked until when, and who can lift it."""
    username = getattr(request, "POST", {}).get("username") or (credentials or {}).get("username")
    until = locked_until(username=username, ip_address=getattr(request, "axes_ip_address", None))
    return render(
        request,
        "registration/locked_out.html",
        {
            "until": until,
            "minutes": int(_cool_off().total_seconds() // 60),
            "limit": _limit(),
        },
        status=settings.AXES_HTTP_RESPONSE_CODE,
    )


def member_unlock(*, actor: Actor, membership_id: int) -> TenantMembership:
    """Lift a member's sign-in lockout (their failed attempts are forgotten) and audit it."""
    actor.require(S.TENANT_MANAGE)
    with transaction.atomic():
        membership = (
            TenantMembership.objects.filter(pk=membership_id, tenant=actor.tenant)
            .select_related("user")
            .first()
        )
        if membership is None:
            raise NotFound(f"Membership {membership_id} does not exist.")
        username = membership.user.get_username()
        until = locked_until(username=username)
        if until is None:
            raise Conflict(f"{username} is not locked out.")
        attempts = AccessAttempt.objects.filter(username=username)
        addresses = sorted({a for a in attempts.values_list("ip_address", flat=True) if a})
        attempts.delete()
        audit_record(
            tenant=actor.tenant,
            actor=actor,
            action=ACTION_UNLOCKED,
            obj=membership,
            payload={
                "user": username,
                "was_locked_until": until.isoformat(),
                "addresses": addresses,
            },
        )
    membership.locked_until = None
    return membership
