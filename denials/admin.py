"""Admin for claims (issue 13). Charges and claims are written only by services: validation and
claim build are admin actions through the same services (scope checks and audit included)."""

from collections import defaultdict

from django.contrib import admin, messages

from core.admin import ReadOnlyAdmin, TenantFixedMixin, admin_actor
from core.exceptions import DomainError
from denials.models import Charge, Claim, ClaimLine, ClaimsSettings, PaymentApplication
from denials.services.charges import charges_validate
from denials.services.claims import claims_build


@admin.register(ClaimsSettings)
class ClaimsSettingsAdmin(TenantFixedMixin, admin.ModelAdmin):
    list_display = ["tenant", "provider_name", "provider_npi", "match_threshold", "claim_counter"]
    readonly_fields = [
        "interchange_control_number",
        "group_control_number",
        "claim_counter",
        "updated_at",
    ]


def _by_tenant(queryset) -> dict:
    groups = defaultdict(list)
    for charge in queryset.select_related("tenant"):
        groups[charge.tenant].append(charge.charge_id)
    return groups


@admin.register(Charge)
class ChargeAdmin(ReadOnlyAdmin):
    list_display = ["charge_id", "tenant", "payer_code", "service_date", "code", "amount", "status"]
    list_filter = ["tenant", "status"]
    search_fields = ["charge_id", "claim_number"]
    actions = ["validate", "build"]

    @admin.action(description="Validate the selected charges again")
    def validate(self, request, queryset):
        for tenant, ids in _by_tenant(queryset).items():
            try:
                counts = charges_validate(
                    actor=admin_actor(request, tenant), tenant=tenant, charge_ids=ids
                )
            except DomainError as exc:
                self.message_user(request, f"{tenant}: {exc.message}", messages.ERROR)
                continue
            self.message_user(
                request,
                f"{tenant}: {counts['valid']} valid, {counts['invalid']} invalid, "
                f"{counts['claimed']} already on a claim.",
            )

    @admin.action(description="Build claims from the selected charges (all or none)")
    def build(self, request, queryset):
        for tenant, ids in _by_tenant(queryset).items():
            try:
                claims = claims_build(
                    actor=admin_actor(request, tenant), tenant=tenant, charge_ids=ids
                )
            except DomainError as exc:
                problems = exc.details.get("charges", {}) if isinstance(exc.details, dict) else {}
                listed = "; ".join(f"{k}: {', '.join(v)}" for k, v in list(problems.items())[:10])
                self.message_user(request, f"{tenant}: {exc.message} {listed}", messages.ERROR)
                continue
            self.message_user(request, f"{tenant}: built {len(claims)} claims.")


class ClaimLineInline(admin.TabularInline):
    model = ClaimLine
    extra = 0
    fields = ["line_number", "charge", "service_date", "code", "modifier", "units", "amount"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class PaymentApplicationInline(admin.TabularInline):
    model = PaymentApplication
    fk_name = "claim"
    extra = 0
    fields = ["kind", "amount", "group_code", "carc", "reverses", "created_at"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Claim)
class ClaimAdmin(ReadOnlyAdmin):
    list_display = ["number", "tenant", "payer", "service_date", "billed_amount", "status"]
    list_filter = ["tenant", "status"]
    search_fields = ["number", "patient_control_number"]
    inlines = [ClaimLineInline, PaymentApplicationInline]


@admin.register(PaymentApplication)
class PaymentApplicationAdmin(ReadOnlyAdmin):
    list_display = ["claim", "kind", "amount", "group_code", "carc", "created_at"]
    list_filter = ["tenant", "kind"]


# remittances, claim payments and denials: their own module, registered on import
from denials import admin_receivables  # noqa: E402, F401
