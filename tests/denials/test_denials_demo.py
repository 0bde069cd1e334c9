"""The denial work part of the demo (issue 14 item 10): after load_demo the demo tenant has
denials in every state a person reaches, a reopened write-off, a manual flip and override
requests waiting for a second person, and dual control is as it was."""

from __future__ import annotations

import pytest

from core.demo import load_demo
from core.models import AuditEntry, OverrideRequest, TenantPolicy
from denials.balances import with_amounts
from denials.demo_denials import TRACE, load_denials_demo
from denials.models import Claim, Denial


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_demo_has_denials_in_every_state_and_pending_requests(db):
    # given the whole demo loaded
    tenant = load_demo()
    ours = Denial.objects.filter(tenant=tenant, remittance_claim__remittance__trace_number=TRACE)
    states = list(ours.order_by("remittance_claim__row_number").values_list("status", flat=True))
    # then the denials of the demo remittance went through each state
    # (the reopened one, a timely-filing denial, is then corrected: its replacement claim puts
    # it in progress)
    assert states[:5] == ["IN_PROGRESS", "RESOLVED", "WRITTEN_OFF", "IN_PROGRESS", "RESOLVED"]
    first = ours.order_by("remittance_claim__row_number").first()
    assert first.assignee.username == "demo-ops"
    # and the reopened one has its write-off and reopen in the audit, its balance back
    reopened = ours.order_by("remittance_claim__row_number")[3]
    actions = set(
        AuditEntry.objects.filter(
            tenant=tenant, object_type="denials.Denial", object_id=str(reopened.pk)
        ).values_list("action", flat=True)
    )
    assert {"DENIAL_WRITTEN_OFF", "DENIAL_REOPENED"} <= actions
    claim = with_amounts(Claim.objects.filter(pk=reopened.claim_id)).get()
    assert claim.balance == claim.billed_amount
    # and one manual flip, and two requests waiting (a reopen and a flip)
    assert AuditEntry.objects.filter(tenant=tenant, action="MANUAL_FLIP").count() == 1
    pending = OverrideRequest.objects.filter(tenant=tenant, status="PENDING")
    assert sorted(pending.values_list("action", flat=True)) == [
        "denials.denial_flip",
        "denials.denial_reopen",
    ]
    # and dual control for denial work is off again after the demo asked
    policy = TenantPolicy.objects.get(tenant=tenant)
    assert "billing.denial.write" not in policy.dual_control_scopes
    # and loading again changes nothing
    assert load_denials_demo(tenant).endswith("already loaded")
    assert OverrideRequest.objects.filter(tenant=tenant, status="PENDING").count() == 2
