"""One tenant per row in the admin: a row's foreign keys and many-to-many choices point at rows of
its own tenant.

The admin is the platform operators' cross-tenant tool, so its choice lists hold every tenant's
rows: without this check a superuser could point tenant A's holiday at tenant B's calendar, or
give an account of A a payer of B, and each tenant's screens would then show (or act on) the
other's data. `SameTenantMixin` mixes the check into a ModelAdmin's form and its inlines' forms;
a refused choice is a form error on the field naming both tenants. A new inline row also takes
its parent's tenant (inline forms do not offer the tenant field).
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db.models import Model, QuerySet
from django.forms.models import InlineForeignKeyField

from core.models import Tenant


def is_tenant_owned(model: type[Model]) -> bool:
    """Whether the model's rows belong to one tenant (a `tenant` foreign key to core.Tenant)."""
    try:
        field = model._meta.get_field("tenant")
    except FieldDoesNotExist:
        return False
    return getattr(field, "related_model", None) is Tenant


def _rows(value) -> list[Model]:
    """The tenant-owned rows a cleaned value chooses (one for a foreign key, any for a M2M)."""
    if isinstance(value, Model):
        rows = [value]
    elif isinstance(value, QuerySet | list | tuple | set):
        rows = list(value)
    else:
        return []
    return [r for r in rows if isinstance(r, Model) and is_tenant_owned(type(r))]


def _slug(tenant_id) -> str:
    return Tenant.objects.filter(pk=tenant_id).values_list("slug", flat=True).first() or "?"


def _own_tenant_id(form: forms.ModelForm):
    """The tenant the row belongs to: chosen in the form, the row's own, or its parent's."""
    if "tenant" in form.fields:
        chosen = form.cleaned_data.get("tenant")
        return chosen.pk if chosen is not None else None
    own = getattr(form.instance, "tenant_id", None)
    if own is not None:
        return own
    for name, field in form.fields.items():
        if isinstance(field, InlineForeignKeyField):  # a new inline row: the parent's tenant
            return next((r.tenant_id for r in _rows(form.cleaned_data.get(name))), None)
    # a row without a tenant of its own: what it points at must still agree
    for name in form.fields:
        for row in _rows(form.cleaned_data.get(name)):
            return row.tenant_id
    return None


def check_same_tenant(form: forms.ModelForm) -> None:
    """Add a field error for each choice of a row of another tenant than the form's row."""
    own = _own_tenant_id(form)
    if own is None:
        return  # no tenant chosen yet: the tenant field carries its own error
    for name in list(form.fields):
        if name == "tenant" or name not in form.cleaned_data:
            continue
        other = next((r for r in _rows(form.cleaned_data[name]) if r.tenant_id != own), None)
        if other is None:
            continue
        label = form.fields[name].label or name
        form.add_error(
            name,
            ValidationError(
                "%(field)s: %(kind)s %(pk)s belongs to tenant '%(theirs)s', this row to tenant "
                "'%(ours)s'. Choose one of '%(ours)s'.",
                code="other_tenant",
                params={
                    "field": label,
                    "kind": type(other)._meta.verbose_name,
                    "pk": other.pk,
                    "theirs": _slug(other.tenant_id),
                    "ours": _slug(own),
                },
            ),
        )
    if is_tenant_owned(form._meta.model) and getattr(form.instance, "tenant_id", None) is None:
        form.instance.tenant_id = own  # a new inline row (its form has no tenant field)


class SameTenantFormMixin:
    """Form mixin running `check_same_tenant` after the form's own clean."""

    def clean(self):
        cleaned = super().clean()
        check_same_tenant(self)
        return cleaned


def same_tenant_form(form_class: type[forms.ModelForm]) -> type[forms.ModelForm]:
    """The form class with the same-tenant check mixed in (once)."""
    if issubclass(form_class, SameTenantFormMixin):
        return form_class
    attrs = {"__module__": form_class.__module__}
    return type(form_class.__name__, (SameTenantFormMixin, form_class), attrs)


class SameTenantMixin:
    """ModelAdmin mixin: the add and change forms and every inline's forms refuse a choice of
    another tenant's row (a field error) and give new inline rows their parent's tenant."""

    def get_form(self, request, obj=None, change=False, **kwargs):
        return same_tenant_form(super().get_form(request, obj, change=change, **kwargs))

    def get_formsets_with_inlines(self, request, obj=None):
        for formset, inline in super().get_formsets_with_inlines(request, obj):
            attrs = {"__module__": formset.__module__, "form": same_tenant_form(formset.form)}
            yield type(formset.__name__, (formset,), attrs), inline
