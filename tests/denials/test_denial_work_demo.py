"""The demo shows auto-correction and COB (issue 14 item 10): attempts of every outcome and a
force-retry, members with Medicare and employer coverage, a secondary claim, a COB override."""

from __future__ import annotations

import pytest

from core.demo import load_demo
from denials.models import Claim, CobOverride, CorrectionAttempt, Coverage


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_demo_has_corrections_of_every_outcome_coverages_a_secondary_and_an_override(db):
    # given the whole demo loaded
    tenant = load_demo()
    # then correction attempts of each outcome exist, the success with its replacement claim
    attempts = CorrectionAttempt.objects.filter(tenant=tenant)
    assert set(attempts.values_list("outcome", flat=True)) == {"SUCCESS", "SKIPPED", "FAILED"}
    success = attempts.get(outcome="SUCCESS")
    assert success.corrected_claim.frequency_code == "7"
    assert success.corrected_claim.original_id == success.denial.claim_id
    forced = attempts.get(forced=True)
    assert forced.reason.strip() and forced.created_by.username == "demo-manager"
    # and two members have Medicare and an employer's coverage (250 and 12 employees)
    medicare = Coverage.objects.filter(tenant=tenant, kind="MEDICARE").values_list("member")
    employer = Coverage.objects.filter(tenant=tenant, kind="COMMERCIAL", member__in=medicare)
    assert sorted(employer.values_list("employer_size", flat=True)) == [12, 250]
    # and the big employer's member has a secondary claim to Medicare after NORTHWIND's 835
    secondary = Claim.objects.get(tenant=tenant, payer_sequence="S")
    assert secondary.payer.code == "MEDICARE-B"
    assert secondary.primary_claim.payer.code == "NORTHWIND"
    assert secondary.prior_adjustments  # the primary's denial travels with the claim
    # and the small employer's member has an override putting the employer first, with a reason
    override = CobOverride.objects.get(tenant=tenant, active=True)
    assert override.ordering == ["NORTHWIND", "MEDICARE-B"]
    assert override.reason
    # and running the loader again changes nothing
    assert load_demo().pk == tenant.pk
    assert CorrectionAttempt.objects.filter(tenant=tenant).count() == attempts.count()
    assert Claim.objects.filter(tenant=tenant, payer_sequence="S").count() == 1
