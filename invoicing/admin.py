"""Admin for invoicing. State changes are admin actions through the same services (four-eyes
holds here too); requests, bills and lines are written only by services."""

from django.contrib import admin, messages

from core.admin import ReadOnlyAdmin, TenantFixedMixin, admin_actor
from core.exceptions import DomainError
from invoicing.models import (
    Account,
    Bill,
    BillableCharge,
    BillLine,
    Division,
    FeatureConfiguration,
    Holiday,
    InvoiceRequest,
    InvoiceRequestType,
    Membership,
    MembershipCharacteristic,
    MembershipLog,
    WorkCalendar,
)
from invoicing.services import processing, requests


class HolidayInline(admin.TabularInline):
    model = Holiday
    extra = 0
    fields = ["day", "name", "source"]


@admin.register(WorkCalendar)
class WorkCalendarAdmin(TenantFixedMixin, admin.ModelAdmin):
    list_display = ["name", "tenant", "weekend_days"]
    list_filter = ["tenant"]
    inlines = [HolidayInline]


@admin.register(Holiday)
class HolidayAdmin(TenantFixedMixin, admin.ModelAdmin):
    list_display = ["day", "name", "calendar", "source"]
    list_filter = ["tenant", "calendar", "source"]


@admin.register(Division)
class DivisionAdmin(TenantFixedMixin, admin.ModelAdmin):
    list_display = ["code", "name", "tenant", "work_calendar"]
    list_filter = ["tenant"]


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    fields = ["external_id", "kind", "status"]


@admin.register(Account)
class AccountAdmin(TenantFixedMixin, admin.ModelAdmin):
    list_display = ["number", "name", "tenant", "bill_cycle_day", "division", "payer"]
    list_filter = ["tenant", "division"]
    search_fields = ["number", "name"]
    inlines = [MembershipInline]


class CharacteristicInline(admin.TabularInline):
    model = MembershipCharacteristic
    extra = 0
    fields = ["type", "value", "effective_from"]


@admin.register(Membership)
class MembershipAdmin(TenantFixedMixin, admin.ModelAdmin):
    list_display = ["external_id", "account", "kind", "status"]
    list_filter = ["tenant", "kind", "status"]
    search_fields = ["external_id", "account__number"]
    inlines = [CharacteristicInline]


@admin.register(MembershipCharacteristic)
class MembershipCharacteristicAdmin(TenantFixedMixin, admin.ModelAdmin):
    list_display = ["membership", "type", "value", "effective_from"]
    list_filter = ["tenant", "type"]


@admin.register(MembershipLog)
class MembershipLogAdmin(ReadOnlyAdmin):
    list_display = ["at", "membership", "event", "actor_label", "request"]
    list_filter = ["tenant", "event"]


@admin.register(FeatureConfiguration)
class FeatureConfigurationAdmin(TenantFixedMixin, admin.ModelAdmin):
    list_display = ["tenant", "invoice_request_eligibility_char_type"]


@admin.register(InvoiceRequestType)
class InvoiceRequestTypeAdmin(TenantFixedMixin, admin.ModelAdmin):
    list_display = [
        "code",
        "tenant",
        "invoice_mode",
        "bill_generation",
        "approval_required",
        "defer_charge_count",
        "wait_days",
        "threshold_days",
        "work_calendar",
    ]
    list_filter = ["tenant", "invoice_mode", "bill_generation"]


@admin.register(BillableCharge)
class BillableChargeAdmin(ReadOnlyAdmin):
    list_display = ["id", "account", "charge_date", "amount", "source", "source_ref", "bill"]
    list_filter = ["tenant", "source"]
    search_fields = ["account__number", "external_id", "source_ref"]


def _each(modeladmin, request, queryset, call, done: str) -> None:
    ok = 0
    for invoice_request in queryset:
        try:
            call(admin_actor(request, invoice_request.tenant), invoice_request.pk)
            ok += 1
        except DomainError as exc:
            messages.error(request, exc.message)
    if ok:
        messages.success(request, f"{ok} request(s) {done}.")


@admin.register(InvoiceRequest)
class InvoiceRequestAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "tenant",
        "type",
        "account",
        "status",
        "processing_mode",
        "processing_date",
        "created_by",
        "approved_by",
        "bill",
    ]
    list_filter = ["tenant", "status", "processing_mode", "type"]
    actions = ["approve", "reject", "cancel", "retry", "process"]

    @admin.action(description="Approve the selected requests (not your own)")
    def approve(self, request, queryset):
        _each(
            self,
            request,
            queryset,
            lambda actor, pk: requests.invoice_request_approve(actor=actor, request_id=pk),
            "approved",
        )

    @admin.action(description="Reject the selected requests")
    def reject(self, request, queryset):
        reason = f"rejected in the admin by {request.user.get_username()}"
        _each(
            self,
            request,
            queryset,
            lambda actor, pk: requests.invoice_request_reject(
                actor=actor, request_id=pk, reason=reason
            ),
            "rejected",
        )

    @admin.action(description="Cancel the selected requests")
    def cancel(self, request, queryset):
        reason = f"cancelled in the admin by {request.user.get_username()}"
        _each(
            self,
            request,
            queryset,
            lambda actor, pk: requests.invoice_request_cancel(
                actor=actor, request_id=pk, reason=reason
            ),
            "cancelled",
        )

    @admin.action(description="Retry the selected requests in error")
    def retry(self, request, queryset):
        _each(
            self,
            request,
            queryset,
            lambda actor, pk: requests.invoice_request_retry(actor=actor, request_id=pk),
            "put back to pending",
        )

    @admin.action(description="Process the selected pending requests now")
    def process(self, request, queryset):
        _each(
            self,
            request,
            queryset,
            lambda actor, pk: processing.invoice_request_process(actor=actor, request_id=pk),
            "processed",
        )


class BillLineInline(admin.TabularInline):
    model = BillLine
    extra = 0
    can_delete = False
    fields = ["position", "charge_date", "description", "amount", "charge"]
    readonly_fields = fields


@admin.register(Bill)
class BillAdmin(ReadOnlyAdmin):
    list_display = ["id", "tenant", "account", "kind", "status", "line_count", "total", "bill_date"]
    list_filter = ["tenant", "kind", "status"]
    inlines = [BillLineInline]
