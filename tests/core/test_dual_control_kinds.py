"""The existing real override kinds through dual control end to end (issue 14 item 5): billing's
member-month override (approved from the command line) and force-match (API request, API
approval). The new kinds (reopen, flip, force-retry, COB override) are tested by their parts."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from billing.models import MemberMonthOverride
from billing.services.overrides import member_month_override_request
from core import scopes as S
from core.models import AuditEntry, OverrideRequest
from core.services import tenant_policy_update
from denials.models import RemittanceClaim
from tests.denials.rec_builders import member, payer, waiting_line


def _dual(world, scope: str) -> None:
    tenant_policy_update(actor=world.actor(S.Role.OWNER), dual_control_scopes=[scope])


def test_member_month_override_waits_for_a_second_person_then_applies(world):
    _dual(world, S.BILLING_OVERRIDE_CREATE)
    payer(world.tenant, "ACME", "Acme Health")
    m = member(world.tenant, "MM-1")
    # when a billing manager overrides a member-month under dual control
    filed = member_month_override_request(
        actor=world.actor(S.Role.BILLING_MANAGER),
        payer_code="ACME",
        member_external_id="MM-1",
        month=date(2026, 9, 1),
        outcome="BILLABLE",
        rate="250.00",
        reason="payer confirmed coverage by phone",
    )
    # then nothing is applied: a request waits, described for the approver
    assert not filed.executed
    assert not MemberMonthOverride.objects.exists()
    request = filed.request
    assert request.summary == f"Billable at $250.00 for member #{m.pk} of ACME in 2026-09"
    # and the requester cannot approve it from the command line
    with pytest.raises(CommandError, match="second person must"):
        call_command("decide_override", "--tenant", "alpha", "--request", str(request.pk),
                     "--user", "alpha-billing_manager", "--approve", stdout=StringIO())  # fmt: skip
    assert not MemberMonthOverride.objects.exists()
    # when the admin approves it there
    out = StringIO()
    call_command("decide_override", "--tenant", "alpha", "--request", str(request.pk),
                 "--user", "alpha-admin", "--approve", "--note", "EOB", stdout=out)  # fmt: skip
    line = json.loads(out.getvalue())
    # then the override is applied, created by the requester and approved by the admin
    override = MemberMonthOverride.objects.get()
    assert line["status"] == "APPROVED"
    assert line["result"] == {"override": override.pk}
    assert (override.created_by, override.approved_by) == (
        world.users[S.Role.BILLING_MANAGER],
        world.users[S.Role.ADMIN],
    )
    assert (override.rate, override.month, override.approved) == (
        Decimal("250.00"),
        date(2026, 9, 1),
        True,
    )
    applied = AuditEntry.objects.get(action="MEMBER_MONTH_OVERRIDE_APPLIED")
    assert applied.reason == "payer confirmed coverage by phone"
    assert (applied.payload["requested_by"], applied.payload["approved_by"]) == (
        "alpha-billing_manager",
        "alpha-admin",
    )


def test_force_match_waits_for_a_second_person_then_matches(world):
    _dual(world, S.BILLING_RECEIVABLE_OVERRIDE)
    scene = waiting_line(world.tenant, code="ACME")
    line, (first, _second) = scene["line"], scene["claims"]
    # when the billing manager force-matches through the API
    response = world.client(S.Role.BILLING_MANAGER).post(
        f"/api/receivables/{line.pk}/force-match",
        {"claim": first.number, "reason": "member id typo at payer"},
        format="json",
    )
    # then it waits (202) and the line is still in the queue
    assert response.status_code == 202, response.content
    request_id = response.json()["override_request"]
    line.refresh_from_db()
    assert line.match_state == RemittanceClaim.MatchState.UNMATCHED
    # and the requester's own approval is refused
    own = world.client(S.Role.BILLING_MANAGER).post(
        f"/api/override-requests/{request_id}/approve", {}, format="json"
    )
    assert own.status_code == 403
    # when the owner approves it
    ok = world.client(S.Role.OWNER).post(
        f"/api/override-requests/{request_id}/approve", {"note": "checked"}, format="json"
    )
    assert ok.status_code == 200, ok.content
    # then the line is force-matched in the requester's name, and the audit entry names the
    # payer, who asked and who approved
    line.refresh_from_db()
    assert line.match_state == RemittanceClaim.MatchState.MATCHED_FORCED
    assert (line.claim, line.matched_by) == (first, world.users[S.Role.BILLING_MANAGER])
    assert OverrideRequest.objects.get(pk=request_id).status == "APPROVED"
    entry = AuditEntry.objects.get(action="REMITTANCE_CLAIM_FORCE_MATCHED")
    assert entry.actor_label == "alpha-owner"
    assert entry.reason == "member id typo at payer"
    assert {k: entry.payload[k] for k in ("payer", "requested_by", "approved_by", "claim")} == {
        "payer": "ACME",
        "requested_by": "alpha-billing_manager",
        "approved_by": "alpha-owner",
        "claim": first.number,
    }
