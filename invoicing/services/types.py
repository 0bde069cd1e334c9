"""Invoice request types (SPEC 5): which combinations exist and which options each may carry."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from core.exceptions import DomainError

MANUAL, AUTOMATIC = "MANUAL", "AUTOMATIC"
REGULAR, TRIAL = "REGULAR", "TRIAL"

# (invoice_mode, bill_generation) -> may approval be required?
ALLOWED: dict[tuple[str, str], bool] = {
    (MANUAL, REGULAR): True,
    (MANUAL, TRIAL): False,
    (AUTOMATIC, REGULAR): False,
}


def type_rule_violation(
    *,
    invoice_mode: str,
    bill_generation: str,
    approval_required: bool,
    defer_charge_count: int | None,
) -> tuple[str, str] | None:
    """The (field, message) of the first rule a combination breaks, or None when it is allowed."""
    combo = (str(invoice_mode).upper(), str(bill_generation).upper())
    if combo[0] not in (MANUAL, AUTOMATIC):
        return "invoice_mode", f"invoice_mode: expected MANUAL or AUTOMATIC, found {invoice_mode}"
    if combo[1] not in (REGULAR, TRIAL):
        return (
            "bill_generation",
            f"bill_generation: expected REGULAR or TRIAL, found {bill_generation}",
        )
    if combo not in ALLOWED:
        return (
            "bill_generation",
            f"{combo[0]}+{combo[1]} is not an allowed combination: allowed are MANUAL+REGULAR, "
            "MANUAL+TRIAL and AUTOMATIC+REGULAR (automatic trial bills are not made).",
        )
    if approval_required and not ALLOWED[combo]:
        return (
            "approval_required",
            f"approval_required: approval can be required only for MANUAL+REGULAR types, "
            f"not {combo[0]}+{combo[1]}.",
        )
    if defer_charge_count is not None and combo != (MANUAL, REGULAR):
        return (
            "defer_charge_count",
            f"defer_charge_count: only MANUAL+REGULAR types defer processing by charge count, "
            f"not {combo[0]}+{combo[1]}.",
        )
    return None


def type_rules_check(
    *,
    invoice_mode: str,
    bill_generation: str,
    approval_required: bool,
    defer_charge_count: int | None,
    as_validation_error: bool = False,
) -> None:
    """Refuse a combination SPEC 5 does not allow, naming the rule it breaks."""
    found = type_rule_violation(
        invoice_mode=invoice_mode,
        bill_generation=bill_generation,
        approval_required=approval_required,
        defer_charge_count=defer_charge_count,
    )
    if found is None:
        return
    field, message = found
    if as_validation_error:
        raise ValidationError({field: message})
    raise DomainError(message, code="invalid_request_type", details={"field": field})


def request_type_check(request_type) -> None:
    """Refuse an InvoiceRequestType instance whose combination is not allowed."""
    type_rules_check(
        invoice_mode=request_type.invoice_mode,
        bill_generation=request_type.bill_generation,
        approval_required=request_type.approval_required,
        defer_charge_count=request_type.defer_charge_count,
    )
