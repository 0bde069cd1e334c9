"""The one way a state changes: lock, check scope, check the FSM, apply, save, audit."""

from __future__ import annotations

from typing import Any

from django.db import models, transaction
from django_fsm import can_proceed

from core.actors import Actor
from core.audit import audit_record, audit_record_many
from core.bulk import update_rows
from core.exceptions import DomainError, NotFound, TransitionRefused


def _state_field(instance: models.Model, method) -> str:
    return method._django_fsm.field.name


def state_reload(instance: models.Model) -> models.Model:
    """Reload a row's fields in place (returns it), safe between threads.

    django-fsm-2's `refresh_from_db` lifts the protection of the state fields on the shared
    field object while it reloads, so a thread reloading at the same moment as another can be
    refused with "Direct status modification is not allowed". This writes the fresh values
    straight into the instance and resets the optimistic-lock state, touching nothing shared.
    """
    fresh = type(instance)._default_manager.get(pk=instance.pk)
    for f in instance._meta.concrete_fields:
        instance.__dict__[f.attname] = getattr(fresh, f.attname)
    instance._state.fields_cache.clear()
    if hasattr(instance, "_update_initial_state"):
        instance._update_initial_state()
    return instance


def allowed_transitions(instance: models.Model, field_name: str) -> list[str]:
    """Names of the transitions the instance may take now."""
    getter = getattr(instance, f"get_available_{field_name}_transitions")
    return sorted({t.name for t in getter()})


def _transition_checked(instance: models.Model, name: str) -> tuple[Any, str, str]:
    """The transition method of `name`, its state field and the state now; refused if barred."""
    model = type(instance)
    method = getattr(instance, name, None)
    if method is None or not hasattr(method, "_django_fsm"):
        raise ValueError(f"{model.__name__}.{name} is not a transition")
    field = _state_field(instance, method)
    before = getattr(instance, field)
    if not can_proceed(method):
        allowed = allowed_transitions(instance, field)
        raise TransitionRefused(
            f"Cannot {name.replace('_', ' ')} {model._meta.verbose_name} {instance.pk}: "
            f"it is {before}; allowed from here: {', '.join(allowed) or 'none'}.",
            details={"current": before, "allowed": allowed},
        )
    return method, field, before


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
        method, field, before = _transition_checked(instance, name)
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


def transition_apply_many(
    *,
    actor: Actor,
    model: type[models.Model],
    pks: list,
    name: str,
    scope: str,
    kwargs_by_pk: dict | None = None,
    payload_by_pk: dict | None = None,
    action: str | None = None,
) -> list[models.Model]:
    """`transition_apply` for many rows at once (set-based services): all or nothing.

    Locks the rows (in id order), refuses if any may not take the transition, applies it to
    each, writes the changed fields with one bulk update and one audit entry per row.
    """
    actor.require(scope)
    kwargs_by_pk, payload_by_pk = kwargs_by_pk or {}, payload_by_pk or {}
    with transaction.atomic():
        instances = list(
            model.objects.select_for_update().filter(pk__in=pks, tenant=actor.tenant).order_by("pk")
        )
        if len(instances) != len(set(pks)):
            missing = sorted(set(pks) - {i.pk for i in instances})
            raise NotFound(f"{model._meta.verbose_name.capitalize()} {missing[0]} does not exist.")
        concrete = [f for f in model._meta.concrete_fields if not f.primary_key]
        changed: set[str] = set()
        entries = []
        for instance in instances:
            method, field, before = _transition_checked(instance, name)
            old = {f.attname: getattr(instance, f.attname) for f in concrete}
            method(**kwargs_by_pk.get(instance.pk, {}))
            for f in concrete:
                if getattr(f, "auto_now", False):
                    f.pre_save(instance, add=False)
            changed |= {f.name for f in concrete if getattr(instance, f.attname) != old[f.attname]}
            entries.append(
                {
                    "action": action or f"{model.__name__}.{name}",
                    "obj": instance,
                    "payload": {
                        "from": before,
                        "to": getattr(instance, field),
                        **payload_by_pk.get(instance.pk, {}),
                    },
                }
            )
        if changed:
            update_rows(model, instances, sorted(changed))
        audit_record_many(tenant=actor.tenant, actor=actor, entries=entries)
    return instances
