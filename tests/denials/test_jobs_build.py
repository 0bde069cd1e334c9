"""The nightly jobs that call the charges part's services (they run once it is merged)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

pytest.importorskip("denials.services.claims", reason="the charges part builds claims")
pytest.importorskip("denials.services.charges", reason="the charges part validates charges")

from denials.models import Charge, Claim, JobRun  # noqa: E402
from denials.services.jobs import jobs_run_nightly  # noqa: E402
from tests.denials.jobs_builders import member, payer  # noqa: E402

TODAY = date(2026, 6, 30)


def _charge(tenant, charge_id: str, *, member_code: str, payer_code: str, day: date) -> Charge:
    return Charge.objects.create(
        tenant=tenant,
        charge_id=charge_id,
        member_code=member_code,
        payer_code=payer_code,
        service_date=day,
        code="99213",
        amount=Decimal("75.00"),
    )


def test_revalidate_then_build_turns_fixed_charges_into_claims(world):
    # given a payer and two pending charges of a member loaded only after they arrived
    p = payer(world.tenant, "ACME")
    day = TODAY - timedelta(days=3)
    _charge(world.tenant, "C1", member_code="M-LATE", payer_code=p.code, day=day)
    _charge(world.tenant, "C2", member_code="M-LATE", payer_code=p.code, day=day)
    member(world.tenant, "M-LATE")

    # when the nightly cycle re-validates and builds
    runs = {
        r.job: r
        for r in jobs_run_nightly(tenant=world.tenant, job="revalidate_charges", today=TODAY)
        + jobs_run_nightly(tenant=world.tenant, job="build_claims", today=TODAY)
    }

    # then both charges became VALID and one claim (same payer, member, day) carries them
    assert runs["revalidate_charges"].status == JobRun.Status.SUCCEEDED
    assert set(Charge.objects.values_list("status", flat=True)) == {Charge.Status.VALID}
    assert runs["build_claims"].status == JobRun.Status.SUCCEEDED
    assert runs["build_claims"].counts["claims_built"] == 1
    c = Claim.objects.get(tenant=world.tenant)
    assert c.billed_amount == Decimal("150.00") and c.lines.count() == 2


def test_build_claims_with_nothing_valid_builds_nothing(world):
    (run,) = jobs_run_nightly(tenant=world.tenant, job="build_claims", today=TODAY)
    assert run.status == JobRun.Status.SUCCEEDED
    assert run.counts["claims_built"] == 0
