"""Posting rules (pure): what one claim payment posts, and the claim status that follows."""

from __future__ import annotations

from decimal import Decimal

import pytest

from denials import posting_rules as rules
from denials.remit_rows import read_row

D = Decimal


def row(**kw):
    data = {
        "payer_code": "P",
        "trace_number": "T",
        "payment_amount": "0",
        "patient_control_number": "PCN",
        "status_code": "1",
        "charge_amount": "100",
        "paid_amount": "0",
        "payer_claim_control_number": "X",
    } | kw
    parsed, problems = read_row(data)
    assert not problems, problems
    return parsed


def test_plan_paid_claim_with_contractual_and_patient_amounts():
    # given 100 billed, 60 paid, CO-45 25, PR-1 10, PR-2 5
    plan = rules.plan(row(paid_amount="60", adjustments="CO-45:25;PR-1:10;PR-2:5"))
    # then one payment, one adjustment, two patient responsibilities and no denial
    assert [(a.kind, a.amount, a.group_code, a.carc) for a in plan.applications] == [
        ("PAYMENT", D("60"), "", ""),
        ("ADJUSTMENT", D("25"), "CO", "45"),
        ("PATIENT_RESPONSIBILITY", D("10"), "PR", "1"),
        ("PATIENT_RESPONSIBILITY", D("5"), "PR", "2"),
    ]
    assert plan.denials == ()


def test_plan_denied_claim_sums_denials_per_group_and_carc_with_remarks():
    # given CLP02 4 and the same CARC on two lines, plus a claim-level remark
    plan = rules.plan(
        row(status_code="4", adjustments="L1/CO-50:40;L2/CO-50:60", remarks="M15;L2/N130")
    )
    # then one denial of 100 with both remarks, nothing applied
    assert plan.applications == ()
    assert [(d.group_code, d.carc, d.amount, d.rarcs) for d in plan.denials] == [
        ("CO", "50", D("100"), ("M15", "N130"))
    ]


def test_plan_line_paid_nothing_is_a_denial_but_contractual_carc_is_not():
    # given line 1 paid, line 2 paid nothing with CO-16, line 3 paid nothing with CO-45
    lines = '[{"line":1,"paid":"50"},{"line":2,"paid":"0"},{"line":3,"paid":"0"}]'
    plan = rules.plan(
        row(paid_amount="50", adjustments="L2/CO-16:30;L3/CO-45:20;L2/OA-18:0", lines=lines)
    )
    # then CO-16 is denied, CO-45 adjusted, the zero amount ignored
    assert [(d.carc, d.amount) for d in plan.denials] == [("16", D("30"))]
    assert [(a.kind, a.carc) for a in plan.applications] == [
        ("PAYMENT", ""),
        ("ADJUSTMENT", "45"),
    ]


def test_plan_reversal_is_left_to_the_service():
    assert rules.plan(row(status_code="22", paid_amount="-100", charge_amount="-100")).reversal


def test_plan_negative_payment_on_a_regular_claim_is_a_note_not_a_posting():
    plan = rules.plan(row(paid_amount="-5"))
    assert plan.applications == ()
    assert "negative" in plan.notes[0]


def test_balancing_rule():
    assert rules.balancing_problem(row(paid_amount="60", adjustments="CO-45:40")) is None
    assert "not paid 60" in rules.balancing_problem(row(paid_amount="60"))


@pytest.mark.parametrize(
    ("balance", "paid", "reduced", "denials", "code4", "expected"),
    [
        (D("0"), D("100"), True, False, False, "PAID"),
        (D("-1"), D("101"), True, False, False, "PAID"),
        (D("40"), D("60"), True, False, False, "PARTIALLY_PAID"),
        (D("40"), D("60"), True, True, False, "PARTIALLY_PAID"),
        (D("100"), D("0"), False, True, False, "DENIED"),
        (D("0"), D("0"), True, False, True, "DENIED"),
        (D("100"), D("0"), False, False, False, "SUBMITTED"),
        (D("80"), D("0"), True, False, False, "PARTIALLY_PAID"),
        (D("0"), D("0"), True, False, False, "PAID"),
    ],
)
def test_claim_status(balance, paid, reduced, denials, code4, expected):
    got = rules.claim_status(
        balance=balance, paid_net=paid, reduced=reduced, open_denials=denials, denied_code=code4
    )
    assert got == expected
