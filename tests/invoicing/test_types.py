"""Invoice request types: only the SPEC 5 combinations, options only where allowed."""

import pytest
from django.core.exceptions import ValidationError

from core.exceptions import DomainError
from invoicing.models import InvoiceRequestType
from invoicing.services.types import type_rules_check

ALLOWED = [
    ("MANUAL", "REGULAR", True, 5),
    ("MANUAL", "REGULAR", False, None),
    ("MANUAL", "TRIAL", False, None),
    ("AUTOMATIC", "REGULAR", False, None),
]

REFUSED = [
    # (mode, generation, approval, defer, the rule the message names)
    ("AUTOMATIC", "TRIAL", False, None, "AUTOMATIC+TRIAL is not an allowed combination"),
    ("MANUAL", "TRIAL", True, None, "approval_required: approval can be required only for"),
    ("AUTOMATIC", "REGULAR", True, None, "approval_required: approval can be required only for"),
    ("MANUAL", "TRIAL", False, 3, "defer_charge_count: only MANUAL+REGULAR"),
    ("AUTOMATIC", "REGULAR", False, 3, "defer_charge_count: only MANUAL+REGULAR"),
    ("SEMI", "REGULAR", False, None, "invoice_mode: expected MANUAL or AUTOMATIC"),
    ("MANUAL", "DRAFT", False, None, "bill_generation: expected REGULAR or TRIAL"),
]


@pytest.mark.parametrize("mode,generation,approval,defer", ALLOWED)
def test_type_allowed_combinations_pass_service_and_clean(world, mode, generation, approval, defer):
    type_rules_check(
        invoice_mode=mode,
        bill_generation=generation,
        approval_required=approval,
        defer_charge_count=defer,
    )
    InvoiceRequestType(
        tenant=world.tenant,
        code="T",
        invoice_mode=mode,
        bill_generation=generation,
        approval_required=approval,
        defer_charge_count=defer,
    ).full_clean()


@pytest.mark.parametrize("mode,generation,approval,defer,rule", REFUSED)
def test_type_refused_combinations_name_the_rule(world, mode, generation, approval, defer, rule):
    with pytest.raises(DomainError) as err:
        type_rules_check(
            invoice_mode=mode,
            bill_generation=generation,
            approval_required=approval,
            defer_charge_count=defer,
        )
    assert rule in err.value.message
    with pytest.raises(ValidationError) as verr:
        InvoiceRequestType(
            tenant=world.tenant,
            code="T",
            invoice_mode=mode,
            bill_generation=generation,
            approval_required=approval,
            defer_charge_count=defer,
        ).full_clean()
    assert rule in str(verr.value)
