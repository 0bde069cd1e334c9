"""Staff notifications: an in-app inbox and email for work that waits for one person.

The relay (`core.outbox.events_relay`) calls `notify_events` with each batch of committed
events, inside the batch's transaction. For every event whose catalogued type names
`recipients`, the users that are still active members of the event's tenant get an inbox row
and an email, each as their `NotificationPreference` for that kind says (no row: both on).
Emails go out after the commit through Django's email backend (the console backend in the demo).

Nothing here carries PHI: the title comes from the type's `title(event)` (PHI-free by contract),
the body is the type's description, the link points at a staff screen that checks permissions.
Reading and marking one's own notifications needs no scope: it is every member's own inbox.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from core import scopes as S
from core.actors import Actor
from core.audit import audit_record
from core.events import event_type_get, event_types
from core.exceptions import DomainError, NotFound, ScopeDenied
from core.links import link_for
from core.models import Notification, NotificationPreference, TenantMembership

log = logging.getLogger("healthbill.notifications")
User = get_user_model()

WEBHOOK_DISABLED = "webhooks.endpoint.disabled"
WEBHOOK_DISABLED_LABEL = "A webhook endpoint was disabled after 24 hours of failed deliveries"
ADMIN_ROLES = (S.Role.OWNER, S.Role.ADMIN)
SUBJECT_PREFIX = "[Healthbill] "
PREFERENCES_PATH = "/notifications/preferences/"


@dataclass(frozen=True)
class _Notice:
    """One notice to send to some users (an event's, or an ad hoc one)."""

    tenant_id: int
    tenant_name: str
    kind: str
    title: str
    body: str
    link: str
    event_id: int | None
    user_ids: frozenset[int]


# --- helpers ----------------------------------------------------------------------------------


def absolute_link(link: str) -> str:
    """`link` prefixed with settings.SITE_URL when it is a path and a site URL is set."""
    base = (getattr(settings, "SITE_URL", "") or "").rstrip("/")
    if link.startswith("/") and base:
        return base + link
    return link


def _members(pairs: set[tuple[int, int]]) -> set[tuple[int, int]]:
    """The (tenant id, user id) pairs that are memberships of active users."""
    if not pairs:
        return set()
    tenants = {t for t, _ in pairs}
    users = {u for _, u in pairs}
    found = TenantMembership.objects.filter(
        tenant_id__in=tenants, user_id__in=users, user__is_active=True
    ).values_list("tenant_id", "user_id")
    return set(found) & pairs


def _preferences(pairs: set[tuple[int, int]]) -> dict[tuple[int, int, str], tuple[bool, bool]]:
    """(tenant, user, kind) -> (inbox, email) for the pairs' stored preferences."""
    if not pairs:
        return {}
    rows = NotificationPreference.objects.filter(
        tenant_id__in={t for t, _ in pairs}, user_id__in={u for _, u in pairs}
    ).values_list("tenant_id", "user_id", "kind", "inbox", "email")
    return {(t, u, k): (i, e) for t, u, k, i, e in rows}


def _deliver(notices: list[_Notice]) -> int:
    """Write inbox rows and schedule emails for these notices; returns the users reached."""
    pairs = {(n.tenant_id, u) for n in notices for u in n.user_ids}
    members = _members(pairs)
    prefs = _preferences(members)
    event_ids = {n.event_id for n in notices if n.event_id is not None}
    already = set()
    if event_ids:
        # a notice per user and event, even if an event were relayed twice
        already = set(
            Notification.objects.filter(event_id__in=event_ids).values_list("user_id", "event_id")
        )
    now = timezone.now()
    rows: list[Notification] = []
    mails: list[tuple[int, _Notice]] = []
    for notice in notices:
        for user_id in sorted(notice.user_ids):
            if (notice.tenant_id, user_id) not in members:
                continue  # not (or no longer) a member: nothing
            if notice.event_id is not None and (user_id, notice.event_id) in already:
                continue
            inbox, email = prefs.get((notice.tenant_id, user_id, notice.kind), (True, True))
            if inbox:
                rows.append(
                    Notification(
                        tenant_id=notice.tenant_id,
                        user_id=user_id,
                        event_id=notice.event_id,
                        kind=notice.kind,
                        title=notice.title[:200],
                        body=notice.body,
                        link=notice.link[:300],
                        created_at=now,
                    )
                )
            if email:
                mails.append((user_id, notice))
    if rows:
        Notification.objects.bulk_create(rows, ignore_conflicts=True)
    if mails:
        # robust: a mail failure after the commit is logged, never raised into the relay
        transaction.on_commit(lambda: _send_emails(mails), robust=True)
    reached = {(r.tenant_id, r.user_id, r.kind, r.event_id) for r in rows}
    reached |= {(n.tenant_id, u, n.kind, n.event_id) for u, n in mails}
    return len(reached)


def _email_text(notice: _Notice) -> str:
    lines = [notice.title, ""]
    if notice.body:
        lines += [notice.body, ""]
    if notice.link:
        lines += [f"Open it: {absolute_link(notice.link)}", ""]
    lines += [
        f"You receive this as a member of {notice.tenant_name} on Healthbill.",
        f"Choose which notices reach you: {absolute_link(PREFERENCES_PATH)}",
    ]
    return "\n".join(lines) + "\n"


def _send_emails(mails: list[tuple[int, _Notice]]) -> None:
    """After commit: one email per (user, notice) to users with an address; marks rows emailed."""
    addresses = dict(
        User.objects.filter(pk__in={u for u, _ in mails})
        .exclude(email="")
        .values_list("pk", "email")
    )
    sent: list[tuple[int, int]] = []
    connection = get_connection(fail_silently=False)
    for user_id, notice in mails:
        address = addresses.get(user_id)
        if not address:
            continue
        message = EmailMessage(
            subject=(SUBJECT_PREFIX + notice.title)[:200],
            body=_email_text(notice),
            to=[address],
            connection=connection,
        )
        try:
            message.send()
        except Exception:  # one bad address or a mail server hiccup never stops the others
            log.warning(
                "notification email failed",
                extra={
                    "event": "notification_email_failed",
                    "user_id": user_id,
                    "kind": notice.kind,
                },
            )
            continue
        if notice.event_id is not None:
            sent.append((user_id, notice.event_id))
    if sent:
        match = Q()
        for user_id, event_id in sent:
            match |= Q(user_id=user_id, event_id=event_id)
        Notification.objects.filter(match).update(emailed=True)


# --- writing: relay handler and direct notices --------------------------------------------------


def notify_events(events: list) -> None:
    """Relay handler: inbox rows and emails for the recipients of each catalogued event."""
    notices = []
    for event in events:
        et = event_type_get(event.type)
        if et is None or et.recipients is None:
            continue
        try:
            with transaction.atomic():  # a failing recipients() must not stop the relay
                user_ids = frozenset(int(u) for u in et.recipients(event) if u is not None)
                title = et.title(event) if et.title else et.description
                link = et.link(event) if et.link else link_for(event.object_type, event.object_id)
        except Exception as exc:  # logged by class only: a message could quote PHI
            log.warning(
                "notification recipients failed",
                extra={
                    "event": "notification_recipients_failed",
                    "type": event.type,
                    "error": type(exc).__name__,
                },
            )
            continue
        if not user_ids:
            continue
        notices.append(
            _Notice(
                tenant_id=event.tenant_id,
                tenant_name=event.tenant.name,
                kind=event.type,
                title=title or et.description,
                body=et.description,
                link=link or "",
                event_id=event.pk,
                user_ids=user_ids,
            )
        )
    if notices:
        _deliver(notices)


def notify_users(
    *,
    tenant,
    user_ids: Iterable[int],
    kind: str,
    title: str,
    body: str = "",
    link: str = "",
    event=None,
) -> int:
    """Notify some members of a tenant (preferences apply); returns how many users it reached."""
    notice = _Notice(
        tenant_id=tenant.pk,
        tenant_name=tenant.name,
        kind=kind,
        title=title,
        body=body,
        link=link,
        event_id=event.pk if event is not None else None,
        user_ids=frozenset(int(u) for u in user_ids),
    )
    with transaction.atomic():
        return _deliver([notice])


def notify_admins(*, tenant, kind: str, title: str, body: str = "", link: str = "") -> int:
    """Notify the tenant's OWNER and ADMIN members; returns how many users it reached."""
    admins = TenantMembership.objects.filter(tenant=tenant, role__in=ADMIN_ROLES).values_list(
        "user_id", flat=True
    )
    return notify_users(
        tenant=tenant, user_ids=list(admins), kind=kind, title=title, body=body, link=link
    )


# --- the inbox ---------------------------------------------------------------------------------


def _require_user(actor: Actor) -> None:
    if actor.user is None:
        raise ScopeDenied("Notifications belong to a signed-in member.")


def inbox_list(actor: Actor, *, unread_only: bool = False) -> QuerySet[Notification]:
    """The actor's notifications in the actor's tenant, newest first."""
    if actor.user is None:
        return Notification.objects.none()
    qs = Notification.objects.filter(tenant=actor.tenant, user=actor.user)
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return qs.order_by("-created_at", "-id")


def inbox_unread_count(*, user, tenant) -> int:
    """How many of the user's notifications in this tenant are unread."""
    if user is None or tenant is None:
        return 0
    return Notification.objects.filter(tenant=tenant, user=user, read_at__isnull=True).count()


def notification_mark_read(*, actor: Actor, notification_id: int) -> Notification:
    """Mark one of the actor's notifications read (already read: unchanged).

    A personal inbox state, not a change to the tenant's records: no audit entry.
    """
    _require_user(actor)
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update()
            .filter(pk=notification_id, tenant=actor.tenant, user=actor.user)
            .first()
        )
        if notification is None:
            raise NotFound(f"Notification {notification_id} does not exist.")
        if notification.read_at is None:
            notification.read_at = timezone.now()
            notification.save(update_fields=["read_at"])
    return notification


