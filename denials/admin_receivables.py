"""Admin for claims and receivables. Remittances, claim payments, applications and denials are
written only by services: the admin shows them; unmatch is an action through the service."""

from django.contrib import admin, messages

from core.admin import ReadOnlyAdmin, admin_actor
from core.exceptions import DomainError
from denials.models import Denial, Remittance, RemittanceClaim


class RemittanceClaimInline(admin.TabularInline):
    model = RemittanceClaim
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ["row_number", "payer_claim_control_number", "status_code", "charge_amount",
              "paid_amount", "match_state", "claim", "score"]  # fmt: skip
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Remittance)
class RemittanceAdmin(ReadOnlyAdmin):
    list_display = ["trace_number", "payer", "payment_amount", "payment_date", "received_at"]
    list_filter = ["tenant", "payer"]
    search_fields = ["trace_number"]
    inlines = [RemittanceClaimInline]


@admin.action(description="Unmatch (reverse what was posted; reason: 'unmatched in admin')")
def unmatch(modeladmin, request, queryset):
    from denials.services.receivables import remittance_claim_unmatch

    done = 0
    for rc in queryset:
        try:
            remittance_claim_unmatch(
                actor=admin_actor(request, rc.tenant),
                remittance_claim_id=rc.pk,
                reason="unmatched in admin",
            )
            done += 1
        except DomainError as exc:
            modeladmin.message_user(request, f"line {rc.pk}: {exc.message}", messages.ERROR)
    if done:
        modeladmin.message_user(request, f"{done} line(s) unmatched.", messages.SUCCESS)


@admin.register(RemittanceClaim)
class RemittanceClaimAdmin(ReadOnlyAdmin):
    list_display = ["id", "remittance", "payer_claim_control_number", "status_code",
                    "paid_amount", "match_state", "claim", "score", "matched_by"]  # fmt: skip
    list_filter = ["tenant", "match_state", "status_code"]
    search_fields = ["payer_claim_control_number", "remittance__trace_number"]
    actions = [unmatch]


@admin.register(Denial)
class DenialAdmin(ReadOnlyAdmin):
    list_display = ["id", "claim", "group_code", "carc", "amount", "status"]
    list_filter = ["tenant", "status", "group_code"]
