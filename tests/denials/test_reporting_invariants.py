"""Reporting invariants: every cent of a claim is in exactly one reconciliation column."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import scopes as S
from core.actors import Actor
from denials.models import Claim, PaymentApplication
from denials.reporting_sql import OPEN, RECON
from denials.services.reporting import reconciliation, reporting_views_refresh
from tests.denials.jobs_builders import apply, claim, payer

K = PaymentApplication.Kind
cents = st.integers(min_value=1, max_value=50_000).map(lambda c: Decimal(c) / 100)
steps = st.lists(
    st.tuples(st.sampled_from(list(PaymentApplication.REDUCES)), cents, st.booleans()),
    min_size=0,
    max_size=6,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(billed=cents, applications=steps)
def test_billed_equals_the_columns_plus_open(world, billed, applications):
    # given a claim with any applications, some of them reversed
    p = payer(world.tenant, "INV")
    c = claim(world.tenant, payer_obj=p, service_date=date(2026, 3, 9), billed=str(billed))
    for kind, amount, reversed_ in applications:
        a = apply(c, kind, str(amount))
        if reversed_:
            apply(c, K.REVERSAL, str(amount), reverses=a)

    # when the views are refreshed
    reporting_views_refresh()
    (row,) = [
        r
        for r in reconciliation(Actor.system_for(world.tenant))
        if r.month == date(2026, 3, 1) and r.payer == "INV"
    ]

    # then the month's claims tie out to the cent, and open equals their derived balances
    assert (
        row.billed
        == row.paid + row.adjusted + row.patient_responsibility + row.written_off + row.open
    )
    balances = sum(
        (
            x.billed_amount + sum((a.signed_amount for a in x.applications.all()), Decimal("0"))
            for x in Claim.objects.filter(tenant=world.tenant, payer=p)
        ),
        Decimal("0"),
    )
    assert row.open == balances


@pytest.mark.postgres
def test_postgres_views_are_materialized_with_unique_keys_and_refresh_concurrently(world):
    # given PostgreSQL, the views are materialized views with the unique index CONCURRENTLY needs
    with connection.cursor() as cur:
        cur.execute(
            "SELECT matviewname FROM pg_matviews WHERE matviewname IN (%s, %s)", [RECON, OPEN]
        )
        assert {r[0] for r in cur.fetchall()} == {RECON, OPEN}
        cur.execute(
            "SELECT tablename FROM pg_indexes WHERE tablename IN (%s, %s) "
            "AND indexdef LIKE 'CREATE UNIQUE INDEX%%'",
            [RECON, OPEN],
        )
        assert {r[0] for r in cur.fetchall()} == {RECON, OPEN}
    # and a refresh (CONCURRENTLY) picks up a new claim
    p = payer(world.tenant, "PGV")
    claim(world.tenant, payer_obj=p, service_date=date(2026, 2, 2), billed="7.77")
    reporting_views_refresh()
    rows = reconciliation(world.actor(S.Role.OWNER), payer="PGV")
    assert [(r.month, r.billed) for r in rows] == [(date(2026, 2, 1), Decimal("7.77"))]
