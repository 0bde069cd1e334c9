"""Reporting views: reconciliation and aging equal the sums computed straight from the claims."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

import pytest

from core import scopes as S
from core.exceptions import ScopeDenied
from core.models import TenantMembership
from core.services import object_access_grant
from denials.models import Claim, PaymentApplication
from denials.services.reporting import (
    aging,
    bucket_of,
    reconciliation,
    reconciliation_totals,
    reporting_refreshed_at,
    reporting_views_refresh,
)
from tests.denials.jobs_builders import apply, claim, payer

K = PaymentApplication.Kind
D = Decimal
AS_OF = date(2026, 6, 30)


@pytest.fixture
def books(world):
    """Two payers, claims over two service months with payments, adjustments, reversals."""
    acme, zen = payer(world.tenant, "ACME"), payer(world.tenant, "ZEN")
    t = world.tenant
    may, june = date(2026, 5, 12), date(2026, 6, 3)
    c1 = claim(t, payer_obj=acme, service_date=may, billed="200.00", submitted_on=date(2026, 5, 20))
    pay = apply(c1, K.PAYMENT, "120.00")
    apply(c1, K.ADJUSTMENT, "30.00")
    apply(c1, K.PATIENT_RESPONSIBILITY, "25.50")
    apply(c1, K.REVERSAL, "120.00", reverses=pay)  # the payer took the payment back
    c2 = claim(t, payer_obj=acme, service_date=may, billed="80.10", submitted_on=date(2026, 3, 1))
    apply(c2, K.PAYMENT, "80.10")
    c3 = claim(t, payer_obj=acme, service_date=june, billed="55.55", submitted_on=date(2026, 6, 20))
    adj = apply(c3, K.ADJUSTMENT, "5.55")
    apply(c3, K.REVERSAL, "5.55", reverses=adj)
    apply(c3, K.WRITEOFF, "10.00")
    c4 = claim(t, payer_obj=zen, service_date=june, billed="0.30")  # BUILT: not a receivable
    apply(c4, K.PAYMENT, "0.10")
    apply(c4, K.PAYMENT, "0.20")
    c5 = claim(t, payer_obj=zen, service_date=may, billed="999.99", submitted_on=date(2026, 1, 2))
    # tenant B's claim must never show up
    claim(
        world.other_tenant,
        payer_obj=payer(world.other_tenant, "ACME"),
        service_date=may,
        billed="5000.00",
        submitted_on=date(2026, 5, 20),
    )
    reporting_views_refresh()
    return {"acme": acme, "zen": zen, "claims": [c1, c2, c3, c4, c5]}


def _direct(tenant) -> dict:
    """Reconciliation computed straight from claims and applications, per (payer, month)."""
    out = defaultdict(lambda: defaultdict(Decimal))
    for c in Claim.objects.filter(tenant=tenant).select_related("payer"):
        row = out[(c.payer.code, c.service_date.replace(day=1))]
        row["claims"] += 1
        row["billed"] += c.billed_amount
        row["open"] += c.billed_amount
        for a in c.applications.select_related("reverses"):
            kind, sign = (
                (a.reverses.kind if a.reverses else K.PAYMENT, -1)
                if a.kind == K.REVERSAL
                else (a.kind, 1)
            )
            field = {
                K.PAYMENT: "paid",
                K.ADJUSTMENT: "adjusted",
                K.PATIENT_RESPONSIBILITY: "patient_responsibility",
                K.WRITEOFF: "written_off",
            }[kind]
            row[field] += sign * a.amount
            row["open"] -= sign * a.amount
    return out


def test_reconciliation_equals_sums_computed_directly(world, books):
    # given the books refreshed into the views, when an owner reads the reconciliation
    rows = reconciliation(world.actor(S.Role.OWNER))

    # then every (payer, month) row equals the sums computed straight from the applications
    direct = _direct(world.tenant)
    assert {(r.payer, r.month) for r in rows} == set(direct)
    for r in rows:
        want = direct[(r.payer, r.month)]
        for f in ("billed", "paid", "adjusted", "patient_responsibility", "written_off", "open"):
            assert getattr(r, f) == want[f], (r.payer, r.month, f)
        assert r.claims == want["claims"]
        # and every cent is accounted for
        assert r.billed == r.paid + r.adjusted + r.patient_responsibility + r.written_off + r.open


def test_reconciliation_worked_example(world, books):
    # given ACME's May: 200.00 (paid 120 then reversed, 30 adjusted, 25.50 patient) + 80.10 paid
    rows = {(r.payer, r.month): r for r in reconciliation(world.actor(S.Role.OWNER))}
    may = rows[("ACME", date(2026, 5, 1))]

    # then May shows the net figures and 144.50 still open
    assert (may.claims, may.billed, may.paid) == (2, D("280.10"), D("80.10"))
    assert (may.adjusted, may.patient_responsibility, may.written_off) == (
        D("30.00"),
        D("25.50"),
        D("0.00"),
    )
    assert may.open == D("144.50")
    # and June: the reversed adjustment nets out, the write-off stays
    june = rows[("ACME", date(2026, 6, 1))]
    assert (june.adjusted, june.written_off, june.open) == (D("0.00"), D("10.00"), D("45.55"))
    # and cents summed exactly (0.10 + 0.20 is 0.30, also on SQLite)
    assert rows[("ZEN", date(2026, 6, 1))].paid == D("0.30")
    totals = reconciliation_totals(list(rows.values()))
    assert totals["billed"] == D("1335.94") and totals["claims"] == 5


def test_reconciliation_filters_by_payer_and_months(world, books):
    actor = world.actor(S.Role.VIEWER)
    assert {r.payer for r in reconciliation(actor, payer="zen")} == {"ZEN"}
    june = reconciliation(actor, month_from=date(2026, 6, 1), month_to=date(2026, 6, 1))
    assert {r.month for r in june} == {date(2026, 6, 1)}


def test_the_views_show_the_last_refresh_until_the_next(world, books):
    # given a refreshed view, when a new claim is built
    before = reconciliation_totals(reconciliation(world.actor(S.Role.OWNER)))["billed"]
    claim(world.tenant, payer_obj=books["acme"], service_date=date(2026, 6, 9), billed="1.00")

    # then the figures change only with the next refresh, whose time is kept
    assert reconciliation_totals(reconciliation(world.actor(S.Role.OWNER)))["billed"] == before
    result = reporting_views_refresh()
    assert result["reconciliation_rows"] >= 4
    after = reconciliation_totals(reconciliation(world.actor(S.Role.OWNER)))["billed"]
    assert after == before + D("1.00")
    assert reporting_refreshed_at() is not None


@pytest.mark.parametrize(
    ("days", "bucket"),
    [(-3, "0-30"), (0, "0-30"), (30, "0-30"), (31, "31-60"), (90, "61-90"), (121, "over 120")],
)
def test_bucket_boundaries(days, bucket):
    assert bucket_of(days) == bucket


def test_aging_equals_open_balances_by_days_since_submission(world, books):
    # when the aging is read as of 2026-06-30
    rows = {r.payer: r for r in aging(world.actor(S.Role.OWNER), as_of=AS_OF)}

    # then each submitted claim with a balance sits in the bucket of its age, BUILT claims out
    direct = defaultdict(lambda: defaultdict(Decimal))
    for c in Claim.objects.filter(tenant=world.tenant).exclude(status=Claim.Status.BUILT):
        balance = c.billed_amount + sum((a.signed_amount for a in c.applications.all()), D("0"))
        if balance > 0:
            direct[c.payer.code][bucket_of((AS_OF - c.submitted_at.date()).days)] += balance
    for code, buckets in direct.items():
        assert {k: v for k, v in rows[code].buckets.items() if v} == dict(buckets)
    # worked: ACME 144.50 (41 days) + 45.55 (10 days); c2 is fully paid; ZEN 999.99 (179 days)
    assert rows["ACME"].buckets["31-60"] == D("144.50")
    assert rows["ACME"].buckets["0-30"] == D("45.55")
    assert rows["ACME"].total == D("190.05")
    assert rows["ZEN"].buckets["over 120"] == D("999.99") and rows["ZEN"].claims["over 120"] == 1


def test_payer_grants_narrow_the_reports(world, books):
    # given an operations user granted ACME only
    ops = world.users[S.Role.OPERATIONS]
    membership = TenantMembership.objects.get(tenant=world.tenant, user=ops)
    object_access_grant(
        actor=world.actor(S.Role.OWNER), membership_id=membership.pk, obj=books["acme"]
    )
    actor = world.actor(S.Role.OPERATIONS)

    # then both reports show ACME only
    assert {r.payer for r in reconciliation(actor)} == {"ACME"}
    assert [r.payer for r in aging(actor, as_of=AS_OF)] == ["ACME"]
    assert reconciliation(actor, payer="ZEN") == []


def test_another_tenant_sees_none_of_it(world, books):
    from core.actors import Actor

    outsider = Actor(tenant=world.other_tenant, user=world.outsider)
    rows = reconciliation(outsider)
    assert [(r.payer, r.billed) for r in rows] == [("ACME", D("5000.00"))]


def test_reports_need_claims_view(world, books):
    from core.actors import Actor

    nobody = Actor(tenant=world.tenant, user=None)
    with pytest.raises(ScopeDenied):
        reconciliation(nobody)
    with pytest.raises(ScopeDenied):
        aging(nobody)


def test_refresh_command_prints_counts(world, books):
    import io
    import json

    from django.core.management import call_command

    out = io.StringIO()
    call_command("refresh_reporting_views", stdout=out)
    line = json.loads(out.getvalue())
    assert line["reconciliation_rows"] == 5  # ACME May/June, ZEN May/June, tenant B's May
    assert line["aging_rows"] >= 3
