"""Admin for wallets and prepaid billing (issue 15). Every row is written by a service: the admin
shows them read-only, and top-ups, threshold changes, service suspensions, usage cancellations and
runs are admin actions through the same services (scope checks and audit entries included). The
ledger is never added to, changed or deleted here."""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils import timezone

from core import scopes as S
from core.admin import ReadOnlyAdmin, admin_actor
from core.exceptions import Conflict, DomainError
from wallets.models import (
    BundleComponent,
    PrepaidBillingRun,
    PrepaidRunChunk,
    PrepaidRunError,
    PrepaidSettings,
    Product,
    RatedItem,
    ServiceStatePeriod,
    Subscription,
    SubscriptionService,
    UsageRecord,
    Wallet,
    WalletProductConsumption,
    WalletTransaction,
    WalletWatch,
)

ACTION_TEMPLATE = "admin/wallets/action_form.html"


class ReadOnlyInline(admin.TabularInline):
    """Rows of a parent shown beside it, never edited here."""

    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def _each(request, modeladmin, queryset, call: Callable[[object, object], str | None]) -> int:
    """Call the service once per selected row (as the admin user in the row's tenant); report."""
    done = 0
    for obj in queryset.select_related("tenant"):
        try:
            said = call(admin_actor(request, obj.tenant), obj)
        except DomainError as exc:
            modeladmin.message_user(request, f"{obj}: {exc.message}", messages.ERROR)
            continue
        done += 1
        if said:
            modeladmin.message_user(request, f"{obj}: {said}", messages.SUCCESS)
    return done


def _ask(request, modeladmin, queryset, *, action: str, title: str, intro: str, form):
    """The intermediate page of an action that needs input (Django's delete-confirmation way)."""
    return TemplateResponse(
        request,
        ACTION_TEMPLATE,
        {
            **modeladmin.admin_site.each_context(request),
            "title": title,
            "intro": intro,
            "action": action,
            "objects": list(queryset),
            "form": form,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            "opts": modeladmin.model._meta,
        },
    )


# --- wallets and their ledger -----------------------------------------------------------------


class TopUpForm(forms.Form):
    amount = forms.DecimalField(max_digits=14, decimal_places=2, label="Amount")
    reference = forms.CharField(max_length=120, label="Reference (payment id, receipt)")


class ThresholdsForm(forms.Form):
    KEEP, ON, OFF = "", "on", "off"
    min_balance_threshold = forms.DecimalField(
        max_digits=14, decimal_places=2, required=False, label="Minimum balance (blank: keep)"
    )
    stop_service_threshold = forms.DecimalField(
        max_digits=14,
        decimal_places=2,
        required=False,
        label="Stop-service threshold (blank: keep)",
    )
    restrict_below_stop = forms.ChoiceField(
        choices=[(KEEP, "keep"), (ON, "cap debits at the stop threshold"), (OFF, "do not cap")],
        required=False,
        label="Restrict below stop",
    )
    reason = forms.CharField(max_length=200, label="Reason")


class WalletTransactionInline(ReadOnlyInline):
    model = WalletTransaction
    fields = ["created_at", "kind", "amount", "balance_after", "cause", "reference", "run"]
    readonly_fields = fields
    ordering = ["-id"]


class WalletProductConsumptionInline(ReadOnlyInline):
    model = WalletProductConsumption
    fields = [
        "product",
        "daily_burn",
        "available_amount",
        "estimated_consumption_days",
        "estimated_consumption_date",
        "estimated_as_of",
    ]
    readonly_fields = fields
    show_change_link = False


