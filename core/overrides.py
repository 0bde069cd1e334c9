"""Dual control (SPEC 2): override actions that may need a second person's approval.

Each app registers an executor for its override actions (in its AppConfig.ready()). An action
whose scope is listed in the tenant's `dual_control_scopes` becomes an `OverrideRequest` and runs
only when a different user holding the same scope approves it; otherwise it runs at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from core.actors import Actor
from core.audit import audit_record
from core.exceptions import Conflict, DomainError, NotFound, ScopeDenied
from core.models import OverrideRequest, TenantPolicy
from core.transitions import transition_apply

Executor = Callable[..., dict]


@dataclass(frozen=True)
class OverrideAction:
    """An override action an app offers: its scope, how it runs and how it reads in a queue."""

    name: str
    scope: str
    execute: Executor  # execute(actor=, payload=, reason=, requested_by=, approved_by=) -> dict
    describe: Callable[[dict], str] = lambda payload: ""


_REGISTRY: dict[str, OverrideAction] = {}


def register_override(action: OverrideAction) -> None:
    """Make an override action known to core (idempotent per name)."""
    _REGISTRY[action.name] = action


def override_action_get(name: str) -> OverrideAction:
    """The registered action, or a clear error."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise DomainError(f"Unknown override action '{name}'.") from None


@dataclass(frozen=True)
class OverrideOutcome:
    """Either the result of an executed action, or the request now waiting for approval."""

    executed: bool
    result: dict | None = None
    request: OverrideRequest | None = None


def override_people(requested_by, approved_by) -> dict:
    """Who asked and who approved, as every override's audit payload names them (the
    override-rate report counts an override for the person who asked)."""
    return {
        "requested_by": requested_by.get_username() if requested_by else None,
        "approved_by": approved_by.get_username() if approved_by else None,
    }


def needs_second_person(actor: Actor, scope: str) -> bool:
    """Whether the tenant puts this scope under dual control."""
    policy = TenantPolicy.objects.filter(tenant=actor.tenant).first()
    return bool(policy and scope in policy.dual_control_scopes)


def override_perform(
    *, actor: Actor, action: str, payload: dict[str, Any], reason: str
) -> OverrideOutcome:
    """Run an override now, or file it for approval when its scope is under dual control."""
    spec = override_action_get(action)
    actor.require(spec.scope)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("reason: an override needs a reason.", code="reason_required")
    if not needs_second_person(actor, spec.scope):
        with transaction.atomic():
            result = spec.execute(
                actor=actor,
                payload=payload,
                reason=reason,
                requested_by=actor.user,
                approved_by=None,
            )
        return OverrideOutcome(executed=True, result=result)
    if actor.user is None:
        raise DomainError("A dual-control override must be requested by a person.")
    policy = TenantPolicy.objects.get(tenant=actor.tenant)
    with transaction.atomic():
        request = OverrideRequest.objects.create(
            tenant=actor.tenant,
            action=action,
            scope=spec.scope,
            payload=payload,
            summary=spec.describe(payload)[:300],
            reason=reason,
            requested_by=actor.user,
            expires_at=OverrideRequest.deadline(policy.override_request_ttl_hours),
        )
        audit_record(
            tenant=actor.tenant,
            actor=actor,
            action="OVERRIDE_REQUESTED",
            obj=request,
            reason=reason,
            payload={"action": action, "scope": spec.scope, "request": payload},
        )
    return OverrideOutcome(executed=False, request=request)


def _get_pending(actor: Actor, request_id: int) -> OverrideRequest:
    request = OverrideRequest.objects.filter(pk=request_id, tenant=actor.tenant).first()
    if request is None:
        raise NotFound(f"Override request {request_id} does not exist.")
    return request


def override_request_approve(*, actor: Actor, request_id: int, note: str = "") -> OverrideRequest:
    """A second person holding the same scope approves; the action executes in the same step."""
    request = _get_pending(actor, request_id)
    actor.require(request.scope)
    if actor.user is None or actor.user.pk == request.requested_by_id:
        raise ScopeDenied(
            "The person who requested an override cannot approve it; a second person must.",
            code="second_person_required",
        )
    if request.status == OverrideRequest.Status.PENDING and request.is_expired():
        override_requests_expire(tenant=actor.tenant)
        raise Conflict(
            f"Override request {request_id} expired on {request.expires_at:%Y-%m-%d %H:%M} UTC."
        )
    spec = override_action_get(request.action)
    with transaction.atomic():
        request = transition_apply(
            actor=actor,
            model=OverrideRequest,
            pk=request_id,
            name="approve",
            scope=request.scope,
            reason=note,
            action="OVERRIDE_APPROVED",
            kwargs={"by": actor.user, "note": note},
        )
        result = spec.execute(
            actor=actor,
            payload=request.payload,
            reason=request.reason,
            requested_by=request.requested_by,
            approved_by=actor.user,
        )
        OverrideRequest.objects.filter(pk=request.pk).update(result=result)
        request.result = result
    return request


def override_request_reject(*, actor: Actor, request_id: int, note: str) -> OverrideRequest:
    """A second person refuses the request (a note saying why is required)."""
    request = _get_pending(actor, request_id)
    actor.require(request.scope)
    if actor.user is None or actor.user.pk == request.requested_by_id:
        raise ScopeDenied(
            "The person who requested an override cannot decide on it; a second person must.",
            code="second_person_required",
        )
    return transition_apply(
        actor=actor,
        model=OverrideRequest,
        pk=request_id,
        name="reject",
        scope=request.scope,
        reason=note,
        reason_required=True,
        action="OVERRIDE_REJECTED",
        kwargs={"by": actor.user, "note": note},
    )


def override_requests_expire(*, tenant=None) -> int:
    """Expire every pending request past its deadline (the hourly job); returns how many."""
    from django.utils import timezone

    qs = OverrideRequest.objects.filter(
        status=OverrideRequest.Status.PENDING, expires_at__lte=timezone.now()
    )
    if tenant is not None:
        qs = qs.filter(tenant=tenant)
    done = 0
    for request in qs.select_related("tenant"):
        transition_apply(
            actor=Actor.system_for(request.tenant),
            model=OverrideRequest,
            pk=request.pk,
            name="expire",
            scope=request.scope,
            action="OVERRIDE_EXPIRED",
        )
        done += 1
    return done
