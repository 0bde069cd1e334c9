"""Mass assignment (issue 17): no write endpoint lets a caller set protected attributes.

Every POST/PUT/PATCH endpoint and screen of the permission matrix registry is sent its normal
valid data plus injected values for the protected fields of the models it writes: the tenant
(another tenant's id), the role (owner), the state/status (a terminal state), the users that
approve, decide or create (another tenant's user), balances, totals, hashes, digests, counters
and the primary key. The request may succeed ignoring them or answer 400 naming the field,
never 5xx; the rows it created or changed must not hold an injected value (unless the same
request without injections produces that value too: a legitimate outcome).

The protected fields are generated from the models (name patterns, FSM fields, foreign keys to
Tenant or User, the read-only fields of the view's model serializer), so a new model or endpoint
is covered without editing this file. EXEMPT lists the few fields that are legitimately the
caller's input, each with its reason.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import models
from django.urls import resolve
from django_fsm import FSMFieldMixin
from rest_framework import serializers as drf

from core import scopes as S
from core.models import Tenant
from tests import permissions

PROJECT_APPS = ("core", "billing", "denials", "ingestion", "invoicing", "wallets")

# Field names that hold what only the system decides: who owns, who approved, what state,
# how much, how many, which hash. Matched against the whole field name.
PROTECTED_NAME = re.compile(
    r"^(id|tenant|role|state|status|approver|approved_by|decided_by|created_by|"
    r"[a-z_]*_by|balance|[a-z_]*_balance|balance_[a-z_]*|total|[a-z_]*_total|total_[a-z_]*|"
    r"[a-z_]*hash|digest|[a-z_]*_digest|seq|count|[a-z_]*_count|counter|[a-z_]*_counter)$"
)

# (app_label.Model, field name) -> why the caller legitimately sets it.
EXEMPT: dict[tuple[str, str], str] = {
    ("core.TenantMembership", "role"): "the role is what the member-role endpoint sets; "
    "membership_set_role checks who may grant it (owner rule) and audits",
    ("invoicing.Membership", "status"): "enrollment status (ENROLLED/TERMINATED/CANCELLED) is "
    "master data the operator records, not a workflow state",
    ("wallets.ServiceStatePeriod", "state"): "a period records which life-cycle state a "
    "service was in over a span: the state is the row's content, posted by the operator",
    ("core.Invitation", "role"): "the role offered is the invitation's content; invitation_create "
    "checks who may offer it",
}

TERMINAL_FALLBACK = "CANCELLED"
INJECTED_INT = 424242
INJECTED_PK = 987654
INJECTED_DECIMAL = Decimal("987654.32")
INJECTED_TEXT = "f" * 64

WRITE_ENDPOINTS = [e for e in permissions.load_registries() if e.method in ("POST", "PUT", "PATCH")]


def project_models() -> list[type[models.Model]]:
    """Every concrete model of the project's apps."""
    return [
        m
        for m in apps.get_models()
        if m._meta.app_label in PROJECT_APPS and not m._meta.proxy and m._meta.managed
    ]


def model_label(model) -> str:
    return f"{model._meta.app_label}.{model.__name__}"


def _links(field: models.Field) -> bool:
    """A foreign key or one-to-one column (pointing at one row)."""
    return bool(field.is_relation and (field.many_to_one or field.one_to_one))


def is_protected(field: models.Field) -> bool:
    """A concrete field the caller must never set: by name, FSM, or a Tenant/User link."""
    if not field.concrete or field.auto_created and not field.primary_key:
        return False
    if isinstance(field, FSMFieldMixin):
        return True
    if _links(field) and field.related_model in (Tenant, get_user_model()):
        return True
    return bool(PROTECTED_NAME.match(field.name))


def protected_fields(model) -> list[models.Field]:
    """The model's protected fields, minus the documented exemptions."""
    return [
        f
        for f in model._meta.concrete_fields
        if is_protected(f) and (model_label(model), f.name) not in EXEMPT
    ]


def terminal_state(field: models.Field, model) -> str:
    """A state no transition leaves (the worst one to be able to write), else the last choice."""
    choices = [c for c, _ in (field.choices or [])]
    if not choices:
        return TERMINAL_FALLBACK
    sources: set = set()
    if isinstance(field, FSMFieldMixin):
        for t in field.get_all_transitions(model):
            sources.update(t.source if isinstance(t.source, list | tuple | set) else [t.source])
    terminal = [c for c in choices if c not in sources]
    return (terminal or choices)[-1]


def injected_value(field: models.Field, model, world):
    """The value an attacker would post for this field (None: nothing sensible to post)."""
    if field.primary_key:
        return INJECTED_PK
    if _links(field):
        if field.related_model is Tenant:
            return world.other_tenant.pk
        if field.related_model is get_user_model():
            return world.outsider.pk
        return None
    if field.name == "role":
        return S.Role.OWNER.value
    if isinstance(field, FSMFieldMixin) or field.name in ("state", "status"):
        return terminal_state(field, model)
    if isinstance(field, models.DecimalField):
        return str(INJECTED_DECIMAL)
    if isinstance(field, models.IntegerField):
        return INJECTED_INT
    if isinstance(field, models.CharField | models.TextField):
        return INJECTED_TEXT[: field.max_length or len(INJECTED_TEXT)]
    return None


def stored_equals(stored, injected) -> bool:
    """Whether a stored value is the injected one (types differ between JSON and the row)."""
    if stored is None or injected is None:
        return False
    if isinstance(stored, Decimal):
        try:
            return stored == Decimal(str(injected))
        except ArithmeticError:
            return False
    return str(stored) == str(injected)


