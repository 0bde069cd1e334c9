"""Mass assignment in the admin (issue 17): no add or change form offers a protected field.

Walks `admin.site._registry` (and each admin's inlines) for the project's models: for a
superuser, the fields of the add form and of the change form that are editable (in the form
and not read-only) must not include the model's protected fields (the same generation as the
API test: tenant, role, state/status, approvers, balances, totals, hashes, counters), unless
ADMIN_EXEMPT gives a reason.
"""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import RequestFactory

from tests.test_mass_assignment import PROJECT_APPS, is_protected, model_label

# (app_label.Model, field) -> why the admin legitimately edits it.
ADMIN_EXEMPT: dict[tuple[str, str], str] = {
    ("core.TenantMembership", "role"): "the admin's role change goes through "
    "membership_set_role/membership_add (owner rule checked, audited)",
    ("core.TenantMembership", "user"): "the person being made a member, chosen when the "
    "membership is added (read-only afterwards); membership_add audits it",
    ("invoicing.Membership", "status"): "enrollment status (ENROLLED/TERMINATED/CANCELLED) is "
    "master data the operator records, not a workflow state; the API sets it too",
    ("invoicing.InvoiceRequestType", "defer_charge_count"): "a setting (how many charges to "
    "defer), not a counter the system keeps",
    ("billing.EligibilityAssertion", "status"): "the eligibility the source asserts (the fact "
    "itself, entered once: the admin cannot change an assertion)",
}

# Fields an add form may offer (never a change form), with the reason.
ADD_ONLY_EXEMPT: dict[str, str] = {
    "tenant": "the admin is the platform operators' cross-tenant tool: a row added there must be "
    "given its tenant; TenantFixedMixin makes it read-only once the row exists",
}

REGISTERED = sorted(
    (
        (model, model_admin)
        for model, model_admin in admin.site._registry.items()
        if model._meta.app_label in PROJECT_APPS
    ),
    key=lambda pair: model_label(pair[0]),
)


def _request(db_user):
    request = RequestFactory().get("/admin/")
    request.user = db_user
    return request


def _editable_protected(model, form_class, mode: str) -> set[str]:
    fields = {f.name: f for f in model._meta.concrete_fields}
    return {
        name
        for name in form_class.base_fields
        if name in fields
        and is_protected(fields[name])
        and (model_label(model), name) not in ADMIN_EXEMPT
        and not (mode == "add" and name in ADD_ONLY_EXEMPT)
    }


def _forms(model_admin, request, obj):
    """(model, form class) of the admin's own form and its inlines the user may edit."""
    out = []
    if obj is None and model_admin.has_add_permission(request):
        out.append((model_admin.model, model_admin.get_form(request, None, change=False)))
    if obj is not None and model_admin.has_change_permission(request, obj):
        out.append((model_admin.model, model_admin.get_form(request, obj, change=True)))
    for inline in model_admin.get_inline_instances(request, obj):
        may = inline.has_add_permission(request, obj) or inline.has_change_permission(request, obj)
        if may:
            out.append((inline.model, inline.get_formset(request, obj).form))
    return out


@pytest.fixture
def superuser(db):
    return get_user_model().objects.create_superuser("ma-admin", "ma@example.org", "x")


@pytest.mark.parametrize(
    "model, model_admin", REGISTERED, ids=[model_label(m) for m, _ in REGISTERED]
)
@pytest.mark.parametrize("mode", ["add", "change"])
def test_admin_form_offers_no_protected_field(model, model_admin, mode, superuser):
    request = _request(superuser)
    obj = None if mode == "add" else model()  # an unsaved row stands for any existing one
    problems = {
        f"{model_label(form_model)}.{name}"
        for form_model, form in _forms(model_admin, request, obj)
        for name in _editable_protected(form_model, form, mode)
    }
    assert not problems, f"{model_label(model)} {mode} form edits: {sorted(problems)}"
