"""Admin for issue 18's pricing rows (imported by wallets/admin.py). As for the rest of wallets,
every row is written by a service (wallets.services.pricing): the pages are read-only, and
adding a rate, ending a discount or activating a wallet definition are actions through those
services (scope check and audit entry included)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html_join

from core.admin import ReadOnlyAdmin
from wallets.admin import ReadOnlyInline, _ask, _each
from wallets.models import (
    BundleComponent,
    Discount,
    PricePlan,
    PricePlanRate,
    TaxClass,
    TaxRate,
    WalletDefinition,
)
from wallets.services import pricing
from wallets.services.catalog import PERIOD_DAYS_MAX


class TaxRateForm(forms.Form):
    effective_from = forms.DateField(label="Effective from (YYYY-MM-DD)")
    rate = forms.DecimalField(
        max_digits=7, decimal_places=4, min_value=0, max_value=100, label="VAT rate (percent)"
    )


class PlanRateForm(forms.Form):
    effective_from = forms.DateField(label="Effective from (YYYY-MM-DD)")
    price_per_period = forms.DecimalField(max_digits=14, decimal_places=2, label="Price per period")
    period_days = forms.IntegerField(min_value=1, max_value=PERIOD_DAYS_MAX, label="Period days")


class DiscountEndForm(forms.Form):
    effective_to = forms.DateField(label="Ends on (exclusive, YYYY-MM-DD)")
    reason = forms.CharField(max_length=200, label="Reason")


def _confirmed(request, form_class):
    form = form_class(request.POST if "apply" in request.POST else None)
    return form, form.is_bound and form.is_valid()


# --- tax classes -------------------------------------------------------------------------------


class TaxRateInline(ReadOnlyInline):
    model = TaxRate
    fields = ["effective_from", "rate"]
    readonly_fields = fields
    show_change_link = False


@admin.register(TaxClass)
class TaxClassAdmin(ReadOnlyAdmin):
    list_display = ["code", "name", "tenant"]
    list_select_related = ["tenant"]
    list_filter = ["tenant"]
    search_fields = ["code", "name"]
    inlines = [TaxRateInline]
    actions = ["add_rate"]

    @admin.action(description="Add a VAT rate to the selected tax classes (asks day and rate)")
    def add_rate(self, request, queryset):
        form, ok = _confirmed(request, TaxRateForm)
        if not ok:
            return _ask(
                request,
                self,
                queryset,
                action="add_rate",
                title="Add a VAT rate",
                intro="The rate applies from that day (a rate from the same day is replaced). "
                "What was already rated keeps its VAT.",
                form=form,
            )
        row = dict(form.cleaned_data)

        def call(actor, tc):
            pricing.tax_class_upsert(actor=actor, code=tc.code, rates=[row])
            return f"{row['rate']}% from {row['effective_from'].isoformat()}."

        _each(request, self, queryset, call)
        return None


@admin.register(TaxRate)
class TaxRateAdmin(ReadOnlyAdmin):
    list_display = ["tax_class", "effective_from", "rate", "tenant"]
    list_select_related = ["tax_class", "tenant"]
    list_filter = ["tenant"]


# --- price plans -------------------------------------------------------------------------------


class PricePlanRateInline(ReadOnlyInline):
    model = PricePlanRate
    fields = ["effective_from", "price_per_period", "period_days"]
    readonly_fields = fields
    show_change_link = False


@admin.register(PricePlan)
class PricePlanAdmin(ReadOnlyAdmin):
    list_display = ["code", "name", "product", "bundle", "tenant"]
    list_filter = ["tenant"]
    search_fields = ["code", "name", "product__code", "bundle__code"]
    list_select_related = ["product", "bundle", "tenant"]
    inlines = [PricePlanRateInline]
    actions = ["add_rate"]

    @admin.action(description="Add a rate to the selected price plans (asks day, price, period)")
    def add_rate(self, request, queryset):
        form, ok = _confirmed(request, PlanRateForm)
        if not ok:
            return _ask(
                request,
                self,
                queryset,
                action="add_rate",
                title="Add a price plan rate",
                intro="The rate applies from that day (a rate from the same day is replaced). "
                "What was already rated keeps its price.",
                form=form,
            )
        row = dict(form.cleaned_data)

        def call(actor, plan):
            pricing.price_plan_rate_add(actor=actor, plan=plan, rate=row)
            return (
                f"{row['price_per_period']} per {row['period_days']} days "
                f"from {row['effective_from'].isoformat()}."
            )

        _each(request, self, queryset.select_related("product", "bundle"), call)
        return None


@admin.register(PricePlanRate)
class PricePlanRateAdmin(ReadOnlyAdmin):
    list_display = ["plan", "effective_from", "price_per_period", "period_days", "tenant"]
    list_select_related = ["plan", "tenant"]
    list_filter = ["tenant"]


# --- discounts ---------------------------------------------------------------------------------


@admin.register(Discount)
class DiscountAdmin(ReadOnlyAdmin):
    list_display = [
        "code",
        "name",
        "kind",
        "value",
        "period_days",
        "product",
        "service",
        "effective_from",
        "effective_to",
        "tenant",
    ]
    list_filter = ["tenant", "kind"]
    search_fields = ["code", "name", "product__code", "service__external_id"]
    list_select_related = ["product", "service", "tenant"]
    actions = ["end"]

    @admin.action(description="End the selected discounts (asks the day and a reason)")
    def end(self, request, queryset):
        form, ok = _confirmed(request, DiscountEndForm)
        if not ok:
            return _ask(
                request,
                self,
                queryset,
                action="end",
                title="End discounts",
                intro="Each discount no longer applies from that day on (exclusive end).",
                form=form,
            )
        data = form.cleaned_data

        def call(actor, discount):
            pricing.discount_end(
                actor=actor,
                discount=discount,
                effective_to=data["effective_to"],
                reason=data["reason"],
            )
            return f"ends on {data['effective_to'].isoformat()}."

        _each(request, self, queryset, call)
        return None


# --- bundles -----------------------------------------------------------------------------------


@admin.register(BundleComponent)
class BundleComponentAdmin(ReadOnlyAdmin):
    list_display = ["bundle", "component", "tenant"]
    list_filter = ["tenant"]
    search_fields = ["bundle__code", "component__code"]
    list_select_related = ["bundle", "component", "tenant"]


# --- wallet definitions ------------------------------------------------------------------------


@admin.register(WalletDefinition)
class WalletDefinitionAdmin(ReadOnlyAdmin):
    list_display = ["code", "name", "causes", "active", "tenant", "created_at"]
    list_select_related = ["tenant"]
    list_filter = ["tenant", "active"]
    search_fields = ["code", "name"]
    actions = ["activate"]

    @admin.display(description="Debit causes")
    def causes(self, obj) -> str:
        return ", ".join(obj.debit_causes) or "none"

    @admin.action(description="Activate the selected wallet definition (deactivates the other)")
    def activate(self, request, queryset):
        if queryset.values("tenant").distinct().count() != queryset.count():
            self.message_user(
                request,
                "Select at most one wallet definition per tenant: one is active at a time.",
                messages.ERROR,
            )
            return None

        def call(actor, wd):
            pricing.wallet_definition_upsert(
                actor=actor, code=wd.code, debit_causes=list(wd.debit_causes), active=True
            )
            return "active."

        _each(request, self, queryset, call)
        return None


def discount_lines(item) -> str:
    """A rated item's discounts as lines 'name (code): amount' for its admin page."""
    rows = item.discounts or []
    if not rows:
        return "-"
    return format_html_join(
        "\n",
        "<div>{} ({}): {} {} = -{}</div>",
        (
            (
                d.get("name", ""),
                d.get("code", ""),
                d.get("kind", ""),
                d.get("value", ""),
                d.get("amount", ""),
            )
            for d in rows
        ),
    )