def notifications_mark_all_read(*, actor: Actor) -> int:
    """Mark every unread notification of the actor in this tenant read; returns how many."""
    _require_user(actor)
    with transaction.atomic():
        return inbox_list(actor, unread_only=True).update(read_at=timezone.now())


# --- preferences -------------------------------------------------------------------------------


def _is_admin(actor: Actor) -> bool:
    if actor.user is None:
        return False
    return TenantMembership.objects.filter(
        tenant=actor.tenant, user=actor.user, role__in=ADMIN_ROLES
    ).exists()


def notification_kinds(actor: Actor) -> list[tuple[str, str]]:
    """(kind, label) of every notice the actor can receive: catalogued types with recipients,
    and the webhook-disabled notice for OWNER and ADMIN members."""
    kinds = [(et.name, et.description) for et in event_types() if et.recipients is not None]
    if _is_admin(actor):
        kinds.append((WEBHOOK_DISABLED, WEBHOOK_DISABLED_LABEL))
    return kinds


def notification_preferences(actor: Actor) -> list[dict]:
    """The actor's choices per kind: [{kind, label, inbox, email}] (no row: both on)."""
    _require_user(actor)
    stored = {
        p.kind: p
        for p in NotificationPreference.objects.filter(tenant=actor.tenant, user=actor.user)
    }
    out = []
    for kind, label in notification_kinds(actor):
        pref = stored.get(kind)
        out.append(
            {
                "kind": kind,
                "label": label,
                "inbox": pref.inbox if pref else True,
                "email": pref.email if pref else True,
            }
        )
    return out


def notification_preference_set(
    *, actor: Actor, kind: str, inbox: bool, email: bool
) -> NotificationPreference:
    """Choose whether notices of one kind reach the actor's inbox and email (audited)."""
    _require_user(actor)
    known = [k for k, _ in notification_kinds(actor)]
    if kind not in known:
        raise DomainError(
            f"kind: '{kind}' is not a notice you can receive.",
            code="unknown_kind",
            details={"kind": [f"expected one of {', '.join(known) or 'none'}"]},
        )
    with transaction.atomic():
        pref, _ = NotificationPreference.objects.update_or_create(
            tenant=actor.tenant,
            user=actor.user,
            kind=kind,
            defaults={"inbox": bool(inbox), "email": bool(email)},
        )
        audit_record(
            tenant=actor.tenant,
            actor=actor,
            action="NOTIFICATION_PREFERENCE_SET",
            obj=pref,
            payload={"kind": kind, "inbox": bool(inbox), "email": bool(email)},
        )
    return pref
