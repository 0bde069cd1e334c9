"""COB services: coverages, a member's order, overrides under dual control, secondary claims."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from core import scopes as S
from core.exceptions import Conflict, DomainError, NotFound, ScopeDenied
from core.models import AuditEntry, OverrideRequest
from core.overrides import override_request_approve, override_requests_expire
from core.services import tenant_policy_update
from denials.models import Claim, CobOverride, Coverage
from denials.services.cob import (
    cob_override_remove,
    cob_override_set,
    coverage_upsert,
    member_cob,
)
from denials.services.secondary import secondary_claim_build
from tests.denials.cob_builders import (
    coverage,
    medicare_member_with_employer,
    payer,
    posted_claims,
)
from tests.denials.remit_builders import member

ON = date(2010, 1, 1)


def _audits(action):
    return list(AuditEntry.objects.filter(action=action).order_by("id"))


def test_coverage_upsert_creates_then_updates(world):
    owner = world.actor()
    m = member(world.tenant, "CV1")
    payer(world.tenant, "ACME")
    kw = {
        "member_code": "CV1",
        "payer_code": "acme",
        "kind": "COMMERCIAL",
        "employer_size": 25,
        "active_employment": True,
        "effective": date(2026, 1, 1),
        "termination": None,
    }
    first = coverage_upsert(actor=owner, **kw)
    again = coverage_upsert(actor=owner, **(kw | {"employer_size": 10}))
    assert first.pk == again.pk and again.employer_size == 10 and again.member == m
    assert Coverage.objects.filter(member=m).count() == 1
    entries = AuditEntry.objects.filter(object_id=str(first.pk), action__startswith="COVERAGE_")
    assert [e.action for e in entries.order_by("id")] == ["COVERAGE_CREATED", "COVERAGE_UPDATED"]


def test_coverage_upsert_names_the_field_not_the_member_id(world):
    owner = world.actor()
    payer(world.tenant, "ACME")
    with pytest.raises(DomainError) as exc:
        coverage_upsert(actor=owner, member_code="SECRET-ID-9", payer_code="ACME",
                        kind="COMMERCIAL", employer_size=None, active_employment=False,
                        effective=date(2026, 1, 1), termination=None)  # fmt: skip
    assert "member_id" in exc.value.details and "SECRET-ID-9" not in str(exc.value)
    member(world.tenant, "CV2")
    with pytest.raises(DomainError) as exc:
        coverage_upsert(actor=owner, member_code="CV2", payer_code="NOPE", kind="MEDICARE",
                        employer_size=None, active_employment=False,
                        effective=date(2026, 1, 1), termination=date(2025, 1, 1))  # fmt: skip
    assert "termination" in exc.value.details
    with pytest.raises(ScopeDenied):
        coverage_upsert(actor=world.actor(S.Role.VIEWER), member_code="CV2", payer_code="ACME",
                        kind="OTHER", employer_size=None, active_employment=False,
                        effective=date(2026, 1, 1), termination=None)  # fmt: skip


def test_member_cob_follows_ladder_then_override_then_ladder_again(world):
    owner = world.actor()
    m = medicare_member_with_employer(world.tenant)
    got = member_cob(actor=owner, member=m, as_of=ON)
    assert got["order"] == ["NYSDOH", "MCARE"] and got["override"] is None
    assert any("Medicare pays second" in r for r in got["reasons"])
    ov = cob_override_set(actor=owner, member=m, ordering=["MCARE", "NYSDOH"], reason="MSP letter")
    assert isinstance(ov, CobOverride) and ov.active
    got = member_cob(actor=owner, member=m, as_of=ON)
    assert got["order"] == ["MCARE", "NYSDOH"]
    assert (
        got["override"]["reason"] == "MSP letter" and got["override"]["created_by"] == "alpha-owner"
    )
    entry = _audits("COB_OVERRIDE_SET")[-1]
    assert entry.payload["member"] == m.pk and entry.payload["payer"] == "MCARE"
    assert entry.payload["ordering"] == ["MCARE", "NYSDOH"]
    assert entry.payload["requested_by"] == "alpha-owner" and entry.payload["approved_by"] is None
    assert m.external_id not in str(entry.payload)
    cob_override_remove(actor=owner, member=m, reason="letter withdrawn")
    assert member_cob(actor=owner, member=m, as_of=ON)["order"] == ["NYSDOH", "MCARE"]
    removed = _audits("COB_OVERRIDE_REMOVED")[-1]
    assert removed.payload["member"] == m.pk and removed.reason == "letter withdrawn"
    with pytest.raises(Conflict):
        cob_override_remove(actor=owner, member=m, reason="again")


def test_override_ordering_validation(world):
    owner = world.actor()
    m = medicare_member_with_employer(world.tenant)
    for ordering, text in ((["MCARE"], "at least two"), (["MCARE", "MCARE"], "twice"),
                           (["MCARE", "ZZZ"], "unknown payer")):  # fmt: skip
        with pytest.raises(DomainError) as exc:
            cob_override_set(actor=owner, member=m, ordering=ordering, reason="r")
        assert text in str(exc.value)
    with pytest.raises(DomainError):
        cob_override_set(actor=owner, member=m, ordering=["MCARE", "NYSDOH"], reason="  ")
    with pytest.raises(ScopeDenied):
        cob_override_set(actor=world.actor(S.Role.OPERATIONS), member=m,
                         ordering=["MCARE", "NYSDOH"], reason="r")  # fmt: skip
    assert not CobOverride.objects.exists()


def test_override_under_dual_control_waits_self_approval_refused(world):
    owner, admin = world.actor(), world.actor(S.Role.ADMIN)
    tenant_policy_update(actor=owner, dual_control_scopes=[S.BILLING_COB_OVERRIDE])
    m = medicare_member_with_employer(world.tenant)
    request = cob_override_set(actor=owner, member=m, ordering=["MCARE", "NYSDOH"], reason="x")
    assert isinstance(request, OverrideRequest) and request.action == "denials.cob_override_set"
    assert member_cob(actor=owner, member=m, as_of=ON)["order"] == ["NYSDOH", "MCARE"]
    with pytest.raises(ScopeDenied):
        override_request_approve(actor=owner, request_id=request.pk)
    override_request_approve(actor=admin, request_id=request.pk)
    assert member_cob(actor=owner, member=m, as_of=ON)["order"] == ["MCARE", "NYSDOH"]
    entry = _audits("COB_OVERRIDE_SET")[-1]
    assert (
        entry.payload["requested_by"] == "alpha-owner"
        and entry.payload["approved_by"] == "alpha-admin"
    )
    assert CobOverride.objects.get(active=True).approved_by.get_username() == "alpha-admin"
    removal = cob_override_remove(actor=admin, member=m, reason="done")
    assert isinstance(removal, OverrideRequest)
    assert member_cob(actor=owner, member=m, as_of=ON)["override"] is not None
    override_request_approve(actor=owner, request_id=removal.pk)
    assert member_cob(actor=owner, member=m, as_of=ON)["override"] is None


def test_override_request_expires(world):
    owner, admin = world.actor(), world.actor(S.Role.ADMIN)
    tenant_policy_update(actor=owner, dual_control_scopes=[S.BILLING_COB_OVERRIDE])
    m = medicare_member_with_employer(world.tenant)
    request = cob_override_set(actor=owner, member=m, ordering=["MCARE", "NYSDOH"], reason="x")
    OverrideRequest.objects.filter(pk=request.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    assert override_requests_expire(tenant=world.tenant) == 1
    with pytest.raises(Conflict):
        override_request_approve(actor=admin, request_id=request.pk)
    assert not CobOverride.objects.exists()


def test_secondary_follows_ladder_and_carries_paid_and_adjustments(world):
    owner = world.actor()
    claims = posted_claims(owner)
    medicare_member_with_employer(world.tenant)
    primary = claims["partial"]
    assert primary.status == Claim.Status.PARTIALLY_PAID
    secondary = secondary_claim_build(actor=owner, claim_id=primary.pk)
    assert secondary.payer.code == "MCARE" and secondary.payer_sequence == "S"
    assert secondary.primary_claim == primary and secondary.number != primary.number
    assert secondary.billed_amount == Decimal("34.25")
    assert secondary.prior_payer_paid == Decimal("11.50")
    assert secondary.prior_adjustments == [{"group": "CO", "carc": "251", "amount": "22.75"}]
    assert secondary.subscriber_id == "LL77777L" and secondary.status == Claim.Status.BUILT
    line = secondary.lines.get()
    assert line.source_line == primary.lines.get() and line.amount == Decimal("34.25")
    entry = _audits("CLAIM_SECONDARY_BUILT")[-1]
    assert entry.payload["primary"] == primary.number and entry.payload["payer"] == "MCARE"
    with pytest.raises(Conflict) as exc:
        secondary_claim_build(actor=owner, claim_id=primary.pk)
    assert secondary.number in str(exc.value)
    with pytest.raises(Conflict):  # a secondary is not a primary
        secondary_claim_build(actor=owner, claim_id=secondary.pk)


def test_secondary_follows_the_override(world):
    owner = world.actor()
    claims = posted_claims(owner)
    m = medicare_member_with_employer(world.tenant)
    coverage(world.tenant, m, "MCAID", Coverage.Kind.MEDICAID)
    cob_override_set(actor=owner, member=m, ordering=["NYSDOH", "MCAID"], reason="state rule")
    secondary = secondary_claim_build(actor=owner, claim_id=claims["partial"].pk)
    assert secondary.payer.code == "MCAID"


def test_secondary_refused_when_not_primary_or_no_next_payer(world):
    owner = world.actor()
    claims = posted_claims(owner)
    m = medicare_member_with_employer(world.tenant)
    cob_override_set(actor=owner, member=m, ordering=["MCARE", "NYSDOH"], reason="r")
    with pytest.raises(Conflict) as exc:
        secondary_claim_build(actor=owner, claim_id=claims["partial"].pk)
    assert "not the member's primary payer" in str(exc.value)
    lone = member(world.tenant, "LL99999L")
    coverage(world.tenant, lone, "NYSDOH", Coverage.Kind.COMMERCIAL)
    with pytest.raises(Conflict) as exc:
        secondary_claim_build(actor=owner, claim_id=claims["paid"].pk)
    assert "no payer after NYSDOH" in str(exc.value)
    assert not Claim.objects.filter(payer_sequence="S").exists()


def test_secondary_refused_before_the_835_and_for_other_tenants(world):
    from tests.denials.remit_builders import claim as make_claim

    owner = world.actor()
    medicare_member_with_employer(world.tenant)
    waiting = make_claim(world.tenant, "CLM-000009", payer_obj=payer(world.tenant, "NYSDOH"),
                         member_id="LL77777L", billed="10.00")  # fmt: skip
    with pytest.raises(Conflict) as exc:
        secondary_claim_build(actor=owner, claim_id=waiting.pk)
    assert "SUBMITTED" in str(exc.value)
    with pytest.raises(NotFound):
        secondary_claim_build(actor=world.actor().__class__(tenant=world.other_tenant,
                              system=True), claim_id=waiting.pk)  # fmt: skip
    with pytest.raises(ScopeDenied):
        secondary_claim_build(actor=world.actor(S.Role.VIEWER), claim_id=waiting.pk)