@admin.register(Wallet)
class WalletAdmin(ReadOnlyAdmin):
    """Balances move only with a ledger row: top-ups and thresholds are actions via services."""

    list_display = [
        "id",
        "tenant",
        "account",
        "currency",
        "balance",
        "min_balance_threshold",
        "stop_service_threshold",
        "restrict_below_stop",
        "estimated_consumption_days",
        "estimated_consumption_date",
    ]
    list_filter = ["tenant", "currency", "restrict_below_stop"]
    search_fields = ["account__number"]
    inlines = [WalletProductConsumptionInline, WalletTransactionInline]
    actions = ["top_up", "change_thresholds"]

    @admin.action(description="Top up the selected wallets (asks for amount and reference)")
    def top_up(self, request, queryset):
        from wallets.services.ledger import wallet_topup

        form = TopUpForm(request.POST if "apply" in request.POST else None)
        if not form.is_bound or not form.is_valid():
            return _ask(
                request,
                self,
                queryset,
                action="top_up",
                title="Top up wallets",
                intro="Each selected wallet is credited the amount (a CREDIT in its ledger).",
                form=form,
            )
        amount, reference = form.cleaned_data["amount"], form.cleaned_data["reference"]

        def call(actor, wallet):
            tx = wallet_topup(actor=actor, wallet_id=wallet.pk, amount=amount, reference=reference)
            return f"credited {tx.amount}, balance {tx.balance_after}."

        _each(request, self, queryset, call)
        return None

    @admin.action(description="Change the thresholds of the selected wallets (asks for a reason)")
    def change_thresholds(self, request, queryset):
        from wallets.services.ledger import wallet_thresholds_update

        form = ThresholdsForm(request.POST if "apply" in request.POST else None)
        if not form.is_bound or not form.is_valid():
            return _ask(
                request,
                self,
                queryset,
                action="change_thresholds",
                title="Change wallet thresholds",
                intro="Blank fields keep the wallet's value. The next run applies the new rules.",
                form=form,
            )
        data = form.cleaned_data
        restrict = {ThresholdsForm.ON: True, ThresholdsForm.OFF: False}.get(
            data["restrict_below_stop"]
        )

        def call(actor, wallet):
            w = wallet_thresholds_update(
                actor=actor,
                wallet_id=wallet.pk,
                min_balance_threshold=data["min_balance_threshold"],
                stop_service_threshold=data["stop_service_threshold"],
                restrict_below_stop=restrict,
                reason=data["reason"],
            )
            return (
                f"minimum {w.min_balance_threshold}, stop {w.stop_service_threshold}, "
                f"restrict below stop {'on' if w.restrict_below_stop else 'off'}."
            )

        _each(request, self, queryset, call)
        return None


@admin.register(WalletTransaction)
class WalletTransactionAdmin(ReadOnlyAdmin):
    """The immutable ledger: no add, change or delete, from here or anywhere."""

    list_display = [
        "id",
        "tenant",
        "wallet",
        "created_at",
        "kind",
        "amount",
        "balance_after",
        "cause",
        "reference",
        "run",
        "service",
    ]
    list_filter = ["tenant", "kind", "cause"]
    search_fields = ["wallet__account__number", "reference"]
    raw_id_fields = ["wallet", "run", "service", "item"]


@admin.register(WalletProductConsumption)
class WalletProductConsumptionAdmin(ReadOnlyAdmin):
    list_display = [
        "wallet",
        "product",
        "daily_burn",
        "available_amount",
        "estimated_consumption_days",
        "estimated_consumption_date",
        "estimated_as_of",
    ]
    list_filter = ["tenant"]


@admin.register(WalletWatch)
class WalletWatchAdmin(ReadOnlyAdmin):
    """Who hears about a low balance; set on the wallet screen (wallet_watch_set)."""

    list_display = ["wallet", "user", "created_at"]
    list_filter = ["tenant"]
    raw_id_fields = ["wallet", "user"]


@admin.register(PrepaidSettings)
class PrepaidSettingsAdmin(ReadOnlyAdmin):
    list_display = ["tenant", "max_estimation_days"]


# --- subscriptions, services, usage ------------------------------------------------------------


class ProductComponentInline(ReadOnlyInline):
    """A bundle product's components (changed through the pricing services: API or loader)."""

    model = BundleComponent
    fk_name = "bundle"
    fields = ["component"]
    readonly_fields = fields
    show_change_link = False
    verbose_name_plural = "bundle components"


