"""Reads, already filtered by tenant and by object grants."""

from __future__ import annotations

from datetime import date

from django.contrib.contenttypes.models import ContentType
from django.db.models import Model, Q, QuerySet

from core import scopes as S
from core.actors import Actor
from core.models import ApiToken, AuditEntry, OverrideRequest, TenantMembership
from core.phi_reads import PHI_PREFIX


def memberships_of(user) -> QuerySet[TenantMembership]:
    """The tenants a user belongs to, with their roles."""
    return (
        TenantMembership.objects.filter(user=user).select_related("tenant").order_by("tenant__slug")
    )


def restrict_to_grants(actor: Actor, queryset: QuerySet) -> QuerySet:
    """Narrow a tenant-scoped queryset to the objects granted to the member, if any were.

    A member with no object grant on a model sees every row of the tenant; one with grants on
    some rows (guardian `view_<model>`) sees only those (SPEC 2, per-payer access).
    """
    queryset = queryset.filter(tenant=actor.tenant)
    ids = granted_ids(actor, queryset.model)
    return queryset if ids is None else queryset.filter(pk__in=ids)


def granted_ids(actor: Actor, model: type[Model]) -> list | None:
    """Ids of the model's rows granted to the member, or None when no grant narrows them.

    Worked out once per actor and model (an actor lives for one request or one task).
    """
    if actor.system or actor.user is None:
        return None
    cache = actor.__dict__.setdefault("_granted_ids", {})
    if model not in cache:
        ct = ContentType.objects.get_for_model(model).pk
        view = f"view_{model._meta.model_name}"
        ids = [
            model._meta.pk.to_python(object_pk)
            for (type_id, object_pk), names in actor.object_permissions.items()
            if type_id == ct and view in names
        ]
        cache[model] = ids or None
    return cache[model]


def audit_entry_list(
    actor: Actor,
    *,
    action: str = "",
    actor_label: str = "",
    object_type: str = "",
    object_id: str = "",
    since: date | None = None,
    until: date | None = None,
    phi_only: bool = False,
    month: date | None = None,
    user: str = "",
    payer: str = "",
) -> QuerySet[AuditEntry]:
    """The tenant's audit entries, newest first, filtered as staff filter them.

    `user` is who asked: the payload's `requested_by` (an override approved by a second person
    is written by the approver), else the actor; `payer` is the payload's payer code; `month`
    the first day of a month. The override report links its rows with these.
    """
    actor.require(S.AUDIT_READ)
    qs = AuditEntry.objects.filter(tenant=actor.tenant)
    if phi_only:  # who read what: the PHI views, exports and searches
        qs = qs.filter(action__startswith=PHI_PREFIX)
    if action:
        qs = qs.filter(action=action)
    if actor_label:
        qs = qs.filter(actor_label__icontains=actor_label)
    if object_type:
        qs = qs.filter(object_type=object_type)
    if object_id:
        qs = qs.filter(object_id=str(object_id))
    if since:
        qs = qs.filter(at__date__gte=since)
    if until:
        qs = qs.filter(at__date__lte=until)
    if month:
        nxt = date(month.year + month.month // 12, month.month % 12 + 1, 1)
        qs = qs.filter(at__date__gte=month, at__date__lt=nxt)
    if user:
        no_requester = (
            Q(payload__requested_by__isnull=True)
            | Q(payload__requested_by=None)
            | Q(payload__requested_by="")
        )
        qs = qs.filter(Q(payload__requested_by=user) | (no_requester & Q(actor_label=user)))
    if payer:
        qs = qs.filter(payload__payer=payer)
    return qs.order_by("-seq")


def audit_actions(actor: Actor) -> list[str]:
    """The distinct actions of the tenant's trail, for filter menus."""
    return list(
        AuditEntry.objects.filter(tenant=actor.tenant)
        .order_by("action")
        .values_list("action", flat=True)
        .distinct()
    )


def api_token_list(actor: Actor) -> QuerySet[ApiToken]:
    """The actor's own tokens, or all of the tenant's for those who manage it."""
    qs = ApiToken.objects.filter(tenant=actor.tenant).select_related("user")
    if not actor.has(S.TENANT_MANAGE):
        qs = qs.filter(user=actor.user)
    return qs


def override_request_list(
    actor: Actor, *, status: str = "", action: str = ""
) -> QuerySet[OverrideRequest]:
    """Override requests the actor could decide on or has made."""
    qs = OverrideRequest.objects.filter(tenant=actor.tenant).select_related(
        "requested_by", "decided_by"
    )
    if status:
        qs = qs.filter(status=status)
    if action:
        qs = qs.filter(action=action)
    visible = [s for s in S.OVERRIDE_SCOPES if actor.has(s)]
    if actor.user is not None:
        return qs.filter(Q(scope__in=visible) | Q(requested_by=actor.user))
    return qs.filter(scope__in=visible)


def member_list(actor: Actor) -> QuerySet[TenantMembership]:
    """The tenant's members with their roles."""
    actor.require(S.TENANT_MANAGE)
    return TenantMembership.objects.filter(tenant=actor.tenant).select_related("user")
