"""Core's event types (issue 19): dual-control override requests waiting and decided.

Also `scope_holders`, the members of a tenant who hold a scope: the recipients of the
"waiting for your approval" notifications of every app.

Payloads name the request, its action and scope and its state: not the summary, the reason or
the note (free text that can name a member), nor the request's own payload.
"""

from __future__ import annotations

from core.events import EventContext, EventType, event_types_register, iso

REQUEST = "core.OverrideRequest"


def scope_holders(tenant_id: int, scope: str) -> list[int]:
    """Ids of the active users who are members of the tenant and hold `scope` there."""
    from django.contrib.contenttypes.models import ContentType
    from guardian.models import UserObjectPermission

    from core.models import Tenant, TenantMembership
    from core.scopes import codename

    members = TenantMembership.objects.filter(tenant_id=tenant_id).values("user_id")
    return sorted(
        set(
            UserObjectPermission.objects.filter(
                content_type=ContentType.objects.get_for_model(Tenant),
                object_pk=str(tenant_id),
                permission__codename=codename(scope),
                user__is_active=True,
                user_id__in=members,
            ).values_list("user_id", flat=True)
        )
    )


def object_link(url_name: str):
    """A `link` function: the screen of the event's object (`url_name` takes its id)."""

    def link(event) -> str:
        from django.urls import reverse

        return reverse(url_name, args=[int(event.object_id)])

    return link


def user_of(model_label: str, field: str, who: str):
    """A `recipients` function: the one user the event's object names in `field` (e.g. who
    triggered a run, who uploaded a batch); nobody when the field is empty. `who` says so in
    the README's catalogue."""

    def recipients(event) -> list[int]:
        from django.apps import apps

        user_id = (
            apps.get_model(model_label)
            .objects.filter(pk=event.object_id, tenant_id=event.tenant_id)
            .values_list(f"{field}_id", flat=True)
            .first()
        )
        return [user_id] if user_id else []

    recipients.__doc__ = who
    return recipients


def grant_allowed(user_ids: list[int], model, object_pk) -> list[int]:
    """Of `user_ids`, those who may see row `object_pk` of `model`: no view grant on that model
    narrows them, or one of their grants names the row (one query for all users)."""
    from django.contrib.contenttypes.models import ContentType
    from guardian.models import UserObjectPermission

    grants: dict[int, set[str]] = {}
    for user_id, pk in UserObjectPermission.objects.filter(
        user_id__in=user_ids,
        content_type=ContentType.objects.get_for_model(model),
        permission__codename=f"view_{model._meta.model_name}",
    ).values_list("user_id", "object_pk"):
        grants.setdefault(user_id, set()).add(pk)
    return [u for u in user_ids if u not in grants or str(object_pk) in grants[u]]


def _request(ctx_or_event, pk):
    from core.models import OverrideRequest

    obj = getattr(ctx_or_event, "obj", None)
    if isinstance(obj, OverrideRequest):
        return obj
    return OverrideRequest.objects.filter(pk=pk).first()


def request_payload(ctx: EventContext) -> dict:
    """The request's id, action, scope, state and deadline (no free text)."""
    r = _request(ctx, ctx.object_id)
    return {
        "request": r.pk,
        "action": r.action,
        "scope": r.scope,
        "status": r.status,
        "expires_at": iso(r.expires_at),
    }


def approvers(event) -> list[int]:
    """Members who may approve the request: they hold its scope; never the requester."""
    from core.models import OverrideRequest

    r = OverrideRequest.objects.filter(pk=event.object_id, tenant_id=event.tenant_id).first()
    if r is None:
        return []
    return [u for u in scope_holders(event.tenant_id, r.scope) if u != r.requested_by_id]


def requester(event) -> list[int]:
    """The member who asked for the override."""
    from core.models import OverrideRequest

    user_id = (
        OverrideRequest.objects.filter(pk=event.object_id, tenant_id=event.tenant_id)
        .values_list("requested_by_id", flat=True)
        .first()
    )
    return [user_id] if user_id else []


def queue_link(event) -> str:
    from django.urls import reverse

    return reverse("override-queue")


def pending_title(event) -> str:
    return f"Override request #{event.payload.get('request')} waits for your approval"


def decided_title(event) -> str:
    status = str(event.payload.get("status", "")).lower()
    return f"Your override request #{event.payload.get('request')} was {status}"


TYPES = [
    EventType(
        name="override_request.pending",
        description="An override under dual control was filed and waits for a second person "
        "holding its scope.",
        object_type=REQUEST,
        actions=("OVERRIDE_REQUESTED",),
        payload=request_payload,
        recipients=approvers,
        title=pending_title,
        link=queue_link,
        sample={
            "request": 12,
            "action": "denials.denial_reopen",
            "scope": "billing.denial.write",
            "status": "PENDING",
            "expires_at": "2026-09-03T10:00:00Z",
        },
    ),
    EventType(
        name="override_request.decided",
        description="A pending override request was approved (and executed), rejected, or "
        "expired unanswered.",
        object_type=REQUEST,
        actions=("OVERRIDE_APPROVED", "OVERRIDE_REJECTED", "OVERRIDE_EXPIRED"),
        payload=request_payload,
        recipients=requester,
        title=decided_title,
        link=queue_link,
        sample={
            "request": 12,
            "action": "denials.denial_reopen",
            "scope": "billing.denial.write",
            "status": "APPROVED",
            "expires_at": "2026-09-03T10:00:00Z",
        },
    ),
]


def register() -> None:
    """Add core's types to the event catalogue."""
    event_types_register("core", TYPES)


# --- the README's catalogue, generated from the registry ---------------------------------------


def _first_line(func) -> str:
    doc = (getattr(func, "__doc__", None) or "").strip()
    return doc.splitlines()[0].rstrip(".") if doc else ""


def sample_json(sample: dict) -> str:
    """A sample payload as the README shows it: one line, sorted keys."""
    import json

    return json.dumps(sample, sort_keys=True)


def catalogue_markdown() -> str:
    """The README subsection listing every registered type (`python manage.py shell -c
    "from core.event_types import catalogue_markdown; print(catalogue_markdown())"`)."""
    from core.events import event_types

    lines = [
        "### Events and webhooks: the catalogue",
        "",
        "Every type below is registered by its app (`<app>/events.py`, from `AppConfig.ready()`)"
        " and written in the transaction of the change it reports. The webhook body and the "
        "`/api/events` item wrap `data` (the payload) in `{id, type, timestamp, sequence, "
        "tenant, object{type,id}, data}`. Payloads carry ids, states, counts and amounts "
        "(amounts as strings), never PHI. Notified: the staff who get an inbox row and an "
        "email (per their preferences); types without it notify nobody. Staff hear of a wallet's "
        "low balance by watching it (the Watch button on the wallet page, or `POST`/`DELETE "
        "/api/wallets/{id}/watch`).",
        "",
    ]
    for et in event_types():
        notified = _first_line(et.recipients) if et.recipients else "nobody"
        lines += [
            f"#### `{et.name}`",
            "",
            f"- When: {et.description}",
            f"- Object: `{et.object_type}`",
            f"- Written by: {', '.join(f'`{a}`' for a in et.actions) or 'the app (`event_emit`)'}",
            f"- Notified: {notified}",
            f"- Sample `data`: `{sample_json(et.sample)}`",
            "",
        ]
    return "\n".join(lines).rstrip() + "\n"