@admin.register(Product)
class ProductAdmin(ReadOnlyAdmin):
    list_display = [
        "code",
        "name",
        "tax_class",
        "bundle_pricing",
        "penalty_kind",
        "penalty_amount",
        "tenant",
    ]
    list_filter = ["tenant", "bundle_pricing", "penalty_kind", "tax_class"]
    search_fields = ["code", "name"]
    list_select_related = ["tax_class", "tenant"]
    inlines = [ProductComponentInline]


class SubscriptionServiceInline(ReadOnlyInline):
    model = SubscriptionService
    fields = [
        "external_id",
        "product",
        "price_per_period",
        "period_days",
        "rating",
        "rated_up_to",
        "prepayment_state",
    ]
    readonly_fields = fields


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyAdmin):
    list_display = ["external_id", "account", "tenant", "created_at"]
    list_filter = ["tenant"]
    search_fields = ["external_id", "account__number"]
    inlines = [SubscriptionServiceInline]


class ServiceStatePeriodInline(ReadOnlyInline):
    model = ServiceStatePeriod
    fields = ["state", "start", "end"]
    readonly_fields = fields
    show_change_link = False


class UsageRecordInline(ReadOnlyInline):
    model = UsageRecord
    fields = ["external_id", "billing_effective_date", "directive", "amount", "state"]
    readonly_fields = fields


@admin.register(SubscriptionService)
class SubscriptionServiceAdmin(ReadOnlyAdmin):
    """Life-cycle moves are new state periods from today, through the catalog service."""

    list_display = [
        "external_id",
        "subscription",
        "product",
        "price_per_period",
        "period_days",
        "rating",
        "rated_up_to",
        "prepayment_state",
        "prepayment_checked_at",
    ]
    list_filter = ["tenant", "rating", "prepayment_state", "product"]
    search_fields = ["external_id", "subscription__external_id", "subscription__account__number"]
    inlines = [ServiceStatePeriodInline, UsageRecordInline]
    actions = ["suspend", "activate"]

    def _period_from_today(self, request, queryset, state: str) -> None:
        from wallets.services.catalog import service_period_add

        today = timezone.localdate()

        def call(actor, service):
            service_period_add(actor=actor, service_id=service.pk, state=state, start=today)
            return f"{state} from {today.isoformat()}."

        _each(request, self, queryset, call)

    @admin.action(description="Suspend the selected services from today")
    def suspend(self, request, queryset):
        self._period_from_today(request, queryset, ServiceStatePeriod.State.SUSPENDED)

    @admin.action(description="Activate the selected services from today")
    def activate(self, request, queryset):
        self._period_from_today(request, queryset, ServiceStatePeriod.State.ACTIVE)


@admin.register(ServiceStatePeriod)
class ServiceStatePeriodAdmin(ReadOnlyAdmin):
    list_display = ["service", "state", "start", "end", "tenant"]
    list_filter = ["tenant", "state"]
    search_fields = ["service__external_id"]


@admin.register(UsageRecord)
class UsageRecordAdmin(ReadOnlyAdmin):
    """Usage is rated once; a POSTED record can still be cancelled (never rated then)."""

    list_display = [
        "id",
        "service",
        "external_id",
        "billing_effective_date",
        "directive",
        "amount",
        "state",
    ]
    list_filter = ["tenant", "directive", "state"]
    search_fields = ["external_id", "service__external_id"]
    actions = ["cancel"]

    @admin.action(description="Cancel the selected posted usage records (they are never rated)")
    def cancel(self, request, queryset):
        from wallets.services.catalog import usage_update

        def call(actor, usage):
            usage_update(actor=actor, usage_id=usage.pk, directive=UsageRecord.Directive.CANCELLED)
            return "cancelled."

        _each(request, self, queryset, call)


# --- prepaid billing runs ----------------------------------------------------------------------


