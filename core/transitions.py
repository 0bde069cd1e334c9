"""The one way a state changes: lock, check scope, check the FSM, apply, save, audit."""

from __future__ import annotations

from typing import Any

from django.db import models, transaction
from django_fsm import can_proceed

from core.actors import Actor
from core.audit import audit_record
from core.exceptions import DomainError, NotFound, TransitionRefused


def _state_field(instance: models.Model, method) -> str:
    return method._django_fsm.field.name


def allowed_transitions(instance: models.Model, field_name: str) -> list[str]:
    """Names of the transitions the instance may take now."""
    getter = getattr(instance, f"get_available_{field_name}_transitions")
    return sorted({t.name for t in getter()})


def transition_apply(
    *,
    actor: Actor,
    model: type[models.Model],
    pk: Any,
    name: str,
    scope: str,
    reason: str = "",
    reason_required: bool = False,
    action: str | None = None,
    payload: dict | None = None,
    kwargs: dict | None = None,
) -> models.Model:
    """Apply transition `name` to a freshly locked row of the actor's tenant, and audit it."""
    actor.require(scope)
    if reason_required and not (reason or "").strip():
        raise DomainError("A reason is required for this action.", code="reason_required")
    with transaction.atomic():
        instance = model.objects.select_for_update().filter(pk=pk, tenant=actor.tenant).first()
        if instance is None:
            raise NotFound(f"{model._meta.verbose_name.capitalize()} {pk} does not exist.")
        method = getattr(instance, name, None)
        if method is None or not hasattr(method, "_django_fsm"):
            raise ValueError(f"{model.__name__}.{name} is not a transition")
        field = _state_field(instance, method)
        before = getattr(instance, field)
        if not can_proceed(method):
            allowed = allowed_transitions(instance, field)
            raise TransitionRefused(
                f"Cannot {name.replace('_', ' ')} {model._meta.verbose_name} {pk}: it is {before}; "
                f"allowed from here: {', '.join(allowed) if allowed else 'none'}.",
                details={"current": before, "allowed": allowed},
            )
        method(**(kwargs or {}))
        instance.save()
        audit_record(
            tenant=actor.tenant,
            actor=actor,
            action=action or f"{model.__name__}.{name}",
            obj=instance,
            reason=reason,
            reason_required=reason_required,
            payload={"from": before, "to": getattr(instance, field), **(payload or {})},
        )
    return instance