def snapshot() -> dict:
    """The protected values of every row of every project model, by model and pk."""
    snap = {}
    for model in project_models():
        names = [f.attname for f in model._meta.concrete_fields if is_protected(f)]
        snap[model] = {row[0]: row for row in model._base_manager.values_list("pk", *names)}
    return snap


def touched(before: dict, after: dict) -> dict:
    """Rows created or whose protected values changed: {model: [row dict by attname]}."""
    out = {}
    for model, rows in after.items():
        names = ["pk"] + [f.attname for f in model._meta.concrete_fields if is_protected(f)]
        old = before.get(model, {})
        hit = [dict(zip(names, row, strict=True)) for pk, row in rows.items() if old.get(pk) != row]
        if hit:
            out[model] = hit
    return out


def serializer_read_only(ep, ctx) -> set[str]:
    """Model attributes the endpoint's model serializer marks read-only (API endpoints only)."""
    if ep.kind != "api":
        return set()
    try:
        view = resolve(ep.url(ctx).split("?")[0]).func
    except Exception:  # noqa: BLE001 (an unresolvable URL just contributes nothing)
        return set()
    cls = getattr(getattr(view, "cls", None), "serializer_class", None)
    if not (isinstance(cls, type) and issubclass(cls, drf.ModelSerializer)):
        return set()
    fields = cls().fields
    if all(f.read_only for f in fields.values()):
        return set()  # an output shape: every field is read-only, none is an input
    names = set()
    for name, f in fields.items():
        if f.read_only and (f.source or name) != "*":
            names.add((f.source or name).split(".")[0])
    return names


def injections(touched_models, world, extra_names: set[str]) -> dict:
    """What to post: one value per key, for the protected fields of the touched models."""
    out: dict = {}
    # The endpoint's own models first (audit and outbox rows come with every write).
    ordered = sorted(touched_models, key=lambda m: m._meta.app_label == "core")
    for model in ordered:
        fields = protected_fields(model)
        fields += [
            f
            for f in model._meta.concrete_fields
            if f.name in extra_names
            and f not in fields
            and (model_label(model), f.name) not in EXEMPT
        ]
        for field in fields:
            value = injected_value(field, model, world)
            if value is None:
                continue
            out.setdefault(field.name, value)
            if _links(field):
                out.setdefault(field.attname, value)
    return out


def _role_for(ep) -> str:
    roles = [r.value for r in S.Role]
    for role in roles:
        if permissions._may(ep, role):
            return role
    pytest.fail(f"{ep.name}: no role may call it")


def _send(world, ep, role, extra: dict):
    ctx = ep.setup(world)
    data = ep.data(ctx)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        return ctx, None
    data = {**data, **extra}
    if ep.kind == "screen" or ep.format == "multipart":
        # A form body carries strings; None would not encode.
        data = {k: ("" if v is None else v) for k, v in data.items()}
    before = snapshot()
    client = world.client(role)
    url, method = ep.url(ctx), ep.method.lower()
    if ep.kind == "api":
        response = getattr(client, method)(url, data, format=ep.format)
    else:
        response = getattr(client, method)(url, data)
    return ctx, (response, touched(before, snapshot()))


# How an error body names a field: a JSON key, a quoted name, or "field: message".
_NAMED = [('"', '"'), ("'", "'"), ('"', ": "), (" ", ": ")]


def _named_in_400(response, keys) -> set[str]:
    try:
        body = json.dumps(response.json())
    except ValueError:
        body = response.content.decode(errors="replace")
    return {k for k in keys if any(f"{q}{k}{e}" in body for q, e in _NAMED)}


@pytest.mark.parametrize("ep", WRITE_ENDPOINTS, ids=lambda e: e.name)
def test_mass_assignment_ignored_or_refused(ep, world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    role = _role_for(ep)

    # Given: what the endpoint writes when used normally (and what that legitimately yields).
    ctx, sent = _send(world, ep, role, {})
    if sent is None:
        pytest.skip(f"{ep.name}: its body is not a JSON object or form (nothing to add fields to)")
    response, baseline = sent
    assert response.status_code in ep.success, f"{ep.name}: normal data: {response.status_code}"
    legit = {
        (model, name, str(value))
        for model, rows in baseline.items()
        for row in rows
        for name, value in row.items()
    }
    extra = serializer_read_only(ep, ctx)
    pending = injections(baseline, world, extra)
    if not pending:
        pytest.skip(f"{ep.name}: writes no row with a protected field")

    # When: the same request with the protected fields added (400s peel refused keys off).
    problems = []
    for _ in range(len(pending) + 1):
        ctx, (response, changed) = _send(world, ep, role, pending)
        if response.status_code >= 500:
            problems.append(f"{response.status_code} with {sorted(pending)}")
            break
        if response.status_code == 400 and ep.kind == "api":
            refused = _named_in_400(response, pending)
            if not refused:
                body = response.content[:300]
                problems.append(f"400 not naming any of {sorted(pending)}: {body}")
                break
            pending = {k: v for k, v in pending.items() if k not in refused}
            if not pending:
                break
            continue
        # Then: no created or changed row holds an injected value the normal request lacks.
        for model, rows in changed.items():
            by_attname = {f.attname: f.name for f in model._meta.concrete_fields}
            for row in rows:
                for attname, stored in row.items():
                    name = by_attname.get(attname, "id" if attname == "pk" else attname)
                    for key in {name, attname}:
                        if (
                            key in pending
                            and stored_equals(stored, pending[key])
                            and (model, attname, str(stored)) not in legit
                        ):
                            problems.append(f"{model_label(model)}.{name} = {stored!r}")
        break
    assert not problems, f"{ep.name} ({role}): " + "; ".join(sorted(set(problems)))