class PrepaidRunErrorInline(ReadOnlyInline):
    model = PrepaidRunError
    fields = ["code", "service", "account", "message", "created_at"]
    readonly_fields = fields
    show_change_link = False


@admin.register(PrepaidBillingRun)
class PrepaidBillingRunAdmin(ReadOnlyAdmin):
    """Runs change state in the run services only; the admin starts drafts or triggers anew."""

    list_display = [
        "id",
        "tenant",
        "as_of",
        "status",
        "estimation",
        "recurring_interval_days",
        "scheduled_for",
        "accounts_done",
        "accounts_total",
        "rated_count",
        "debited_total",
        "invalid_count",
        "errors_count",
        "triggered_at",
    ]
    list_filter = ["tenant", "status", "estimation"]
    inlines = [PrepaidRunErrorInline]
    actions = ["start_now", "run_again_today"]

    @admin.action(description="Start the selected draft runs now (queued for a worker)")
    def start_now(self, request, queryset):
        from core.queue import enqueue

        def call(actor, run):
            actor.require(S.WALLETS_RUN_TRIGGER)
            if run.status != PrepaidBillingRun.Status.DRAFT:
                raise Conflict(f"status: expected DRAFT to start, found {run.status}")
            enqueue("wallets.tasks.prepaid_run_start", run.pk)
            return "queued."

        _each(request, self, queryset, call)

    @admin.action(description="Run again as of today with the same filters (a new run)")
    def run_again_today(self, request, queryset):
        from wallets.services.runs import prepaid_run_trigger

        today = timezone.localdate()

        def call(actor, run):
            new = prepaid_run_trigger(
                actor=actor,
                as_of=today,
                accounts=run.accounts,
                subscriptions=run.subscriptions,
                classifications=run.classifications,
                estimation=run.estimation,
            )
            return f"run {new.pk} triggered as of {today.isoformat()}."

        _each(request, self, queryset, call)


@admin.register(PrepaidRunChunk)
class PrepaidRunChunkAdmin(ReadOnlyAdmin):
    list_display = ["run", "index", "done", "attempts", "done_at"]
    list_filter = ["done"]


@admin.register(PrepaidRunError)
class PrepaidRunErrorAdmin(ReadOnlyAdmin):
    list_display = ["run", "code", "service", "account", "created_at"]
    list_filter = ["code"]


@admin.register(RatedItem)
class RatedItemAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "run",
        "account",
        "service",
        "kind",
        "start",
        "end",
        "active_days",
        "component",
        "net",
        "discount",
        "vat_rate",
        "vat",
        "gross",
        "debited",
        "state",
    ]
    list_filter = ["tenant", "kind", "state"]
    search_fields = ["service__external_id", "account__number"]
    raw_id_fields = ["run", "account", "service", "usage", "component"]
    list_select_related = ["run", "account", "service", "component"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "tenant",
                    "run",
                    "account",
                    "service",
                    "usage",
                    "kind",
                    ("start", "end", "active_days"),
                    "state",
                ]
            },
        ),
        (
            "Breakdown (gross = net - discount + VAT)",
            {
                "fields": [
                    "component",
                    ("price_per_period", "period_days", "rate_from"),
                    "net",
                    "discount",
                    "applied_discounts",
                    ("vat_rate", "vat"),
                    "gross",
                    ("amount", "sign", "debited"),
                    "split_reasons",
                    "identity",
                ]
            },
        ),
    ]
    readonly_fields = ["applied_discounts", "split_reasons"]

    @admin.display(description="Discounts")
    def applied_discounts(self, item) -> str:
        from wallets.admin_pricing import discount_lines

        return discount_lines(item)

    @admin.display(description="Why it starts and ends there")
    def split_reasons(self, item) -> str:
        return "; ".join(item.reasons or []) or "-"


# issue 18: tax classes, price plans, discounts, bundles, wallet definitions
from wallets import admin_pricing  # noqa: E402, F401  (registers its pages)
