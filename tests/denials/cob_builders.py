"""Builders for the COB tests: coverages of a member, and a primary claim with its 835 posted.

The primary claims are the sample 835's (tests/denials/remit_builders.py, payer NYSDOH): the
partial one was billed 34.25, paid 11.50 and adjusted CO-251 2.75 + 20.00.
"""

from __future__ import annotations

from datetime import date

from billing.models import Payer
from denials.models import Claim, ClaimLine, ClaimsSettings, Coverage
from tests.denials.remit_builders import load, member, sample_claims, sample_rows

SINCE = date(2009, 1, 1)


def payer(tenant, code: str) -> Payer:
    return Payer.objects.get_or_create(tenant=tenant, code=code, defaults={"name": code})[0]


def coverage(tenant, m, code, kind, *, size=None, active=False, eff=SINCE, term=None) -> Coverage:
    return Coverage.objects.create(
        tenant=tenant,
        member=m,
        payer=payer(tenant, code),
        kind=kind,
        employer_size=size,
        active_employment=active,
        effective=eff,
        termination=term,
    )


def posted_claims(actor) -> dict[str, Claim]:
    """The sample 835's three claims, with lines, posted (paid, denied, partially paid)."""
    claims = sample_claims(actor.tenant)
    # the sample claims were made by hand as CLM-000001..3: the counter continues after them
    ClaimsSettings.objects.update_or_create(tenant=actor.tenant, defaults={"claim_counter": 3})
    for c in claims.values():
        ClaimLine.objects.create(
            tenant=actor.tenant, claim=c, line_number=1, service_date=c.service_date,
            code="V2020", units=1, amount=c.billed_amount,
        )  # fmt: skip
    load(actor, sample_rows())
    for c in claims.values():
        c.refresh_from_db()
    return claims


def medicare_member_with_employer(tenant, external_id: str = "LL77777L"):
    """The partial claim's member: NYSDOH employer coverage (50, active) and Medicare MCARE."""
    m = member(tenant, external_id)
    coverage(tenant, m, "NYSDOH", Coverage.Kind.COMMERCIAL, size=50, active=True)
    coverage(tenant, m, "MCARE", Coverage.Kind.MEDICARE, eff=date(2005, 1, 1))
    return m
