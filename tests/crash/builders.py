"""Data the crash tests share: many members eligible under one payer, written in bulk."""

from __future__ import annotations

from billing.models import EligibilityAssertion, Member
from tests.billing.run_builders import BIRTH, EARLY, month


def eligible_members(p, count: int, prefix: str = "C") -> list[int]:
    """`count` members of the payer's tenant, each ACTIVE on MED from January 2026 (one full-file
    assertion received EARLY); their ids, ascending."""
    members = Member.objects.bulk_create(
        Member(
            tenant=p.tenant,
            external_id=f"{prefix}{n:05d}",
            first_name="Ada",
            last_name="Lovelace",
            birth_date=BIRTH,
        )
        for n in range(count)
    )
    EligibilityAssertion.objects.bulk_create(
        EligibilityAssertion(
            tenant=p.tenant,
            payer=p,
            member=m,
            source_kind="FULL_FILE",
            file_date=EARLY.date(),
            received_at=EARLY,
            status="ACTIVE",
            effective_date=month(2026, 1),
            benefit_code="MED",
        )
        for m in members
    )
    return sorted(m.pk for m in members)
